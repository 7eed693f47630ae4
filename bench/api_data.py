"""What `bench.api` measures on: its accounts (a client organisation, whose fee is paid, and an ops account), the
read model seeded directly with a realistic volume, and the live missions its actions pause and resume."""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

PASSWORD = "Bench-Passw0rd!-2026"  # noqa: S105 - a throwaway account on a throwaway database
STAGES = ["shortlist", "invitations", "proposals", "contract", "delivery", "feedback", "closed"]


@dataclass(frozen=True)
class Accounts:
    org_id: uuid.UUID
    client: dict[str, str]  # the client's authorization header
    ops: dict[str, str]  # the ops account's, its second factor enrolled


async def accounts(http: httpx.AsyncClient, database_url: str) -> Accounts:
    """A client organisation whose registration fee is paid (confirmed by ops through its membership workflow, as
    in production), and an ops account with its second factor (every ops route needs it)."""
    from api.security import hash_password
    from cli.demo import Party, enrol_second_factor, pay_fees
    from store import account_security
    from store import accounts as users
    from store.db import make_engine, make_session_factory, transaction

    email = f"bench.{uuid.uuid4().hex[:8]}@bench-client.example"
    registration = {
        "account": {"email": email, "full_name": "Bench Client", "password": PASSWORD},
        "organisation": {
            "legal_name": "Bench Industrie SAS", "legal_form": "SAS", "siret": "73282932000074",
            "vat_number": "FR44732829320", "billing_email": "compta@bench.example", "address_line": "1 rue du Banc",
            "postcode": "69002", "city": "Lyon", "country": "FR",
        },
    }  # fmt: skip
    registered = (await http.post("/auth/register/client", json=registration)).json()
    org_id = uuid.UUID(registered["member_id"])
    engine = make_engine(database_url)
    ops_email = f"ops.{uuid.uuid4().hex[:8]}@bench-ops.example"
    with transaction(make_session_factory(engine)) as session:
        users.create_user(
            session, email=ops_email, full_name="Bench Ops", password_hash=await hash_password(PASSWORD), role="ops"
        )
        # the bench measures missions, not accounts: its client's address counts as verified (as seeded data)
        client_user = users.user_by_email(session, email=email)
        assert client_user is not None
        account_security.mark_email_verified(session, user=client_user)
    engine.dispose()

    async def token(address: str) -> dict[str, str]:
        answer = (await http.post("/auth/login", json={"email": address, "password": PASSWORD})).json()
        return {"Authorization": f"Bearer {answer['access_token']}"}

    client, ops = await token(email), await token(ops_email)
    await enrol_second_factor(http, Party(ops_email, ops))
    await pay_fees(http, Party(ops_email, ops), [Party(email, client, str(org_id))])
    return Accounts(org_id=org_id, client=client, ops=ops)


def seed(database_url: str, client_org: uuid.UUID, missions: int, orgs: int) -> list[uuid.UUID]:
    """Missions spread over `orgs` organisations (the first is the measured client's), each with a timeline of
    8 events, 2 milestones and 3 tasks of which few are still open (a realistic inbox: a few dozen)."""
    from sqlalchemy import insert

    from activities.timeline import refresh_detail
    from store.db import make_engine, make_session_factory, transaction
    from store.models.readmodel import MissionMilestone, MissionRecord, Task, TimelineEvent

    rng = random.Random(7)
    organisations = [client_org] + [uuid.uuid4() for _ in range(orgs - 1)]
    now = datetime.now(UTC)
    records, events, milestones, tasks = [], [], [], []
    ids, ours = [], []
    for n in range(missions):
        mission_id, org = uuid.uuid4(), organisations[n % orgs]
        ids.append(mission_id)
        if org == client_org:
            ours.append(mission_id)
        stage = rng.choice(STAGES)
        workflow_id = f"mission:{mission_id}"
        records.append(
            {
                "id": mission_id, "workflow_id": workflow_id, "client_org_id": org, "title": f"Mission {n}",
                "business_function": "finance", "stage": stage, "paused": False, "selected_expert_id": uuid.uuid4(),
                "next_deadline": now + timedelta(days=rng.randint(1, 60)), "closed_reason": None, "last_seq": 8,
                "created_at": now - timedelta(days=90), "updated_at": now - timedelta(days=rng.randint(0, 90)),
            }
        )  # fmt: skip
        for seq in range(1, 9):
            events.append(
                {
                    "id": uuid.uuid4(), "workflow_id": workflow_id, "seq": seq, "mission_id": mission_id,
                    "at": now - timedelta(days=90 - seq), "kind": "stage_changed", "stage": STAGES[seq % 7],
                    "actor_user_id": None, "actor_role": "client", "summary": f"step {seq} of mission {n}",
                    "details": {},
                }
            )  # fmt: skip
        for number in (1, 2):
            milestones.append(
                {
                    "id": uuid.uuid4(), "mission_id": mission_id, "number": number,
                    "workflow_id": f"{workflow_id}:milestone:{number}", "title": f"Milestone {number}",
                    "amount": Decimal("3600.00"), "currency": "EUR", "stage": "delivery", "invoice_number": None,
                    "invoice_due": None, "paid_on": None, "last_seq": 1,
                }
            )  # fmt: skip
        for k, action in enumerate(("review_shortlist", "select_proposal", "sign_contract")):
            still_open = rng.random() < 0.03
            tasks.append(
                {
                    "id": uuid.uuid4(), "workflow_id": workflow_id, "key": f"{action}:{k}", "mission_id": mission_id,
                    "role": "client", "party_id": org, "action": action, "title": f"{action} for mission {n}",
                    "due_at": now + timedelta(days=k + 1), "opened_at": now - timedelta(days=10),
                    "closed_at": None if still_open else now - timedelta(days=1),
                    "outcome": None if still_open else "done",
                }
            )  # fmt: skip
    engine = make_engine(database_url)
    with engine.begin() as conn:
        for model, rows in ((MissionRecord, records), (TimelineEvent, events), (MissionMilestone, milestones)):
            conn.execute(insert(model), rows)
        conn.execute(insert(Task), tasks)
    # and the materialised detail of each mission, as the projection activity leaves it after every event
    with transaction(make_session_factory(engine)) as session:
        for mission_id in ids:
            refresh_detail(session, mission_id)
    engine.dispose()
    return ours


def seed_directory(database_url: str) -> None:
    """A directory to match, so the missions the actions work on wait in a stable stage (the client's shortlist
    review) while ops pause and resume them: an empty directory would park them in needs_attention, where resume
    retries matching."""
    from store.db import make_engine, make_session_factory
    from store.seed import seed_experts

    engine = make_engine(database_url)
    seed_experts(make_session_factory(engine), 300, 11)
    engine.dispose()


async def waiting_mission(http: httpx.AsyncClient, client: dict[str, str]) -> str:
    """A new mission, once it waits in a stable stage (the client's shortlist review) where ops may pause and resume
    it: with no directory to match, it would wait in needs_attention, where resume retries matching."""
    created = await http.post("/missions", json=_need(), headers=client)
    assert created.status_code == 201, created.text
    mission_id: str = created.json()["mission_id"]
    for _ in range(200):
        shown = await http.get(f"/missions/{mission_id}", headers=client)
        stage = shown.json()["mission"]["stage"] if shown.status_code == 200 else "not yet shown"
        if stage in ("shortlist", "needs_attention"):
            break
        await asyncio.sleep(0.1)
    assert stage == "shortlist", f"the bench mission should wait for the shortlist review, not in {stage}"
    return mission_id


def _need() -> dict[str, Any]:
    return {
        "title": "Budget process review", "description": "Review our budget process and the quarterly forecast.",
        "business_function": "finance", "skills": ["financial_modelling"], "languages": ["fr"], "remote": True,
        "budget_min": "700.00", "budget_max": "1100.00", "currency": "EUR",
        "start_date": (date.today() + timedelta(days=7)).isoformat(), "duration_days": 30, "confidential": False,
        "mission_language": "fr",
    }  # fmt: skip
