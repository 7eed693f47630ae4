"""A client pick: the client puts an expert chosen in the directory on the shortlist; the workflow records it as
the client's choice (explained as such, in the timeline too) and invites the expert with the matched candidates."""

from __future__ import annotations

import uuid

import pytest
from pydantic import BaseModel
from temporalio.client import WorkflowUpdateFailedError

from domain.mission import InviteExpert, StartInvitations
from domain.stages import Stage
from tests.workflows import flows
from tests.workflows.conftest import Harness
from workflows.client import rejection_reason

pytestmark = pytest.mark.db


async def _refused(h: Harness, name: str, cmd: BaseModel) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await h.update(name, cmd)
    return rejection_reason(err.value)


async def test_the_client_picks_an_expert_who_is_invited_with_the_shortlist(ts: Harness) -> None:
    h = ts
    matched = await flows.to_shortlist(h)
    chosen = uuid.uuid4()

    view = await h.update("invite_expert", InviteExpert(actor=h.client_actor, expert_id=chosen))
    pick = view.shortlist[-1]
    assert (pick.expert_id, pick.picked_by_client, pick.score) == (chosen, True, 0.0)
    assert "Chosen by the client" in pick.explanation_en and "Choisi par le client" in pick.explanation_fr
    assert [c.picked_by_client for c in view.shortlist[:-1]] == [False] * len(matched.shortlist)
    [event] = [e for e in h.timeline() if e.kind == "client_pick"]
    assert event.summary == "the client chose an expert from the directory"
    assert event.details == {"expert_id": str(chosen)} and event.expert_id == chosen

    assert "on the shortlist already" in await _refused(
        h, "invite_expert", InviteExpert(actor=h.client_actor, expert_id=chosen)
    )
    assert "client" in await _refused(h, "invite_expert", InviteExpert(actor=h.outsider, expert_id=uuid.uuid4()))

    await h.update("start_invitations", StartInvitations(actor=h.client_actor))
    view = await h.until(lambda v: v.stage is Stage.INVITATIONS and chosen in v.expert_ids())
    assert "shortlist" in await _refused(h, "invite_expert", InviteExpert(actor=h.client_actor, expert_id=uuid.uuid4()))
