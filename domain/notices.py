"""What each kind of notice says, and whether a person may switch it off.

A workflow emits a notice as a kind and parameters (ids, dates, numbers: never message bodies); the mailer and the
portal's feed render it from here in the recipient's language (the English texts are the gettext message ids).
A notice of kind `task` is emitted whenever a task opens for a party: its `action` says what is expected.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from babel.dates import format_date, format_datetime


@dataclass(frozen=True)
class NoticeText:
    subject: str  # str.format()-ed with the notice's parameters (and `mission`, the mission's title)
    body: str
    legal: bool = False  # a legal notice (contract to sign, invoice, late payment) cannot be switched off


# What a party is asked to do when a task opens, by the task's action (domain.actions names the routes).
TASKS: dict[str, NoticeText] = {
    "answer_invitation": NoticeText(
        "You are invited to the mission “{mission}”",
        "A client invites you to answer their need. Read it and accept or decline before {due}.",
    ),
    "submit_proposal": NoticeText(
        "Send your proposal for “{mission}”",
        "You accepted the invitation: send your approach, price and milestones before {due}.",
    ),
    "review_shortlist": NoticeText(
        "Your shortlist for “{mission}” is ready",
        "Review the experts we matched to your need, remove any you do not want, then send the invitations.",
    ),
    "select_proposal": NoticeText(
        "Proposals for “{mission}” are in",
        "Compare the proposals side by side and select one, or ask for a new round, before {due}.",
    ),
    "sign_contract": NoticeText(
        "The contract for “{mission}” is ready to sign",
        "Read the contract and sign it before {due}. It binds both parties once both have signed.",
        legal=True,
    ),
    "submit_deliverable": NoticeText(
        "Deliver the milestone of “{mission}”",
        "The milestone is open: upload its deliverable before {due}.",
    ),
    "review_deliverable": NoticeText(
        "A deliverable of “{mission}” awaits your review",
        "Accept it or ask for a revision before {due}; without an answer by then, it is accepted.",
    ),
    "confirm_payment": NoticeText(
        "An invoice of “{mission}” is due",
        "Pay the invoice and confirm the payment before {due}.",
        legal=True,
    ),
    "rate_expert": NoticeText("Rate the expert of “{mission}”", "Tell other clients how the mission went."),
    "rate_client": NoticeText("Rate the client of “{mission}”", "Tell other experts how the mission went."),
    "need_details": NoticeText(
        "Our team needs details on “{mission}”", "Complete your need so that we can match experts to it."
    ),
    "approve_budget": NoticeText(
        "A budget to approve: “{mission}”",
        "A need of your organisation is above the approval threshold ({title}). Approve or reject it before {due}.",
    ),
    "revise_budget": NoticeText(
        "The budget of “{mission}” was not approved", "An approver of your organisation asks you to revise the need."
    ),
    "qualify_need": NoticeText("A need to qualify: “{mission}”", "Approve it, reject it or ask the client."),
    "resolve_dispute": NoticeText("A dispute to resolve: “{mission}”", "The parties of a mission disagree."),
    "repair": NoticeText("A mission needs attention: “{mission}”", "A step failed for good; fix it and resume."),
    "follow_up_deadline": NoticeText("A deadline passed: “{mission}”", "Follow it up with the late party."),
}

KINDS: dict[str, NoticeText] = {
    "invitation": TASKS["answer_invitation"],
    "reminder": NoticeText("Reminder: “{mission}” waits for you", "What is expected of you is due by {due}."),
    "deadline_expired": NoticeText(
        "A deadline passed on “{mission}”", "The time to act passed; our team will follow it up with you."
    ),
    "invitation_expired": NoticeText(
        "Your invitation to “{mission}” expired", "It was not answered in time; the client invites another expert."
    ),
    "fewer_experts": NoticeText(
        "{accepted} expert(s) accepted for “{mission}”", "Fewer experts than you asked for accepted; proposals follow."
    ),
    "pool_exhausted": NoticeText(
        "No expert is available for “{mission}”", "No expert could take your need; our team will contact you."
    ),
    "invoice_issued": NoticeText(
        "Invoice {number} for “{mission}”",
        "The invoice is issued in the expert's name; it carries the full agreed amount (no commission).",
        legal=True,
    ),
    "deliverable_auto_accepted": NoticeText(
        "A deliverable of “{mission}” was accepted", "The review period passed without an answer: it is accepted."
    ),
    "late_payment_notice": NoticeText(
        "Late payment: invoice {invoice}",
        "The invoice is past due. Late-payment penalties and the fixed recovery indemnity now apply.",
        legal=True,
    ),
    "overdue_reminder": NoticeText(
        "Invoice {invoice} is still unpaid", "Please pay the invoice and confirm the payment.", legal=True
    ),
    "fee_payment_reminder": NoticeText(
        "Your registration fee is due", "Pay invoice {invoice_number} ({amount} {currency}) by {due}.", legal=True
    ),
    "membership_lapsed": NoticeText(
        "Your membership lapsed", "The fee was not paid: you cannot open or accept new missions until it is."
    ),
}


def text_of(kind: str, params: dict[str, str]) -> NoticeText:
    """The text of a notice: a task's by its action, others by their kind."""
    if kind == "task":
        return TASKS.get(params.get("action", ""), NoticeText("“{mission}”: {title}", "{title}"))
    return KINDS.get(kind, NoticeText("“{mission}”: {kind}", "{kind}"))


def is_legal(kind: str, params: dict[str, str]) -> bool:
    return text_of(kind, params).legal


def render(kind: str, params: dict[str, str], language: str, gettext: Callable[[str], str] = str) -> tuple[str, str]:
    """The notice's subject and body in the reader's language, dates written as people read them there."""
    values = _Values({k: readable(v, language) for k, v in params.items()} | {"kind": kind})
    text = text_of(kind, params)
    return gettext(text.subject).format_map(values), gettext(text.body).format_map(values)


class _Values(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def readable(value: str, language: str) -> str:
    """An ISO date or date-time as people read it in their language; anything else as it is."""
    locale = "fr_FR" if language == "fr" else "en_GB"
    try:
        if "T" in value:
            return format_datetime(datetime.fromisoformat(value), "d MMMM y HH:mm zzz", locale=locale)
        if len(value) == 10 and value[4] == "-":
            return format_date(date.fromisoformat(value), "long", locale=locale)
    except ValueError:
        pass
    return value
