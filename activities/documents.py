"""The documents task queue's activities, one object for the worker to register: contracts (activities.contracts)
and invoices (activities.invoices), sharing their dependencies (activities.paperwork)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from activities.contracts import ContractActivities
from activities.invoices import InvoiceActivities


class DocumentActivities(ContractActivities, InvoiceActivities):
    def all(self) -> list[Callable[..., Any]]:
        """The activities to register on the documents task queue (sync: give the worker a thread pool). A mission
        issues a credit note when it ends with unpaid invoices to cancel (workflows/mission_process.py)."""
        return [
            self.render_contract,
            self.render_amendment,
            self.sign_contract,
            self.seal_contract,
            self.issue_mission_invoice,
            self.issue_fee_invoice,
            self.issue_credit_note,
            self.issue_payment_reminder,
            self.record_fee_paid,
        ]
