"""The mission tracker shows where a mission is, who acts next and by when, to each party only what is theirs (it is
built from the state after `api.views.redact`, as the mission page builds it)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

from fastapi import Response

from api import uploads
from api.views import redact
from api.web.core import TEMPLATES
from api.web.tracker import current_proposals, expert_card, tracker_of
from domain.actors import Role
from domain.documents import IssuedDocument
from domain.mission import ContractState, Deadline, Invitation, MilestoneView, MissionView, PendingAction, Proposal
from domain.money import Money
from domain.need import Need
from domain.policy import Policy
from domain.stages import MilestoneStage, Stage
from domain.terms import MilestonePlan, ProposalTerms, proposal_total
from store.models.community import Expert, User

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
ORG, ALICE, BOB = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
MISSION = uuid.uuid4()
NAMES = {ALICE: "Alice Martin", BOB: "Bob Durand"}


def _view() -> MissionView:
    """A mission in proposals: Alice proposed, Bob has two days left to propose, the client selects within a week."""
    need = Need(
        title="Monthly close redesign", description="Redesign the monthly close of a mid-size group.",
        business_function="finance", skills=["consolidation"], languages=["en"], budget_min=Decimal(600),
        budget_max=Decimal(900), start_date=date(2027, 1, 4), duration_days=30,
    )  # fmt: skip
    due_proposals, due_selection = NOW + timedelta(days=2), NOW + timedelta(days=7)
    return MissionView(
        workflow_id="mission:x", mission_id=uuid.uuid4(), client_org_id=ORG, need=need, policy=Policy(),
        stage=Stage.PROPOSALS, started_at=NOW, updated_at=NOW,
        invitations=[Invitation(expert_id=e, status="accepted", invited_at=NOW) for e in (ALICE, BOB)],
        deadlines=[
            Deadline(key="proposals:1", kind="proposals", due=due_proposals, remind_at=due_proposals),
            Deadline(key="selection", kind="selection", due=due_selection, remind_at=due_selection),
        ],
        pending_actions=[
            PendingAction(key="select", role=Role.CLIENT, party_id=ORG, action="select_proposal", due=due_selection),
            PendingAction(key=f"proposal:{BOB}", role=Role.EXPERT, party_id=BOB, action="submit_proposal",
                          deadline="proposals:1"),
        ],
    )  # fmt: skip


def test_the_client_sees_the_stage_and_who_acts_next_by_when() -> None:
    client = User(role="client", organisation_id=ORG)
    tracker = tracker_of(redact(_view(), client), client, "en", NAMES, now=NOW)
    assert [(s.stage, s.state) for s in tracker.steps] == [
        ("need", "done"), ("shortlist", "done"), ("invitations", "done"), ("proposals", "current"),
        ("contract", "todo"), ("delivery", "todo"), ("feedback", "todo"), ("closed", "todo"),
    ]  # fmt: skip
    first, then = tracker.next
    assert (first.who, first.what, first.mine, first.countdown) == ("You", "Select a proposal", True, "in 1 week")
    assert (then.who, then.what, then.countdown) == ("Bob Durand", "Send a proposal", "in 2 days")


def test_a_candidate_sees_only_their_own_task_in_their_language() -> None:
    bob = User(role="expert", expert_id=BOB)
    seen = redact(_view(), bob)
    tracker = tracker_of(seen, bob, "fr", NAMES, now=NOW)
    assert [(a.who, a.what, a.countdown) for a in tracker.next] == [("Vous", "Envoyer une proposition", "dans 2 jours")]
    html = TEMPLATES["fr"].get_template("_tracker.html").render(tracker=tracker, view=seen, stage=str)
    assert "Alice" not in html and "client" not in html.lower() and 'aria-current="step"' in html

    alice = User(role="expert", expert_id=ALICE)
    assert tracker_of(redact(_view(), alice), alice, "en", NAMES, now=NOW).next == [], "nothing of Bob's deadline"


def test_a_closed_mission_has_every_stage_done_and_a_cancelled_one_says_so() -> None:
    client = User(role="client", organisation_id=ORG)
    closed = _view().model_copy(update={"stage": Stage.CLOSED, "pending_actions": [], "deadlines": []})
    assert {s.state for s in tracker_of(closed, client, "en", NAMES, now=NOW).steps} == {"done"}
    cancelled = closed.model_copy(update={"stage": Stage.CANCELLED, "resume_stage": None})
    tracker = tracker_of(cancelled, client, "en", NAMES, now=NOW)
    assert tracker.exit == "cancelled" and "current" not in {s.state for s in tracker.steps}


def _proposal(expert_id: uuid.UUID, title: str, amount: str, status: str = "submitted") -> Proposal:
    terms = ProposalTerms(
        approach=f"{title}: interviews, then a redesigned close calendar.", pricing="fixed", currency="EUR",
        milestones=[MilestonePlan(title=title, amount=Decimal(amount), due_date=date(2027, 2, 1))],
    )  # fmt: skip
    return Proposal(
        expert_id=expert_id, round=1, terms=terms, total=proposal_total(terms), status=status, submitted_at=NOW
    )


def _experts() -> dict[uuid.UUID, Expert]:
    alice = Expert(
        id=ALICE, display_name="Alice Martin", headline="Group controller, 15 years", languages=["fr", "en"],
        daily_rate=Decimal("850.00"), currency="EUR", rating=Decimal("4.60"), ratings_count=12, completed_missions=9,
    )  # fmt: skip
    bob = Expert(
        id=BOB, display_name="Bob Durand", headline="Consolidation specialist", languages=["en"],
        daily_rate=Decimal("700.00"), currency="EUR", rating=Decimal("3.80"), ratings_count=5, completed_missions=4,
    )  # fmt: skip
    return {ALICE: alice, BOB: bob}


def _page(view: MissionView, user: User, template: str, lang: str = "en", **extra: object) -> str:
    """One part of the mission page, rendered with what `pages_missions.mission_page` gives it."""
    shown = redact(view, user)
    proposals = current_proposals(shown)
    cards = {e: expert_card(x, lang) for e, x in _experts().items() if e in {p.expert_id for p in proposals}}
    context: dict[str, object] = {
        "view": shown, "proposals": proposals, "cards": cards, "names": NAMES, "mission": SimpleNamespace(id=MISSION),
        "my_actions": set(), "milestone_actions": {}, "doc_by_sha": {}, "user": user, "stage": str,
        "csrf_field": "csrf", "csrf": "token", "today": "2026-12-04",
    }  # fmt: skip
    return TEMPLATES[lang].get_template(template).render(context | extra)


def test_the_client_compares_the_proposals_side_by_side_with_each_experts_reputation() -> None:
    view = _view().model_copy(
        update={
            "proposal_round": 1,
            "proposals": [_proposal(ALICE, "Diagnostic", "4250"), _proposal(BOB, "Audit", "3900")],
        }
    )
    client = User(role="client", organisation_id=ORG)
    html = _page(view, client, "_proposals.html", my_actions={"select_proposal"})
    columns = html.split('class="side-by-side"')[1].split("<article")[1:]
    assert len(columns) == 2, "one column per proposal"
    alice, bob = columns
    assert "Alice Martin" in alice and "4.6/5 (12 ratings)" in alice and "€4,250.00" in alice and "€850.00" in alice
    assert "French, English" in alice and "Group controller" in alice and "Diagnostic" in alice
    assert "Bob Durand" in bob and "3.8/5 (5 ratings)" in bob and "€3,900.00" in bob and "Alice" not in bob
    assert html.count("Select this proposal") == 2

    french = _page(view, client, "_proposals.html", "fr")
    assert "français, anglais" in french and "4,6/5 (12 évaluations)" in french


def test_a_losing_candidate_never_sees_another_candidates_proposal() -> None:
    view = _view().model_copy(
        update={
            "stage": Stage.CONTRACT, "proposal_round": 1, "selected_expert_id": ALICE, "pending_actions": [],
            "proposals": [_proposal(ALICE, "Diagnostic", "4250", "selected"), _proposal(BOB, "Audit", "3900")],
        }
    )  # fmt: skip
    bob = User(role="expert", expert_id=BOB)
    html = _page(view, bob, "_proposals.html")
    assert "Audit" in html and "€3,900.00" in html, "their own proposal"
    assert "Alice" not in html and "Diagnostic" not in html and "4,250" not in html and "4.6" not in html
    assert html.count("<article") == 1


def test_the_contract_to_sign_is_shown_in_the_page_with_the_hash_the_signer_signs() -> None:
    sha, document_id = "ab" * 32, uuid.uuid4()
    contract = ContractState(document=IssuedDocument(document_id=document_id, kind="contract", sha256=sha))
    view = _view().model_copy(
        update={"stage": Stage.CONTRACT, "selected_expert_id": ALICE, "contract": contract, "pending_actions": []}
    )
    client = User(role="client", organisation_id=ORG)
    doc = SimpleNamespace(id=document_id)
    html = _page(view, client, "_contract.html", my_actions={"sign_contract"}, doc_by_sha={sha: doc})
    route = f"/portal/missions/{MISSION}/documents/{document_id}"
    preview = html.split("<object")[1].split("</object>")[0]
    assert f'data="{route}?inline=true"' in preview and 'type="application/pdf"' in preview
    assert f'href="{route}"' in preview, "a link when the browser cannot show the PDF"
    form = html.split('class="sign-form"')[1]
    assert f'<code class="hash" data-signed-hash>{sha}</code>' in form and f'value="{sha}"' in form


def test_the_contract_preview_is_inline_and_a_members_file_stays_an_attachment() -> None:
    issued = Response(
        b"%PDF-", media_type="application/pdf", headers={"Content-Disposition": 'attachment; filename="c.pdf"'}
    )
    assert uploads.shown_inline(issued).headers["Content-Disposition"] == 'inline; filename="c.pdf"'
    sent = Response(
        b"%PDF-", media_type="application/pdf",
        headers={"Content-Disposition": 'attachment; filename="d.pdf"', "Content-Security-Policy": "sandbox"},
    )  # fmt: skip
    assert uploads.shown_inline(sent).headers["Content-Disposition"].startswith("attachment")


def test_the_milestones_table_shows_deliverables_invoices_and_payment_state() -> None:
    client = User(role="client", organisation_id=ORG)
    invoice_id, deliverable_id = uuid.uuid4(), uuid.uuid4()
    common = {"workflow_id": "m", "mission_id": MISSION, "client_org_id": ORG, "expert_id": ALICE}
    paid = MilestoneView(
        number=1, title="Diagnostic", amount=Money(amount=Decimal("2000"), currency="EUR"), due_date=date(2027, 2, 1),
        stage=MilestoneStage.PAID, deliverable_sha256="d" * 64, paid_on=date(2027, 2, 20),
        invoice=IssuedDocument(document_id=invoice_id, kind="mission_invoice", sha256="i" * 64, number="F-2027-0001"),
        **common,
    )  # fmt: skip
    todo = MilestoneView(
        number=2, title="Close calendar", amount=Money(amount=Decimal("2250"), currency="EUR"),
        due_date=date(2027, 3, 1), stage=MilestoneStage.AWAITING_DELIVERABLE, **common,
    )  # fmt: skip
    view = _view().model_copy(update={"stage": Stage.DELIVERY, "selected_expert_id": ALICE, "milestones": [paid, todo]})
    docs = {"d" * 64: SimpleNamespace(id=deliverable_id), "i" * 64: SimpleNamespace(id=invoice_id)}
    html = _page(view, client, "_milestones.html", doc_by_sha=docs)
    first, second = html.split("<tbody>")[1].split("<tr")[1:3]
    assert f"/documents/{deliverable_id}" in first and "F-2027-0001" in first and f"/documents/{invoice_id}" in first
    assert "Paid on 2027-02-20" in first and "€2,000.00" in first
    assert "Not invoiced yet" in second and "—" in second
