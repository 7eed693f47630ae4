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


def N_(message: str) -> str:  # noqa: N802 - the marker gettext's extractors know (the catalogue is config.i18n's)
    """Marks a msgid: the text is translated where it is rendered, in the reader's language."""
    return message


@dataclass(frozen=True)
class NoticeText:
    subject: str  # str.format()-ed with the notice's parameters (and `mission`, the mission's title)
    body: str
    legal: bool = False  # a legal notice (contract to sign, invoice, late payment) cannot be switched off


# What a party is asked to do when a task opens, by the task's action (domain.actions names the routes).
TASKS: dict[str, NoticeText] = {
    "answer_invitation": NoticeText(
        N_("You are invited to the mission “{mission}”"),
        N_("A client invites you to answer their need. Read it and accept or decline before {due}."),
    ),
    "submit_proposal": NoticeText(
        N_("Send your proposal for “{mission}”"),
        N_("You accepted the invitation: send your approach, price and milestones before {due}."),
    ),
    "review_shortlist": NoticeText(
        N_("Your shortlist for “{mission}” is ready"),
        N_("Review the experts we matched to your need, remove any you do not want, then send the invitations."),
    ),
    "select_proposal": NoticeText(
        N_("Proposals for “{mission}” are in"),
        N_("Compare the proposals side by side and select one, or ask for a new round, before {due}."),
    ),
    "sign_contract": NoticeText(
        N_("The contract for “{mission}” is ready to sign"),
        N_("Read the contract and sign it before {due}. It binds both parties once both have signed."),
        legal=True,
    ),
    "submit_deliverable": NoticeText(
        N_("Deliver the milestone of “{mission}”"),
        N_("The milestone is open: upload its deliverable before {due}."),
    ),
    "review_deliverable": NoticeText(
        N_("A deliverable of “{mission}” awaits your review"),
        N_("Accept it or ask for a revision before {due}; without an answer by then, it is accepted."),
    ),
    "confirm_payment": NoticeText(
        N_("An invoice of “{mission}” is due"),
        N_("Pay the invoice and confirm the payment before {due}."),
        legal=True,
    ),
    "rate_expert": NoticeText(N_("Rate the expert of “{mission}”"), N_("Tell other clients how the mission went.")),
    "rate_client": NoticeText(N_("Rate the client of “{mission}”"), N_("Tell other experts how the mission went.")),
    "need_details": NoticeText(
        N_("Our team needs details on “{mission}”"), N_("Complete your need so that we can match experts to it.")
    ),
    "qualify_need": NoticeText(N_("A need to qualify: “{mission}”"), N_("Approve it, reject it or ask the client.")),
    "answer_dispute": NoticeText(
        N_("A dispute was opened on “{mission}”"),
        N_("Read the other party's statement and evidence, and answer with yours before {due}."),
        legal=True,
    ),
    "decide_dispute": NoticeText(
        N_("A dispute to decide: “{mission}”"), N_("Mediate between the parties, then decide.")
    ),
    "agree_cancellation": NoticeText(
        N_("The other party asks to cancel “{mission}”"),
        N_("Agree by cancelling with the same choice for the unpaid invoices, or open a dispute."),
        legal=True,
    ),
    "repair": NoticeText(
        N_("A mission needs attention: “{mission}”"), N_("A step failed for good; fix it and resume.")
    ),
    "follow_up_deadline": NoticeText(N_("A deadline passed: “{mission}”"), N_("Follow it up with the late party.")),
    "complete_onboarding": NoticeText(
        N_("Complete your registration"),
        N_("Give your legal data and proof documents, then submit them for review."),
    ),
    "fix_onboarding": NoticeText(N_("Changes asked on your legal data"), "{title}"),
    "review_member": NoticeText(
        N_("A member to vet: {title}"), N_("Check the legal data and proofs; approve or ask changes.")
    ),
    "approve_budget": NoticeText(
        N_("A budget to approve: “{mission}”"),
        N_("A need of your organisation is above the approval threshold ({title}). Approve or reject it before {due}."),
    ),
    "revise_budget": NoticeText(
        N_("The budget of “{mission}” was not approved"),
        N_("An approver of your organisation asks you to revise the need."),
    ),
}

KINDS: dict[str, NoticeText] = {
    "invitation": TASKS["answer_invitation"],
    "reminder": NoticeText(N_("Reminder: “{mission}” waits for you"), N_("What is expected of you is due by {due}.")),
    "deadline_expired": NoticeText(
        N_("A deadline passed on “{mission}”"), N_("The time to act passed; our team will follow it up with you.")
    ),
    "invitation_expired": NoticeText(
        N_("Your invitation to “{mission}” expired"),
        N_("It was not answered in time; the client invites another expert."),
    ),
    "fewer_experts": NoticeText(
        N_("{accepted} expert(s) accepted for “{mission}”"),
        N_("Fewer experts than you asked for accepted; proposals follow."),
    ),
    "pool_exhausted": NoticeText(
        N_("No expert is available for “{mission}”"), N_("No expert could take your need; our team will contact you.")
    ),
    "invoice_issued": NoticeText(
        N_("Invoice {number} for “{mission}”"),
        N_("The invoice is issued in the expert's name; it carries the full agreed amount (no commission)."),
        legal=True,
    ),
    "deliverable_auto_accepted": NoticeText(
        N_("A deliverable of “{mission}” was accepted"),
        N_("The review period passed without an answer: it is accepted."),
    ),
    "late_payment_notice": NoticeText(
        N_("Late payment: invoice {invoice}"),
        N_("The invoice is past due. Late-payment penalties and the fixed recovery indemnity now apply."),
        legal=True,
    ),
    "overdue_reminder": NoticeText(
        N_("Invoice {invoice} is still unpaid"), N_("Please pay the invoice and confirm the payment."), legal=True
    ),
    "fee_payment_reminder": NoticeText(
        N_("Your registration fee is due"),
        N_("Pay invoice {invoice_number} ({amount} {currency}) by {due}."),
        legal=True,
    ),
    "dispute_opened": NoticeText(
        N_("A dispute is open on “{mission}”"), N_("The mission is on hold while the dispute runs."), legal=True
    ),
    "dispute_unanswered": NoticeText(
        N_("The dispute on “{mission}” goes to mediation"),
        N_("The answer did not come in time: our team mediates with what it has."),
        legal=True,
    ),
    "dispute_decided": NoticeText(
        N_("The dispute on “{mission}” is decided"),
        N_("Our team decided ({outcome}); the mission follows it."),
        legal=True,
    ),
    "credit_note_issued": NoticeText(
        N_("Credit note {number} for “{mission}”"),
        N_("Invoice {invoice} is cancelled by this credit note."),
        legal=True,
    ),
    "contract_handed_over": NoticeText(
        N_("Milestones of “{mission}” handed over to another expert"),
        N_(
            "Our team hands the milestones {milestones} over to another expert, by an amendment to the contract: "
            "{reason}. The milestones you delivered and that were accepted stay yours, invoiced and paid to you."
        ),
        legal=True,
    ),
    "contract_amended": NoticeText(
        N_("The contract of “{mission}” is amended"),
        N_("Amendment {number} is signed and sealed: the milestones {milestones} now go on with their new expert."),
        legal=True,
    ),
    "onboarding_reminder": NoticeText(
        "Your registration is not complete yet", "Submit your legal data and proof documents by {due}."
    ),
    "onboarding_expired": NoticeText(
        "Your registration expired", "Your legal data was not submitted in time; register again to join."
    ),
    "onboarding_changes_requested": NoticeText("Changes asked on your legal data", "Our team asks: {reason}"),
    "onboarding_approved": NoticeText(
        "Your legal data is approved", "Version {version} of your legal data is in force for your next invoices."
    ),
    "onboarding_review_late": NoticeText(
        "A member waits for its review", "Version {version} of a member's legal data waits since {since}."
    ),
    "membership_lapsed": NoticeText(
        N_("Your membership lapsed"), N_("The fee was not paid: you cannot open or accept new missions until it is.")
    ),
}


# How a person reads each kind in their preferences (`task` stands for every "you have something to do" notice).
KIND_LABELS: dict[str, str] = {
    "task": N_("Something for me to do (invitation, proposal, review, rating…)"),
    "invitation": N_("Invitations"),
    "reminder": N_("Reminders"),
    "deadline_expired": N_("A deadline passed"),
    "invitation_expired": N_("An invitation expired"),
    "fewer_experts": N_("Fewer experts than asked accepted"),
    "pool_exhausted": N_("No expert available"),
    "invoice_issued": N_("Invoices"),
    "deliverable_auto_accepted": N_("A deliverable accepted without an answer"),
    "late_payment_notice": N_("Late payment"),
    "overdue_reminder": N_("Unpaid invoices"),
    "fee_payment_reminder": N_("Registration fee due"),
    "membership_lapsed": N_("Membership lapsed"),
    "sign_contract": N_("A contract to sign"),
    "confirm_payment": N_("An invoice to pay"),
    "answer_dispute": N_("A dispute to answer"),
    "agree_cancellation": N_("A cancellation to agree to"),
    "dispute_opened": N_("A dispute opened"),
    "dispute_unanswered": N_("A dispute goes to mediation"),
    "dispute_decided": N_("A dispute decided"),
    "credit_note_issued": N_("Credit notes"),
    "contract_handed_over": N_("Milestones handed over to another expert"),
    "contract_amended": N_("Contract amendments"),
}
LEGAL_KINDS = sorted({*(k for k, t in KINDS.items() if t.legal), *(a for a, t in TASKS.items() if t.legal)})


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
