"""`innot ops ...`: the ops console from the command line — find, inspect and repair missions, with the same
updates, validators and audit entries as the API (each action is done in the name of an ops account: --as)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

import typer
from fastapi import HTTPException
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio.client import Client

from api import gateway, repair, service
from config.settings import get_settings
from config.temporal import connect
from domain.actions import Scope, Who, find
from domain.mission import MissionView
from store import missions as queries
from store.db import make_session_factory, shared_engine
from store.models.community import User

console = Console()
As = Annotated[str, typer.Option("--as", help="e-mail of the ops account acting (recorded in the audit log)")]
Reason = Annotated[str, typer.Option(help="why: recorded in the audit log", min=3)]


def _session() -> Session:
    return make_session_factory(shared_engine(get_settings().database_url))()


def _ops_user(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.lower(), User.role == "ops"))
    if user is None:
        console.print(f"[red]no ops account {email}: create one with `innot ops create-user`[/red]")
        raise typer.Exit(2)
    return user


def _run(work: Callable[[Session, Client], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        client = await connect(get_settings())
        with _session() as session:
            return await work(session, client)

    try:
        return asyncio.run(main())
    except HTTPException as exc:
        console.print(f"[red]{exc.status_code}: {exc.detail}[/red]")
        raise typer.Exit(1) from exc


def register(app: typer.Typer) -> None:
    @app.command("missions")
    def list_missions(
        stage: Annotated[list[str] | None, typer.Option(help="filter by stage (repeatable)")] = None,
        needs_attention: Annotated[bool, typer.Option(help="only missions waiting for a repair")] = False,
        limit: int = 50,
    ) -> None:
        """List missions from the read model, soonest deadline first."""
        with _session() as session:
            viewer = User(role="ops")
            rows, total = queries.list_missions(
                session, user=viewer, stages=["needs_attention"] if needs_attention else stage, limit=limit
            )
        table = Table("mission", "stage", "title", "next deadline", title=f"{len(rows)} of {total} missions")
        for m in rows:
            deadline = m.next_deadline.isoformat(timespec="minutes") if m.next_deadline else ""
            table.add_row(str(m.id), m.stage + (" (paused)" if m.paused else ""), m.title, deadline)
        console.print(table)

    @app.command("inspect")
    def inspect(mission_id: uuid.UUID) -> None:
        """The mission's state from its workflow and its Temporal history, summarised."""

        async def work(_session: Session, client: Client) -> None:
            state = await gateway.mission_state(client, mission_id)
            console.print(f"[bold]{state.need.title}[/bold] — stage {state.stage.value}")
            if state.attention_reason:
                console.print(f"[red]needs attention: {state.attention_reason}[/red]")
            for action in state.pending_actions:
                due = action.due.isoformat(timespec="minutes") if action.due else "no deadline"
                console.print(f"  waiting for {action.role.value}: {action.title or action.action} ({due})")
            history = await gateway.history_events(client, state.workflow_id)
            table = Table("#", "at", "event", "name", "failure", title=f"history of {state.workflow_id}")
            for event in history:
                table.add_row(str(event["id"]), event["at"][11:19], event["type"], event["name"], event["failure"])
            console.print(table)

        _run(work)

    def _reason_action(name: str, update: str, help_: str) -> None:
        action = find(Who.OPS, update)

        def command(mission_id: uuid.UUID, reason: Reason, as_: As) -> None:
            async def work(session: Session, client: Client) -> None:
                user = _ops_user(session, as_)
                view = await service.act(
                    session, client, user=user, mission_id=mission_id, action=action, fields={"reason": reason}
                )
                console.print(f"{mission_id}: {update} done, stage {view.stage.value}")

            _run(work)

        command.__doc__ = help_
        app.command(name)(command)

    _reason_action("pause", "pause", "Pause a mission (its timers stop counting).")
    _reason_action("resume", "resume", "Resume a paused mission, or retry after needs_attention.")

    @app.command("cancel")
    def cancel(
        mission_id: uuid.UUID,
        reason: Reason,
        as_: As,
        unpaid: Annotated[
            str, typer.Option(help="after the contract: keep the unpaid invoices due (keep) or credit them (credit)")
        ] = "keep",
    ) -> None:
        """Cancel a mission (after the contract: accepted work stays invoiced; unpaid invoices kept or credited)."""

        async def work(session: Session, client: Client) -> None:
            user = _ops_user(session, as_)
            fields = {"reason": reason, "unpaid_invoices": unpaid}
            action = find(Who.OPS, "cancel")
            view = await service.act(session, client, user=user, mission_id=mission_id, action=action, fields=fields)
            console.print(f"{mission_id}: cancel done, stage {view.stage.value}")

        _run(work)

    @app.command("decide-dispute")
    def decide_dispute(
        mission_id: uuid.UUID,
        number: Annotated[int, typer.Option(help="the dispute's number (the mission's `disputes`)")],
        outcome: Annotated[str, typer.Option(help="continue | partial | redo | end")],
        reason: Reason,
        as_: As,
        amount: Annotated[str | None, typer.Option(help="partial: the accepted amount, excluding tax")] = None,
        new_due: Annotated[datetime | None, typer.Option(help="redo: the new due date-time (ISO, with zone)")] = None,
    ) -> None:
        """Decide a dispute after mediation."""

        async def work(session: Session, client: Client) -> None:
            user = _ops_user(session, as_)
            fields = {"outcome": outcome, "reason": reason, "amount": amount, "new_due": new_due}
            action = find(Who.OPS, "decide_dispute", Scope.DISPUTE)
            view = await service.act(
                session, client, user=user, mission_id=mission_id, action=action, fields=fields, number=number
            )
            console.print(f"{mission_id}: dispute {number} decided ({outcome}); dispute {view.stage.value}")

        _run(work)

    @app.command("extend")
    def extend(
        mission_id: uuid.UUID,
        key: Annotated[str, typer.Option(help="deadline key, e.g. signature, proposals:1, or a milestone's payment")],
        until: Annotated[datetime, typer.Option(help="new due date-time (ISO, with zone)")],
        reason: Reason,
        as_: As,
        milestone: Annotated[int | None, typer.Option(help="the milestone's number, for one of its deadlines")] = None,
    ) -> None:
        """Extend a deadline of a mission, or of one of its milestones (delivery, review, payment)."""

        async def work(session: Session, client: Client) -> None:
            user = _ops_user(session, as_)
            fields = {"key": key, "new_due": until, "reason": reason}
            scope = Scope.MISSION if milestone is None else Scope.MILESTONE
            action = find(Who.OPS, "extend_deadline", scope)
            view = await service.act(
                session, client, user=user, mission_id=mission_id, action=action, fields=fields, number=milestone
            )
            where = f"{mission_id}" if milestone is None else f"{mission_id} milestone {milestone}"
            console.print(f"{where}: {key} extended; stage {view.stage.value}")

        _run(work)

    @app.command("reassign")
    def reassign(
        mission_id: uuid.UUID,
        from_expert: Annotated[uuid.UUID, typer.Option(help="the expert replaced (after the contract: contractor)")],
        to_expert: Annotated[uuid.UUID, typer.Option(help="the expert who takes over")],
        reason: Reason,
        as_: As,
        due_date: Annotated[
            datetime | None, typer.Option(help="after the contract: the new due date of the milestones handed over")
        ] = None,
    ) -> None:
        """Replace an expert: before the contract an invited one; during the delivery the contractor, for the milestones
        awaiting their deliverable, by a contract amendment the client and the new expert sign."""

        async def work(session: Session, client: Client) -> None:
            user = _ops_user(session, as_)
            fields = {"from_expert_id": from_expert, "to_expert_id": to_expert, "reason": reason,
                      "due_date": due_date.date() if due_date else None}  # fmt: skip
            action = find(Who.OPS, "reassign_expert")
            view = await service.act(session, client, user=user, mission_id=mission_id, action=action, fields=fields)
            pending = view.pending_amendment() if isinstance(view, MissionView) else None
            what = f"amendment {pending.number} to sign" if pending else "reassigned"
            console.print(f"{mission_id}: {what}; stage {view.stage.value}")

        _run(work)

    @app.command("terminate")
    def terminate(mission_id: uuid.UUID, reason: Reason, as_: As) -> None:
        """Terminate a mission's workflow (last resort: no clean-up runs)."""

        async def work(session: Session, client: Client) -> None:
            user = _ops_user(session, as_)
            await service.terminate(session, client, user=user, mission_id=mission_id, reason=reason)
            console.print(f"{mission_id}: terminated")

        _run(work)

    @app.command("retry-all")
    def retry_all(reason: Reason, as_: As) -> None:
        """Resume every mission and milestone in needs_attention (after the cause is fixed)."""

        async def work(session: Session, client: Client) -> None:
            user = _ops_user(session, as_)
            result = await repair.retry_all(session, client, user=user, reason=reason)
            for outcome in result.outcomes:
                style = "green" if outcome.outcome == "done" else "yellow"
                console.print(f"[{style}]{outcome.workflow_id}: {outcome.outcome}[/{style}]")
            console.print(f"{result.done} resumed, {result.refused} refused")

        _run(work)
