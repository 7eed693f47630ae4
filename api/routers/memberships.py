"""Memberships: a member sees its own membership and fee invoices; ops confirm a fee payment (a workflow
update: the validator's refusal comes back as 409 with its reason) and read a membership's live state."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from fastapi import APIRouter, HTTPException, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio.service import RPCError

from api.deps import CurrentUser, DocumentStoreDep, OpsUser, SessionDep, TemporalDep, actor_of
from api.errors import ERROR_RESPONSES
from api.gateway import UPDATE_ERRORS, http_error
from domain.membership import ConfirmFeePayment, MembershipView, membership_workflow_id
from store.models.community import AuditEntry, Membership, Organisation, User
from store.models.legal import DocumentRecord, InvoiceRecord

router = APIRouter(prefix="/memberships", tags=["memberships"], responses=ERROR_RESPONSES)


class FeeInvoiceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: str
    kind: str
    issue_date: date
    due_date: date
    currency: str
    total_excl_tax: Decimal
    total_vat: Decimal
    total_incl_tax: Decimal


class MembershipRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    community: str
    member_id: uuid.UUID
    status: str = Field(description="pending | active | lapsed: only an active member opens or accepts missions")
    fee_schedule_version: str
    fee_amount: Decimal
    currency: str
    term_start: date | None
    term_end: date | None
    invoices: list[FeeInvoiceRead] = Field(default_factory=list)


class FeePayment(BaseModel):
    invoice_number: str = Field(max_length=35)
    paid_on: date
    reference: str = Field(default="", max_length=200, description="bank reference")


def member_id_of(user: User) -> uuid.UUID:
    member = user.organisation_id or user.expert_id
    if member is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this account is not a member of a community")
    return member


def membership_is_active(session: Session, member_id: uuid.UUID | None) -> bool:
    """What the mission routes check before a member opens or accepts a mission."""
    found = session.scalar(select(Membership.status).where(Membership.member_id == member_id))
    return found == "active"


def qualification_required(session: Session, org_id: uuid.UUID | None) -> bool:
    """Whether ops qualify this organisation's needs before matching (its setting; new organisations: on)."""
    return bool(session.scalar(select(Organisation.qualification_required).where(Organisation.id == org_id)))


def _fee_invoices(session: Session, membership: Membership) -> list[InvoiceRecord]:
    buyer = f"{membership.community}:{membership.member_id}"
    query = select(InvoiceRecord).where(InvoiceRecord.buyer_ref == buyer, InvoiceRecord.seller_ref == "platform")
    return list(session.scalars(query.order_by(InvoiceRecord.issue_date, InvoiceRecord.number)))


def _own_membership(session: Session, user: User) -> Membership:
    membership = session.scalar(select(Membership).where(Membership.member_id == member_id_of(user)))
    if membership is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no membership for this account")
    return membership


@router.get("/me", response_model=MembershipRead, summary="My membership and its fee invoices")
def my_membership(user: CurrentUser, session: SessionDep) -> MembershipRead:
    membership = _own_membership(session, user)
    read = MembershipRead.model_validate(membership)
    read.invoices = [FeeInvoiceRead.model_validate(i) for i in _fee_invoices(session, membership)]
    return read


@router.get(
    "/me/invoices/{number}.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "the Factur-X PDF"}},
    summary="Download one of my fee invoices",
)
def my_fee_invoice(number: str, user: CurrentUser, session: SessionDep, store: DocumentStoreDep) -> Response:
    membership = _own_membership(session, user)
    invoice = next((i for i in _fee_invoices(session, membership) if i.number == number), None)
    if invoice is None or invoice.document_id is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "invoice not found")
    document = session.get_one(DocumentRecord, invoice.document_id)
    return Response(
        store.get(document.sha256),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{number}.pdf"'},
    )


@router.get("/{member_id}", response_model=MembershipView, summary="Live state of a membership (ops)")
async def membership_state(member_id: uuid.UUID, _ops: OpsUser, client: TemporalDep) -> MembershipView:
    try:
        handle = client.get_workflow_handle(membership_workflow_id(member_id))
        view: MembershipView = await handle.query("state", result_type=MembershipView)
        return view
    except RPCError as exc:
        raise http_error(exc, "membership") from exc


@router.post("/{member_id}/payments", response_model=MembershipView, summary="Confirm a fee payment (ops)")
async def confirm_fee_payment(
    member_id: uuid.UUID, body: FeePayment, ops: OpsUser, session: SessionDep, client: TemporalDep
) -> MembershipView:
    """Activates the member (or reactivates a lapsed one) and records the collected fee in the public ledger."""
    command = ConfirmFeePayment(actor=actor_of(ops), **body.model_dump())
    handle = client.get_workflow_handle(membership_workflow_id(member_id))
    try:
        view: MembershipView = await handle.execute_update("confirm_fee_payment", command, result_type=MembershipView)
    except UPDATE_ERRORS as exc:
        raise http_error(exc, "membership") from exc
    session.add(
        AuditEntry(
            at=datetime.now(UTC), actor_user_id=ops.id, action="confirm_fee_payment",
            target=membership_workflow_id(member_id), reason=body.reference,
            details={"invoice_number": body.invoice_number, "paid_on": body.paid_on.isoformat()},
        )
    )  # fmt: skip
    session.commit()
    return view
