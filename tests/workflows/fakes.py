"""Name-matched fakes of the matching and documents activities (other engineers implement the real ones):
plausible typed results, deterministic, with switchable permanent failures."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.documents import (
    AmendmentRequest,
    ContractRequest,
    IssuedDocument,
    IssuedInvoice,
    MissionInvoiceRequest,
    PaymentReminderRequest,
    SealContractRequest,
    SignContractRequest,
)
from domain.money import Money
from domain.shortlist import Candidate, ExposureRecord, Shortlist, ShortlistRequest


def sha(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def candidate(expert_id: uuid.UUID, score: float) -> Candidate:
    return Candidate(
        expert_id=expert_id,
        score=score,
        contributions={"skills": score},
        explanation_fr="compétences",
        explanation_en="skills",
    )


class Fakes:
    def __init__(self, shortlisted: int = 3, reserve: int = 2) -> None:
        self.experts = [uuid.uuid4() for _ in range(shortlisted + reserve)]
        self.shortlisted = shortlisted
        self.fail: set[str] = set()
        self.gates: dict[str, asyncio.Event] = {}  # an activity named here waits (as a slow one would) until set
        self.calls: Counter[str] = Counter()
        self.requests: list[object] = []

    def _maybe_fail(self, name: str) -> None:
        self.calls[name] += 1
        if name in self.fail:
            raise ApplicationError(f"{name} is broken", non_retryable=True, type="Broken")

    @activity.defn(name="shortlist_experts")
    async def shortlist(self, req: ShortlistRequest) -> Shortlist:
        self._maybe_fail("shortlist_experts")
        if (gate := self.gates.get("shortlist_experts")) is not None:
            await gate.wait()
        self.requests.append(req)
        pool = [e for e in self.experts if e not in req.exclude_expert_ids]
        return Shortlist(
            candidates=[candidate(e, 0.9 - i / 100) for i, e in enumerate(pool[: self.shortlisted])],
            reserve=[candidate(e, 0.5 - i / 100) for i, e in enumerate(pool[self.shortlisted :])],
        )

    @activity.defn(name="record_shortlist_exposure")
    async def record_exposure(self, record: ExposureRecord) -> int:
        self._maybe_fail("record_shortlist_exposure")
        self.requests.append(record)
        return len(record.expert_ids)

    @activity.defn(name="render_contract")
    async def render_contract(self, req: ContractRequest) -> IssuedDocument:
        self._maybe_fail("render_contract")
        self.requests.append(req)
        return IssuedDocument(
            document_id=uuid.uuid5(req.mission_id, "contract"), kind="contract", sha256=sha(req.mission_id, "v0")
        )

    @activity.defn(name="render_amendment")
    async def render_amendment(self, req: AmendmentRequest) -> IssuedDocument:
        self._maybe_fail("render_amendment")
        self.requests.append(req)
        return IssuedDocument(
            document_id=uuid.uuid5(req.mission_id, f"amendment:{req.number}"),
            kind="contract",
            sha256=sha(req.mission_id, f"amendment:{req.number}"),
        )

    @activity.defn(name="sign_contract")
    async def sign_contract(self, req: SignContractRequest) -> IssuedDocument:
        self._maybe_fail("sign_contract")
        self.requests.append(req)
        if req.party == "expert" and not any(
            isinstance(r, SignContractRequest) and r.party == "client" and r.contract_id == req.contract_id
            for r in self.requests
        ):
            raise ApplicationError("the client signs first", non_retryable=True, type="SignOrder")
        return IssuedDocument(document_id=req.contract_id, kind="contract", sha256=sha(req.expected_sha256, req.party))

    @activity.defn(name="seal_contract")
    async def seal_contract(self, req: SealContractRequest) -> IssuedDocument:
        self._maybe_fail("seal_contract")
        self.requests.append(req)
        return IssuedDocument(document_id=req.contract_id, kind="contract", sha256=sha(req.contract_id, "sealed"))

    @activity.defn(name="issue_mission_invoice")
    async def issue_mission_invoice(self, req: MissionInvoiceRequest) -> IssuedInvoice:
        self._maybe_fail("issue_mission_invoice")
        self.requests.append(req)
        total = Money(amount=req.amount.amount * 12 / 10, currency=req.amount.currency)
        return IssuedInvoice(
            document_id=uuid.uuid5(req.mission_id, req.milestone_id),
            kind="mission_invoice",
            sha256=sha(req.milestone_id),
            number=f"F-{req.milestone_id.rsplit(':', 1)[1]:0>4}",
            total_excl_tax=req.amount,
            total_incl_tax=total,
            due_date=req.issue_date + timedelta(days=req.due_days),
        )

    @activity.defn(name="issue_payment_reminder")
    async def issue_payment_reminder(self, req: PaymentReminderRequest) -> IssuedDocument:
        self._maybe_fail("issue_payment_reminder")
        self.requests.append(req)
        number = f"{req.invoice_number}-R{req.reminder}"
        return IssuedDocument(document_id=uuid.uuid5(uuid.NAMESPACE_URL, number), kind="payment_reminder",
                              sha256=sha(number), number=number)  # fmt: skip

    def activities(self) -> list[Callable[..., Any]]:
        return [
            self.issue_payment_reminder,
            self.shortlist,
            self.record_exposure,
            self.render_contract,
            self.render_amendment,
            self.sign_contract,
            self.seal_contract,
            self.issue_mission_invoice,
        ]
