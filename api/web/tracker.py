"""The mission tracker: the stages as a progress line with where the mission is, who acts next on what and by when.

Built from the workflow's state as the reader may see it (`api.views.redact`, applied by the page before): a candidate
learns only their own tasks and deadlines; nothing here widens that view."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from babel import Locale
from babel.dates import format_date, format_time, format_timedelta
from babel.numbers import format_decimal

from api.web.i18n import N_, translations
from domain.mission import MissionView, PendingAction, Proposal
from domain.stages import SUSPENDED, TERMINAL, Stage
from store.models.community import Expert, User

# the happy path, in order; qualification shows only on the missions that go through it
PATH = (
    Stage.NEED,
    Stage.QUALIFICATION,
    Stage.SHORTLIST,
    Stage.INVITATIONS,
    Stage.PROPOSALS,
    Stage.CONTRACT,
    Stage.DELIVERY,
    Stage.FEEDBACK,
    Stage.CLOSED,
)
TASK_LABELS: dict[str, str] = {
    "need_details": N_("Give the details ops asked for"),
    "qualify_need": N_("Qualify the need"),
    "review_shortlist": N_("Review the shortlist and send the invitations"),
    "answer_invitation": N_("Answer the invitation"),
    "submit_proposal": N_("Send a proposal"),
    "select_proposal": N_("Select a proposal"),
    "sign_contract": N_("Sign the contract"),
    "submit_deliverable": N_("Deliver the milestone"),
    "review_deliverable": N_("Review the deliverable"),
    "confirm_payment": N_("Pay the invoice and confirm the payment"),
    "rate_expert": N_("Rate the expert"),
    "rate_client": N_("Rate the client"),
    "repair": N_("Repair the step that failed"),
    "resolve_dispute": N_("Resolve the dispute"),
    "follow_up_deadline": N_("Follow up a missed deadline"),
}


@dataclass(frozen=True)
class Step:
    stage: str
    state: str  # done | current | todo


@dataclass(frozen=True)
class NextAction:
    who: str
    what: str
    mine: bool
    due: datetime | None
    countdown: str  # "in 3 days", "2 hours ago"
    due_text: str  # the date and time as the reader writes them (UTC)
    overdue: bool
    milestone: int | None = None


@dataclass
class Tracker:
    steps: list[Step]
    exit: str | None  # cancelled, disputed, needs attention: off the line
    next: list[NextAction] = field(default_factory=list)


def _steps(view: MissionView) -> tuple[list[Step], str | None]:
    stage = view.stage
    exit_ = stage.value if stage in SUSPENDED or stage is Stage.CANCELLED else None
    reached = view.resume_stage if exit_ and view.resume_stage else stage
    path = [s for s in PATH if s is not Stage.QUALIFICATION or reached is Stage.QUALIFICATION]
    if reached not in path:  # cancelled before the line says where: nothing current
        return [Step(s.value, "todo") for s in path], exit_
    at = path.index(reached)
    steps = []
    for n, s in enumerate(path):
        done = n < at or (n == at and stage in TERMINAL and stage is Stage.CLOSED)
        steps.append(Step(s.value, "done" if done else "current" if n == at and not exit_ else "todo"))
    return steps, exit_


def _who(action: PendingAction, user: User, lang: str, names: dict[uuid.UUID, str]) -> tuple[str, bool]:
    _ = translations(lang).gettext
    mine_party = user.organisation_id if user.role == "client" else user.expert_id
    if action.role.value == user.role and (action.party_id == mine_party or user.role == "ops"):
        return _("You"), True
    if action.role.value == "client":
        return _("The client"), False
    if action.role.value == "expert":
        name = names.get(action.party_id) if action.party_id else None
        return name or _("The expert"), False
    return _("Ops"), False


def tracker_of(
    view: MissionView, user: User, lang: str, names: dict[uuid.UUID, str], now: datetime | None = None
) -> Tracker:
    """The progress line and the next actions (the reader's first, then by due date) of a redacted view."""
    now = now or datetime.now(UTC)
    gettext = translations(lang).gettext
    steps, exit_ = _steps(view)
    pending: list[tuple[PendingAction, int | None]] = [(a, None) for a in view.pending_actions]
    pending += [(a, m.number) for m in view.milestones for a in m.pending_actions]
    deadlines = {d.key: d.due for d in view.deadlines}
    found = []
    for action, milestone in pending:
        who, mine = _who(action, user, lang, names)
        due = action.due or (deadlines.get(action.deadline) if action.deadline else None)
        label = TASK_LABELS.get(action.action)
        what = gettext(label) if label else action.title or action.action.replace("_", " ")
        countdown = due_text = ""
        if due is not None:
            countdown = format_timedelta(due - now, add_direction=True, locale=lang)
            day, hour = format_date(due, "medium", locale=lang), format_time(due, "short", tzinfo=UTC, locale=lang)
            due_text = f"{day} {hour} UTC"
        found.append(NextAction(who, what, mine, due, countdown, due_text, bool(due and due < now), milestone))
    far = datetime.max.replace(tzinfo=UTC)
    found.sort(key=lambda a: (not a.mine, a.due or far))
    return Tracker(steps, exit_, found)


@dataclass(frozen=True)
class ExpertCard:
    """An expert's public profile summary and reputation, shown next to their proposal for the client to compare."""

    name: str
    headline: str
    languages: list[str]  # their names in the reader's language
    daily_rate: Decimal
    currency: str
    rating: Decimal
    rating_text: str  # "4.6" as the reader writes it
    ratings_count: int
    completed_missions: int


def expert_card(expert: Expert, lang: str) -> ExpertCard:
    names = Locale.parse(lang).languages
    return ExpertCard(
        name=expert.display_name,
        headline=expert.headline,
        languages=[str(names.get(code, code)) for code in expert.languages],
        daily_rate=expert.daily_rate,
        currency=expert.currency,
        rating=expert.rating,
        rating_text=format_decimal(expert.rating, "0.0", locale=lang),
        ratings_count=expert.ratings_count,
        completed_missions=expert.completed_missions,
    )


def current_proposals(view: MissionView) -> list[Proposal]:
    """The proposals of the current round (of a redacted view: a candidate's own only), the selected one first."""
    found = [p for p in view.proposals if p.round == view.proposal_round or p.status == "selected"]
    return sorted(found, key=lambda p: (p.status != "selected", p.submitted_at))
