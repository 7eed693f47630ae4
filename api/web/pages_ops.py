"""Ops pages: find missions, the needs_attention queue, inspection with the workflow history, audited actions,
the audit log, the overview (SQL aggregates of the read model, store/ops_views.py) and the charts (funnel and
time per stage)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from babel.dates import format_date
from babel.numbers import format_currency
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from starlette.datastructures import FormData

from api import repair
from api.deps import SessionDep
from api.routers import ops, ops_missions, ops_repair
from api.web import actions, forms
from api.web.charts import bar_chart, strip_chart
from api.web.core import CsrfChecked, WebUser, error_text, language_of, redirect, render, require
from api.web.i18n import N_, stage_label, translations
from api.web.pages_missions import compared_proposals
from domain.actions import Scope
from domain.directory import DirectoryQuery
from domain.stages import Stage
from store import directory
from store import missions as queries
from store import ops_views as views
from store.models.community import AuditEntry
from store.models.readmodel import MissionRecord

router = APIRouter(prefix="/portal/ops", include_in_schema=False)


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def _moment(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


@router.get("/missions")
def find(request: Request, user: WebUser, session: SessionDep) -> Response:
    require(user, "ops")
    q = request.query_params
    filters = {k: q.get(k, "") for k in ("stage", "client_org_id", "expert_id", "deadline_before", "deadline_after")}
    page = ops_missions.find_missions(
        user,
        session,
        stage=[filters["stage"]] if filters["stage"] else None,
        client_org_id=_uuid(filters["client_org_id"]),
        expert_id=_uuid(filters["expert_id"]),
        deadline_before=_moment(filters["deadline_before"]),
        deadline_after=_moment(filters["deadline_after"]),
        limit=200,
    )
    return render(
        request, "ops_missions.html", user, page=page, filters=filters, stages=[s.value for s in Stage], attention=False
    )


@router.get("/attention")
def attention(request: Request, user: WebUser, session: SessionDep) -> Response:
    require(user, "ops")
    page = ops_missions.find_missions(user, session, needs_attention=True, limit=200)
    tasks = queries.open_tasks(session, user=user)
    return render(
        request,
        "ops_missions.html",
        user,
        page=page,
        tasks=tasks,
        parked=repair.parked(session),
        filters={},
        stages=[s.value for s in Stage],
        attention=True,
    )


@router.get("/missions/{mission_id}")
async def inspect(mission_id: uuid.UUID, request: Request, user: WebUser, session: SessionDep) -> Response:
    require(user, "ops")
    mission = session.get(MissionRecord, mission_id)
    if mission is None:
        message = translations(language_of(request, user)).gettext("Mission not found.")
        return render(request, "error.html", user, status_code=404, message=message)
    inspection: Any = None
    problem = None
    try:
        inspection = await ops_missions.inspect_mission(mission_id, user, session, await actions.temporal_of(request))
    except HTTPException as exc:
        problem = error_text(exc)
    # the mission's entries and its milestones' (`mission:{id}:milestone:{n}`), newest first
    audit = list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.target.like(f"mission:{mission_id}%"))
            .order_by(AuditEntry.at.desc())
            .limit(100)
        )
    )
    # the proposals as the client compares them (ops see the whole state, the client every proposal as well)
    view = inspection.state if inspection is not None else None
    proposals, cards = compared_proposals(session, view, language_of(request, user))
    # who could take the mission over (the reassign form): the directory's experts of its business function
    rates = request.app.state.settings.exchange_rates.table()
    try:
        takers = directory.search(session, DirectoryQuery(function=mission.business_function, limit=100), rates).experts
    except directory.UnknownTerm:  # a business function the taxonomy no longer knows: the id is typed by hand
        takers = []
    return render(
        request,
        "ops_mission.html",
        user,
        mission=mission,
        inspection=inspection,
        problem=problem,
        timeline=queries.timeline(session, mission_id=mission_id),
        audit=audit,
        view=view,
        proposals=proposals,
        cards=cards,
        names={},  # a proposal's expert is named by their card
        my_actions=set(),  # ops see the comparison; selecting a proposal is the client's
        takers=takers,
    )


@router.post("/missions/{mission_id}/{action}", dependencies=[CsrfChecked])
async def act(mission_id: uuid.UUID, action: str, request: Request, user: WebUser, session: SessionDep) -> Response:
    require(user, "ops")
    form = await request.form()
    back = f"/portal/ops/missions/{mission_id}"
    _ = translations(language_of(request, user)).gettext
    try:
        if len(forms.text(form, "reason")) < 3:
            raise HTTPException(422, "reason: " + _("Reason (required, audited)"))
        number = forms.text(form, "milestone")
        if action == "extend" and "|" in forms.text(form, "key"):
            # a milestone's deadline: the key select's value is `<number>|<key>` (a mission's: `|<key>`)
            number, key = forms.text(form, "key").split("|", 1)
            form = FormData([(k, key if k == "key" else v) for k, v in form.multi_items()])
        milestone = int(number) if action in ("resume", "extend") and number.isdigit() else None
        dispute = forms.text(form, "dispute")
        scope = Scope.MISSION if milestone is None else Scope.MILESTONE
        if dispute.isdigit():
            scope, milestone = Scope.DISPUTE, int(dispute)
        chosen = actions.action_for(user, action, scope)
        await actions.perform(request, session, user, mission_id=mission_id, action=chosen, form=form, number=milestone)
    except (ValidationError, HTTPException) as exc:
        return redirect(request, back, error=error_text(exc))
    return redirect(request, back, ok=_("Done."))


@router.post("/retry-all", dependencies=[CsrfChecked])
async def retry_all(request: Request, user: WebUser, session: SessionDep) -> Response:
    """Resume every parked mission and milestone; the outcome of each is shown with the batch's."""
    require(user, "ops")
    form = await request.form()
    _ = translations(language_of(request, user)).gettext
    reason = forms.text(form, "reason")
    if len(reason) < 3:
        return redirect(request, "/portal/ops/attention", error="reason: " + _("Reason (required, audited)"))
    try:
        result = await repair.retry_all(session, await actions.temporal_of(request), user=user, reason=reason)
    except HTTPException as exc:
        return redirect(request, "/portal/ops/attention", error=error_text(exc))
    return render(request, "ops_batch.html", user, query=repair.ATTENTION_QUERY, count=None, result=result)


@router.get("/batch")
async def batch(request: Request, user: WebUser) -> Response:
    """Batch actions: a search-attribute query, its dry-run count, then the action on every workflow it matches."""
    require(user, "ops")
    text = request.query_params.get("where", "")
    count: int | None = None
    problem = None
    if text:
        try:
            count = await repair.count(await actions.temporal_of(request), repair.Query.of(text))
        except HTTPException as exc:
            problem = error_text(exc)
    return render(
        request,
        "ops_batch.html",
        user,
        query=text or repair.ATTENTION_QUERY,
        count=count,
        problem=problem,
        result=None,
        batch_actions=repair.BATCH_ACTIONS,
    )


@router.post("/batch", dependencies=[CsrfChecked])
async def batch_run(request: Request, user: WebUser, session: SessionDep) -> Response:
    require(user, "ops")
    form = await request.form()
    _ = translations(language_of(request, user)).gettext
    text, action, reason = forms.text(form, "where"), forms.text(form, "action"), forms.text(form, "reason")
    back = "/portal/ops/batch?" + urlencode({"where": text})
    try:
        if len(reason) < 3:
            raise HTTPException(422, "reason: " + _("Reason (required, audited)"))
        if action not in repair.BATCH_ACTIONS:
            raise HTTPException(422, "action: " + ", ".join(repair.BATCH_ACTIONS))
        expected = forms.text(form, "expected_count")
        if not expected.isdigit():
            raise HTTPException(422, "expected_count: " + _("Count the matching workflows first."))
        result = await repair.run_batch(
            session,
            await actions.temporal_of(request),
            user=user,
            action=action,  # checked against BATCH_ACTIONS above
            query=repair.Query.of(text),
            expected=int(expected),
            reason=reason,
        )
    except HTTPException as exc:
        return redirect(request, back, error=error_text(exc))
    return render(request, "ops_batch.html", user, query=text, count=None, result=result)


LEGAL_LABELS = {
    "legal_name": N_("Legal name"),
    "legal_form": N_("Legal form"),
    "address_line": N_("Address"),
    "postcode": N_("Postcode"),
    "city": N_("City"),
    "country": N_("Country (ISO code)"),
    "siret": "SIRET",
    "vat_number": N_("VAT number"),
    "tax_id": N_("Tax identifier (not VAT)"),
    "vat_regime": N_("VAT regime"),
    "iban": "IBAN",
    "bic": "BIC / SWIFT",
    "account_number": N_("Bank account number"),
    "aba_routing": N_("ABA routing number"),
    "billing_email": N_("Billing e-mail"),
}


@router.get("/parties/{kinds}/{party_id}/legal")
def legal(kinds: str, party_id: uuid.UUID, request: Request, user: WebUser, session: SessionDep) -> Response:
    """A party's legal data, its versions and its parked missions; the form to fix it and resume them."""
    require(user, "ops")
    try:
        read = ops_repair.read_audited(session, user, kinds, party_id)
    except HTTPException as exc:
        return render(request, "error.html", user, status_code=exc.status_code, message=error_text(exc))
    audit = ops.audit_log(user, session, target=read.party, limit=50)
    return render(request, "ops_legal.html", user, kinds=kinds, party_id=party_id, legal=read, labels=LEGAL_LABELS,
                  audit=audit)  # fmt: skip


@router.post("/parties/{kinds}/{party_id}/legal", dependencies=[CsrfChecked])
async def legal_edit(kinds: str, party_id: uuid.UUID, request: Request, user: WebUser, session: SessionDep) -> Response:
    require(user, "ops")
    form = await request.form()
    back = f"/portal/ops/parties/{kinds}/{party_id}/legal"
    _ = translations(language_of(request, user)).gettext
    try:
        current = ops_repair.legal_of(session, kinds, party_id).data
        changes = {
            name: forms.text(form, name) or None
            for name in current
            if name in form and (forms.text(form, name) or None) != current[name]
        }
        body = ops_repair.LegalEdit(changes=changes, reason=forms.text(form, "reason"), resume="resume" in form)
        done = await ops_repair.edit_legal(
            session, await actions.temporal_of(request), user=user, kinds=kinds, party_id=party_id, body=body
        )
    except (ValidationError, HTTPException) as exc:
        return redirect(request, back, error=error_text(exc))
    if done.version is None:
        return redirect(request, back, ok=_("Nothing changed."))
    resumed = ", ".join(f"{o.workflow_id}: {o.outcome}" for o in done.resumed)
    message = _("Saved as version %(version)s.") % {"version": done.version}
    return redirect(request, back, ok=f"{message} {_('Resumed:')} {resumed}" if resumed else message)


@router.get("/audit")
def audit_log(request: Request, user: WebUser, session: SessionDep) -> Response:
    require(user, "ops")
    target = request.query_params.get("target") or None
    return render(
        request,
        "ops_audit.html",
        user,
        entries=ops.audit_log(user, session, target=target, limit=300),
        target=target or "",
    )


def _now() -> datetime:
    return datetime.now(UTC)


@router.get("/overview")
def overview(request: Request, user: WebUser, session: SessionDep) -> Response:
    """The questions ops ask first: where the missions are, how old, what is late, what waits for ops, which fees."""
    require(user, "ops")
    lang = language_of(request, user)
    _ = translations(lang).gettext
    now = _now()
    late_total, late = views.overdue(session, now=now)
    weekly = views.entries_per_week(session, now=now)
    week_labels = [format_date(start, "d MMM", locale=lang) for start in weekly.weeks]
    return render(
        request,
        "ops_overview.html",
        user,
        stages=views.stage_counts(session),
        ages=views.age_counts(session, now=now),
        late_total=late_total,
        late=late,
        attention=views.attention(session, now=now),
        fees=[(f, format_currency(f.total, f.currency, locale=lang)) for f in views.pending_fees(session)],
        weekly=weekly,
        week_labels=week_labels,
        weekly_chart=strip_chart(
            _("Missions entering each stage, per week"),
            week_labels,
            [(stage_label(s, lang), counts) for s, counts in weekly.stages],
        ),
    )


@router.get("/charts")
def charts(request: Request, user: WebUser, session: SessionDep) -> Response:
    require(user, "ops")
    lang = language_of(request, user)
    _ = translations(lang).gettext
    counts = views.stage_counts(session)
    times = views.hours_per_stage(session)
    funnel = bar_chart(_("Missions per stage"), [(stage_label(s, lang), n) for s, n in counts])
    lead = bar_chart(
        _("Average time spent in each stage (hours)"),
        [(stage_label(s, lang), round(h, 1)) for s, h, _n in times],
        unit=" h",
    )
    return render(
        request,
        "ops_charts.html",
        user,
        funnel=funnel,
        lead=lead,
        counts=counts,
        times=times,
        total=sum(n for _s, n in counts),
    )
