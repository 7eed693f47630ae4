"""Every action a person can take on a mission, declared once.

Each entry names the workflow update that carries it out, its command (the update's input), who may take it,
where it applies (the mission or one of its milestones) and the inbox tasks it completes. The API routes, the
portal's forms, the inbox's hints and the `innot ops` commands are all generated from `ACTIONS`, and every one of
them goes through the same service call (`api.service.act`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain import dispute
from domain import mission as cmds
from domain.org_roles import APPROVES, PAYS, RUNS_MISSIONS, OrgRole


class Who(StrEnum):
    CLIENT = "client"
    EXPERT = "expert"
    PARTY = "party"  # either party of the mission: the client's members or the mission's expert
    OPS = "ops"

    def allows(self, role: str) -> bool:
        if self is Who.PARTY:
            return role in ("client", "expert")
        return role == self.value


class Scope(StrEnum):
    MISSION = "mission"
    MILESTONE = "milestone"
    DISPUTE = "dispute"  # the mission's dispute `number` (a child workflow, workflows/dispute.py)


@dataclass(frozen=True)
class Action:
    who: Who
    update: str  # the workflow update's name
    command: type[cmds.Command]  # its update's input
    path: str  # the route's last segment(s), under the mission's (or the milestone's) URL
    summary: str
    scope: Scope = Scope.MISSION
    completes: tuple[str, ...] = ()  # the inbox task kinds this action answers
    needs_active_membership: bool = False  # a lapsed member cannot open or accept new missions
    needs_verified_email: bool = False  # an engagement: only once the account's e-mail address is verified
    needs_second_factor: bool = False  # a legal act: a fresh authenticator code (`otp`) confirms it
    # the roles of a client organisation's members who may take it (domain.org_roles); experts and ops: unused
    org_roles: frozenset[OrgRole] = RUNS_MISSIONS

    def allows(self, role: str, org_role: str | None = None) -> bool:
        """Whether an account of this role (and, for a client member, this role in their organisation) may take
        the action."""
        if not self.who.allows(role):
            return False
        return role != "client" or (org_role is not None and org_role in self.org_roles)

    @property
    def name(self) -> str:
        """Unique across the catalogue (`client:cancel` and `ops:cancel` are two actions of one update)."""
        return f"{self.who}:{self.update}" if self.scope is Scope.MISSION else f"{self.who}:{self.scope}_{self.update}"

    def route(self) -> str:
        """The API route that carries the action, with `{mission_id}` (and `{number}`) to fill in."""
        base = "/ops/missions/{mission_id}" if self.who is Who.OPS else "/missions/{mission_id}"
        if self.scope is Scope.MILESTONE:
            base += "/milestones/{number}"
        elif self.scope is Scope.DISPUTE:
            base += "/disputes/{number}"
        return f"{base}/{self.path}"


C, E, P, OPS = Who.CLIENT, Who.EXPERT, Who.PARTY, Who.OPS
M, D = Scope.MILESTONE, Scope.DISPUTE

# fmt: off
ACTIONS: tuple[Action, ...] = (
    # the client's side of the mission
    Action(C, "revise_need", cmds.ReviseNeed, "need", "Revise the need (after ops asked for details)",
           completes=("need_details", "revise_budget")),
    Action(C, "approve_budget", cmds.ApproveBudget, "approval/approve", "Approve the need's budget",
           completes=("approve_budget",), org_roles=APPROVES),
    Action(C, "reject_budget", cmds.RejectBudget, "approval/reject", "Reject the need's budget",
           completes=("approve_budget",), org_roles=APPROVES),
    Action(C, "edit_shortlist", cmds.EditShortlist, "shortlist/remove", "Remove candidates from the shortlist",
           completes=("review_shortlist",)),
    Action(C, "invite_expert", cmds.InviteExpert, "shortlist/invite",
           "Put an expert chosen in the directory on the shortlist"),
    Action(C, "start_invitations", cmds.StartInvitations, "invitations/start", "Send the invitations",
           completes=("review_shortlist",)),
    Action(C, "select_proposal", cmds.SelectProposal, "proposals/select", "Select a proposal",
           completes=("select_proposal",)),
    Action(C, "request_new_round", cmds.RequestNewRound, "proposals/new-round", "Ask for a new round",
           completes=("select_proposal",)),
    # the expert's side
    Action(E, "accept_invitation", cmds.AnswerInvitation, "invitation/accept", "Accept the invitation",
           completes=("answer_invitation",), needs_active_membership=True, needs_verified_email=True),
    Action(E, "decline_invitation", cmds.AnswerInvitation, "invitation/decline", "Decline the invitation",
           completes=("answer_invitation",)),
    Action(E, "submit_proposal", cmds.SubmitProposal, "proposal", "Submit a proposal",
           completes=("submit_proposal",), needs_active_membership=True),
    Action(E, "withdraw_proposal", cmds.WithdrawProposal, "proposal/withdraw", "Withdraw my proposal"),
    # both parties
    Action(P, "sign_contract", cmds.SignContract, "contract/sign", "Sign the contract (both parties)",
           completes=("sign_contract",), needs_verified_email=True, needs_second_factor=True),
    Action(P, "cancel", cmds.CancelMission, "cancel",
           "Cancel the mission (after the contract: ask, or agree to the other party's request)",
           completes=("agree_cancellation",)),
    Action(P, "open_dispute", cmds.OpenDispute, "dispute", "Open a dispute (on a milestone or the mission)"),
    Action(P, "answer_dispute", dispute.AnswerDispute, "answer", "Answer the dispute", scope=D,
           completes=("answer_dispute",)),
    Action(P, "rate", cmds.RateParty, "rating", "Rate the other party", completes=("rate_expert", "rate_client")),
    Action(P, "answer_rating", cmds.AnswerRating, "rating/answer", "Answer the rating you received (once, publicly)"),
    # milestones
    Action(E, "submit_deliverable", cmds.SubmitDeliverable, "deliverable", "Upload the milestone's deliverable",
           scope=M, completes=("submit_deliverable",)),
    Action(C, "accept_deliverable", cmds.AcceptDeliverable, "accept", "Accept the deliverable", scope=M,
           completes=("review_deliverable",)),
    Action(C, "request_revision", cmds.RequestRevision, "revision", "Ask for a revision", scope=M,
           completes=("review_deliverable",)),
    Action(P, "confirm_payment", cmds.ConfirmPayment, "payment",
           "Confirm the payment (the client: paid; the expert: received)", scope=M, completes=("confirm_payment",),
           org_roles=PAYS),
    Action(E, "report_non_payment", cmds.ReportNonPayment, "non-payment",
           "Report that the invoice is still unpaid after its due date", scope=M),
    # ops
    Action(OPS, "qualify_need", cmds.QualifyNeed, "qualify", "Qualify the need: approve, reject, ask for details",
           completes=("qualify_need",)),
    Action(OPS, "pause", cmds.PauseMission, "pause", "Pause the mission (timers stop counting)"),
    Action(OPS, "resume", cmds.ResumeMission, "resume", "Resume: after a pause, or retry after needs_attention",
           completes=("repair",)),
    Action(OPS, "extend_deadline", cmds.ExtendDeadline, "extend", "Extend a deadline",
           completes=("follow_up_deadline",)),
    Action(OPS, "reassign_expert", cmds.ReassignExpert, "reassign", "Reassign the expert"),
    Action(OPS, "decide_dispute", dispute.DecideDispute, "decide",
           "Decide a dispute: continue, partial acceptance, redo, or end the mission", scope=D,
           completes=("decide_dispute",)),
    Action(OPS, "cancel", cmds.CancelMission, "cancel", "Cancel the mission"),
    Action(OPS, "resume", cmds.ResumeMission, "resume", "Retry a milestone step that failed for good (needs_attention)",
           scope=M, completes=("repair",)),
    Action(OPS, "extend_deadline", cmds.ExtendDeadline, "extend",
           "Extend a milestone's deadline (delivery, review, payment)", scope=M, completes=("follow_up_deadline",)),
)
# fmt: on

BY_NAME: dict[str, Action] = {a.name: a for a in ACTIONS}
assert len(BY_NAME) == len(ACTIONS), "two actions share a name"


def find(who: Who, update: str, scope: Scope = Scope.MISSION) -> Action:
    """The action `who` takes with `update` (KeyError when there is none: a door asked for an unknown action)."""
    return BY_NAME[Action(who, update, cmds.Command, "", "", scope).name]


def task_roles(task_action: str) -> frozenset[OrgRole]:
    """The roles of a client organisation who may answer a task of this kind: whom its inbox shows it to and its
    notices reach. A kind no client action completes is everybody's."""
    roles = [a.org_roles for a in ACTIONS if task_action in a.completes and a.who in (Who.CLIENT, Who.PARTY)]
    return frozenset().union(*roles) if roles else frozenset(OrgRole)


def answers_task(role: str, org_role: str | None, task_action: str) -> bool:
    """Whether an account may answer a task of this kind (its inbox shows it, its notices reach it): for a client
    member, when their role in the organisation is one of the task's roles; any expert or ops account otherwise."""
    return role != "client" or (org_role is not None and org_role in task_roles(task_action))


# The inbox tasks of a membership's onboarding (domain.onboarding), answered outside any mission; such a task carries
# its member's id where a mission's task carries the mission's.
MEMBER_FORMS = {
    "complete_onboarding": "POST /onboarding/me/submit",
    "fix_onboarding": "POST /onboarding/me/submit",
    "review_member": "POST /ops/members/{mission_id}/approve | POST /ops/members/{mission_id}/request-changes",
}


def form_hint(task_action: str) -> str:
    """The routes that complete an inbox task, as the inbox shows them: `POST /missions/{mission_id}/...`."""
    if task_action in MEMBER_FORMS:
        return MEMBER_FORMS[task_action]
    routes = [a.route() for a in ACTIONS if task_action in a.completes]
    return "POST " + " | ".join(routes) if routes else ""
