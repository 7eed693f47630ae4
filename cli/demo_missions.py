"""The first run's demo missions: the demo client's needs, one per stage a mission goes through, so that the demo
client, expert and ops see the product at work after `make run` (shortlist to review, invitation to answer,
proposals to compare, contract to sign, delivery with an invoice to pay, mission closed with its ratings).

Each mission is driven through the API (the workflows, their validators, `api.service.act`) by its parties doing what
their inbox asks, until the people of the demo have something left to do: the tasks a scenario leaves (`holds`) are
theirs. Idempotent: each need is posted with its own Idempotency-Key (the same mission id on every run), and a
mission that reached its stage is left as it is, so a second run adds nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx

from cli.demo_http import DemoError, Party, _ok
from cli.demo_parties import proposal
from domain.stages import Stage

# Every demo need requires French and Japanese: only the demo experts (and few others) pass this hard filter.
LANGUAGES = ["fr", "ja"]
RATES = ("850.00", "900.00", "950.00")  # the main demo expert's first: the client selects them
PATIENCE_SECONDS = 300.0
_ORDER = [s.value for s in Stage]


@dataclass(frozen=True)
class Task:
    """An open task of one party on the mission (from its inbox), and whether the party is the main demo expert."""

    action: str
    milestone: int | None
    role: str
    main_expert: bool


@dataclass(frozen=True)
class Scenario:
    key: str
    stage: Stage  # where the mission waits for the demo's people
    title: str
    description: str
    skills: tuple[str, ...]
    holds: Callable[[Task], bool]  # the tasks left to the people of the demo
    settled: Callable[[dict[str, Any]], bool] = lambda _view: True  # the client's view once the scenario is done


def _others_accepted(view: dict[str, Any]) -> bool:
    accepted: int = sum(i["status"] == "accepted" for i in view.get("invitations", []))
    return accepted >= len(RATES) - 1


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "shortlist",
        Stage.SHORTLIST,
        "Modèle de trésorerie à 13 semaines",
        "Construire un modèle de trésorerie glissant à 13 semaines pour Lyon et Osaka, alimenté par nos extractions "
        "comptables, et former l'équipe à sa mise à jour hebdomadaire.",
        ("treasury_management", "financial_modelling"),
        holds=lambda t: t.action == "review_shortlist",
    ),
    Scenario(
        "invitations",
        Stage.INVITATIONS,
        "Contrôle de gestion de la filiale d'Osaka",
        "Mettre en place le reporting mensuel de la filiale d'Osaka (indicateurs, rapprochement avec le siège) "
        "et accompagner le contrôleur local pendant les deux premières clôtures.",
        ("management_control", "cost_accounting"),
        holds=lambda t: t.action == "answer_invitation" and t.main_expert,
        settled=_others_accepted,
    ),
    Scenario(
        "proposals",
        Stage.PROPOSALS,
        "Refonte du budget et du prévisionnel",
        "Refondre notre processus budgétaire et notre prévisionnel trimestriel, avec un modèle financier partagé "
        "entre Lyon et notre filiale d'Osaka.",
        ("budgeting_forecasting", "financial_modelling"),
        holds=lambda t: t.action == "select_proposal",
    ),
    Scenario(
        "contract",
        Stage.CONTRACT,
        "Valorisation d'une cible d'acquisition",
        "Évaluer une PME japonaise que nous envisageons d'acquérir : modèle de flux de trésorerie, comparables, "
        "synthèse pour le comité d'investissement.",
        ("valuation", "financial_modelling"),
        holds=lambda t: t.action == "sign_contract",
    ),
    Scenario(
        "delivery",
        Stage.DELIVERY,
        "Tableau de bord des coûts de production",
        "Concevoir le tableau de bord mensuel des coûts de production des deux usines, de la comptabilité "
        "analytique aux indicateurs présentés au comité de direction.",
        ("cost_accounting", "management_control"),
        holds=lambda t: t.action == "confirm_payment" or (t.action == "submit_deliverable" and t.milestone != 1),
    ),
    Scenario(
        "closed",
        Stage.CLOSED,
        "Accélération de la clôture mensuelle",
        "Réduire la clôture mensuelle de dix à cinq jours ouvrés : diagnostic du calendrier, automatisation des "
        "rapprochements, nouveau planning de clôture.",
        ("consolidation", "management_control"),
        holds=lambda _t: False,
    ),
)


def need_of(scenario: Scenario) -> dict[str, Any]:
    return {
        "title": scenario.title,
        "description": scenario.description,
        "business_function": "finance",
        "skills": list(scenario.skills),
        "languages": LANGUAGES,
        "remote": True,
        "budget_min": "700.00",
        "budget_max": "1100.00",
        "currency": "EUR",
        "start_date": (date.today() + timedelta(days=14)).isoformat(),
        "duration_days": 30,
        "confidential": True,
        "mission_language": "fr",
    }


def _passed(stage: str, target: Stage) -> bool:
    """The mission is at or past the scenario's stage, or left the happy path (cancelled, disputed...)."""
    if stage not in _ORDER[: _ORDER.index(Stage.CLOSED.value) + 1]:
        return True
    return _ORDER.index(stage) >= _ORDER.index(target.value)


class MissionDriver:
    """One demo mission, moved by its parties until it waits at its scenario's stage for the demo's people."""

    def __init__(
        self, api: httpx.AsyncClient, scenario: Scenario, client: Party, experts: list[Party], signing: Signing
    ) -> None:
        self.api, self.scenario, self.client, self.experts, self.signing = api, scenario, client, experts, signing
        self.mission_id = ""

    @property
    def parties(self) -> list[Party]:
        return [self.client, *self.experts]

    def _url(self, path: str, milestone: int | None = None) -> str:
        base = f"/missions/{self.mission_id}" + (f"/milestones/{milestone}" if milestone else "")
        return f"{base}/{path}" if path else base

    async def post(self) -> None:
        """Post the need (or find it: same key, same mission)."""
        headers = self.client.headers | {"Idempotency-Key": f"demo-mission-{self.scenario.key}"}
        created = await _ok(self.api.post("/missions", json=need_of(self.scenario), headers=headers), 201)
        self.mission_id = str(created["mission_id"])

    async def stage(self) -> str:
        detail = await _ok(self.api.get(self._url(""), headers=self.client.headers))
        return str(detail["mission"]["stage"])

    async def state(self, party: Party) -> dict[str, Any]:
        answer: dict[str, Any] = await _ok(self.api.get(self._url("state"), headers=party.headers))
        return answer

    async def open_tasks(self) -> list[tuple[Party, Task]]:
        mine = f"mission:{self.mission_id}"
        found = []
        for party in self.parties:
            for t in await _ok(self.api.get("/tasks", headers=party.headers)):
                workflow_id = str(t["workflow_id"])
                if workflow_id != mine and not workflow_id.startswith(f"{mine}:milestone:"):
                    continue
                milestone = int(workflow_id.rsplit(":", 1)[1]) if ":milestone:" in workflow_id else None
                found.append((party, Task(t["action"], milestone, t["role"], party is self.experts[0])))
        return found

    async def run(self) -> str:
        """Drive the mission to its stage (a mission already there, or past it, is left alone); its stage."""
        await self.post()
        if _passed(await self.stage(), self.scenario.stage):
            return await self.stage()
        deadline = time.monotonic() + PATIENCE_SECONDS
        while time.monotonic() < deadline:
            stage = await self.stage()
            tasks = await self.open_tasks()
            todo = [(party, task) for party, task in tasks if not self.scenario.holds(task)]
            waits = stage == self.scenario.stage and not todo and (tasks or stage == Stage.CLOSED)
            if waits and self.scenario.settled(await self.state(self.client)):
                return stage
            if stage in (Stage.CANCELLED, Stage.DISPUTED, Stage.NEEDS_ATTENTION):
                raise DemoError(f"demo mission {self.scenario.title!r} left the happy path: {stage}")
            if todo:
                try:
                    await self.act(*todo[0])
                    continue
                except DemoError as exc:
                    # "not now" (the client signs first, an inbox read while the workflow moved): as a person
                    # would, look again; anything else stops the scenario
                    if ": 409 " not in str(exc):
                        raise
            await asyncio.sleep(0.3)  # the workflow moves on its own (matching, documents, invoices)
        raise DemoError(f"demo mission {self.scenario.title!r} did not reach {self.scenario.stage} in time")

    async def act(self, party: Party, task: Task) -> None:
        """What the party does for this task, as a person would in the portal."""
        post, headers, number = self.api.post, party.headers, task.milestone
        body: dict[str, Any]
        match task.action:
            case "review_shortlist":
                view = await self.state(party)
                ours = {e.member_id for e in self.experts}
                others = [c["expert_id"] for c in view["shortlist"] if c["expert_id"] not in ours]
                if others:
                    removed = {"remove_expert_ids": others}
                    await _ok(post(self._url("shortlist/remove"), json=removed, headers=headers))
                await _ok(post(self._url("invitations/start"), json={}, headers=headers))
            case "answer_invitation":
                await _ok(post(self._url("invitation/accept"), json={}, headers=headers))
            case "submit_proposal":
                rate = RATES[self.experts.index(party)]
                await _ok(post(self._url("proposal"), json=proposal(rate), headers=headers))
            case "select_proposal":
                body = {"expert_id": self.experts[0].member_id}
                await _ok(post(self._url("proposals/select"), json=body, headers=headers))
            case "sign_contract":
                view = await self.state(party)
                sha = view["contract"]["document"]["sha256"]
                await self.signing.sign(party, self._url("contract/sign"), sha)
            case "submit_deliverable":
                content = f"%PDF-1.4\n% innot demo deliverable, milestone {number}\n".encode()
                files = {"file": (f"livrable-{number}.pdf", content, "application/pdf")}
                await _ok(post(self._url("deliverable", number), files=files, headers=headers))
            case "review_deliverable":
                await _ok(post(self._url("accept", number), json={}, headers=headers))
            case "confirm_payment":
                body = {"paid_on": date.today().isoformat(), "reference": f"VIR-DEMO-{number}"}
                await _ok(post(self._url("payment", number), json=body, headers=headers))
            case "rate_expert" | "rate_client":
                body = {"score": 5, "comment": "Travail soigné, échanges clairs, délais tenus."}
                await _ok(post(self._url("rating"), json=body, headers=headers))
            case other:
                raise DemoError(f"the demo does not know how to answer a {other!r} task")


class Signing:
    """A signature needs a fresh authenticator code. The demo accounts have no authenticator (their people enrol
    their own at their first signature): to sign for them, the seeder enrols one for the act, signs with its code,
    then removes it, leaving the account as it found it. An account whose person enrolled an app is not signed for.
    One signature at a time per party (the enrolment is the account's)."""

    def __init__(self, api: httpx.AsyncClient) -> None:
        self.api = api
        self.locks: dict[str, asyncio.Lock] = {}

    async def sign(self, party: Party, url: str, sha256: str) -> None:
        async with self.locks.setdefault(party.email, asyncio.Lock()):
            setup = await self.api.post("/auth/totp/setup", headers=party.headers)
            if setup.status_code != 200:
                raise DemoError(f"{party.email} cannot enrol for the signature (it has its own factor?): {setup.text}")
            party.totp_secret = setup.json()["secret"]
            try:
                await _ok(self.api.post("/auth/totp/enable", json={"code": party.otp()}, headers=party.headers))
                body = {"expected_sha256": sha256, "otp": party.otp()}
                await _ok(self.api.post(url, json=body, headers=party.headers))
            finally:
                await self.api.post("/auth/totp/disable", json={"code": party.otp()}, headers=party.headers)
                party.totp_secret = None


async def seed_missions(
    api: httpx.AsyncClient, client: Party, experts: list[Party], report: Callable[[str], None] = lambda _line: None
) -> dict[str, str]:
    """Every scenario's mission, driven concurrently; {scenario: stage reached}. A scenario that fails is reported
    and the others go on (the DemoError of the first failure is raised at the end)."""
    signing = Signing(api)
    drivers = [MissionDriver(api, s, client, experts, signing) for s in SCENARIOS]
    outcomes = await asyncio.gather(*(d.run() for d in drivers), return_exceptions=True)
    reached: dict[str, str] = {}
    failures: list[BaseException] = []
    for driver, outcome in zip(drivers, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            failures.append(outcome)
            report(f"  {driver.scenario.title}: [red]{outcome}[/red]")
        else:
            reached[driver.scenario.key] = outcome
            report(f"  {outcome:<12} {driver.scenario.title}")
    if failures:
        raise DemoError(str(failures[0])) from failures[0]
    return reached
