"""The documents task queue's activities, one object for the worker to register: contracts (activities.contracts)
and invoices (activities.invoices), sharing their dependencies (activities.paperwork)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from activities.contracts import ContractActivities
from activities.invoices import InvoiceActivities


class DocumentActivities(ContractActivities, InvoiceActivities):
    def all(self) -> list[Callable[..., Any]]:
        """The activities to register on the documents task queue (sync: give the worker a thread pool). The credit
        note is not among them: no process issues one yet (the ledger and the transparency page count them)."""
        return [
            self.render_contract,
            self.sign_contract,
            self.seal_contract,
            self.issue_mission_invoice,
            self.issue_fee_invoice,
            self.record_fee_paid,
        ]
