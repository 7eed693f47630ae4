"""GDPR for members: the export of one's data (art. 15 and 20) and the erasure (art. 17), for the API and the portal.

The export is a zip: `data.json` (the account, the organisation or the expert profile, the missions the member
took part in exactly as the member may see them (`domain.visibility`), the message threads the member may read, the
notices, the sessions) and `documents/` (each mission's documents the member may see, and the member's own fee
invoices). The erasure (`store.privacy.erase`) pseudonymises what the law does not keep and stops the member's
membership workflow; it is refused while a running mission still needs the member.
"""

from __future__ import annotations

import io
import json
import zipfile
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

import anyio
import structlog
from fastapi import HTTPException, status
from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio.client import Client
from temporalio.service import RPCError

from api.deps import forget_user, release_connection
from api.routers.missions import detail_for
from api.routers.notifications import feed
from api.schemas.accounts import UserRead
from api.schemas.profiles import ExpertProfileRead, OrganisationRead
from api.views import sees_documents
from config.crypto import DataCipher
from documents.store import DocumentNotFoundError, DocumentStore
from store import messaging, privacy
from store import missions as queries
from store.access import sights
from store.account_security import open_sessions
from store.legal_data import versions
from store.models.community import Expert, Organisation, User
from store.models.legal import DocumentRecord, InvoiceRecord

EXPORT_MEDIA_TYPE = "application/zip"

log = structlog.get_logger(__name__)


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def export(session: Session, cipher: DataCipher, store: DocumentStore, user: User) -> bytes:
    """The member's data as a zip (data.json + documents/)."""
    data: dict[str, Any] = {
        "exported_at": datetime.now(UTC).isoformat(),
        "account": UserRead.model_validate(user).model_dump(mode="json"),
        "sessions": [
            {"id": str(s.id), "created_at": s.created_at.isoformat(), "expires_at": s.expires_at.isoformat()}
            for s in open_sessions(session, user_id=user.id)
        ],
        "notifications": [n.model_dump(mode="json") for n in feed(session, user, limit=200).items],
    }
    files: dict[str, bytes] = {}
    missing: list[str] = []

    def add(name: str, sha256: str) -> None:
        try:
            files[name] = store.get(sha256)
        except DocumentNotFoundError:
            log.error("export: a document is missing from the store", sha256=sha256, user_id=str(user.id))
            missing.append(name)

    party = None
    if user.organisation_id is not None and (org := session.get(Organisation, user.organisation_id)) is not None:
        data["organisation"] = OrganisationRead.model_validate(org).model_dump(mode="json")
        party, buyer = ("organisation", org.id), f"client_organisation:{org.id}"
    if user.expert_id is not None and (expert := session.get(Expert, user.expert_id)) is not None:
        data["expert_profile"] = ExpertProfileRead.model_validate(expert).model_dump(mode="json")
        data["expert_profile"]["bank"] = {
            "iban": expert.iban, "bic": expert.bic, "account_number": expert.account_number,
            "aba_routing": expert.aba_routing,
        }  # fmt: skip
        party, buyer = ("expert", expert.id), f"expert:{expert.id}"
    if party is not None:
        data["legal_data_versions"] = [
            {
                "version": v.version,
                "status": v.status,
                "at": v.at.isoformat(),
                "changed": v.changed,
                "data": _json(v.data),
            }
            for v in versions(session, party[0], party[1])  # type: ignore[arg-type]
        ]
        fees = session.scalars(select(InvoiceRecord).where(InvoiceRecord.buyer_ref == buyer))
        for invoice in fees:
            doc = session.get(DocumentRecord, invoice.document_id) if invoice.document_id else None
            if doc is not None:
                add(f"documents/membership/{invoice.number}.pdf", doc.sha256)
    # the missions a member took part in (an ops account's work is the platform's, in the audit log)
    rows = queries.list_missions(session, user=user, limit=10_000)[0] if user.role != "ops" else []
    missions = []
    for sight in sights(session, user=user, missions=rows):
        mission = sight.mission
        detail = detail_for(session, sight).model_dump(mode="json")
        detail["messages"] = {
            str(expert_id): [
                {"author": m.author_name, "at": m.created_at.isoformat(), "body": m.body}
                for m in messaging.read(session, cipher, mission=mission, expert_id=expert_id, limit=10_000)
            ]
            for expert_id, _count, _last in messaging.threads(session, mission=mission, user=user)
        }
        missions.append(detail)
        if sees_documents(sight):
            records = session.scalars(
                select(DocumentRecord).where(
                    DocumentRecord.mission_id == mission.id,
                    DocumentRecord.stage != "refused",
                    DocumentRecord.kind != "evidence",  # a dispute's, sealed: opened one by one at its own route
                )
            )
            for record in records:
                name = record.file_name or f"{record.kind}-{record.number or record.id}.pdf"
                add(f"documents/{mission.id}/{record.id.hex[:8]}-{name}", record.sha256)
    data["missions"] = missions
    data["documents_missing"] = missing  # listed, not fatal: the member gets the rest, ops see the gap
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, indent=2, ensure_ascii=False, default=str))
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


async def erase(session: Session, client: Client | None, user: User, *, reason: str) -> privacy.Erasure:
    """Erase the member (409 while a running mission needs them), then stop their membership workflow."""
    if user.role == "ops":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "an ops account is closed by the platform, not erased here")

    def pseudonymise() -> privacy.Erasure:
        running = privacy.running_missions(session, user)
        if running:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                f"{len(running)} running mission(s) still need you ({', '.join(str(m) for m in running[:5])}): "
                "finish or cancel them first",
            )
        done = privacy.erase(session, user, reason=reason or "asked by the member")
        release_connection(session)
        return done

    done = await anyio.to_thread.run_sync(pseudonymise)
    forget_user(user.id)
    for member_id in done.memberships_to_stop:
        if client is None:
            break
        # no more renewal invoices to an erased member (its issued invoices stay in SQL); not running: nothing to do
        with suppress(RPCError):
            await client.get_workflow_handle(f"membership:{member_id}").terminate(reason="member erased (GDPR)")
    return done
