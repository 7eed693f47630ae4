"""The matching activity: rank the expert directory for one need and return the shortlist and reserve list.

Fast path: the active directory is kept in process as numpy arrays (``domain.matching_vector``), reloaded
when the directory signature (row count, active count, last creation) changes, checked at most every
``check_interval`` seconds. The cache only proposes: the best candidates are then re-read from SQL and
re-scored one by one, so a lapsed membership or a changed profile is honoured even between reloads.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from config.settings import Settings
from domain.fx import RatesTable
from domain.geo import COUNTRIES, DEFAULT_UTC_OFFSET_MINUTES, reference_offset
from domain.matching import ExpertProfile, MatchQuery, Scored, compile_query, rank_key, score_expert
from domain.matching_explain import explain
from domain.matching_vector import DirectoryArrays, score_directory, top_rows
from domain.shortlist import Candidate, Shortlist, ShortlistRequest
from domain.taxonomy import TaxonomyError, get_taxonomy, normalise_need
from store.matching import (
    DirectorySignature,
    client_org_expert_ids,
    directory_signature,
    fetch_profiles,
    load_active_profiles,
    organisation_country,
)

RECHECK_MARGIN = 2  # the cache proposes (size + reserve) x this, SQL confirms


@dataclass
class _Snapshot:
    signature: DirectorySignature
    arrays: DirectoryArrays
    checked_at: float


class DirectoryCache:
    """The active directory as arrays, shared by every activity call of this worker process."""

    def __init__(self, session_factory: sessionmaker[Session], check_interval: float = 1.0) -> None:
        self._session_factory = session_factory
        self._check_interval = check_interval
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None
        self.reloads = 0

    def get(self) -> DirectoryArrays:
        now = time.monotonic()
        snap = self._snapshot
        if snap is not None and now - snap.checked_at < self._check_interval:
            return snap.arrays
        with self._lock:
            snap = self._snapshot
            if snap is not None and now - snap.checked_at < self._check_interval:
                return snap.arrays
            with self._session_factory() as session:
                signature = directory_signature(session)
                if snap is not None and snap.signature == signature:
                    snap.checked_at = now
                    return snap.arrays
                arrays = DirectoryArrays.build(load_active_profiles(session), get_taxonomy())
            self._snapshot = _Snapshot(signature, arrays, time.monotonic())
            self.reloads += 1
            return arrays

    def invalidate(self) -> None:
        with self._lock:
            self._snapshot = None


class MatchingActivities:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        settings: Settings,
        rates: RatesTable | None = None,
        cache: DirectoryCache | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._settings = settings
        self._rates = rates or settings.exchange_rates.table()
        self.cache = cache or DirectoryCache(session_factory)

    @activity.defn
    async def shortlist_experts(self, req: ShortlistRequest) -> Shortlist:
        return await asyncio.to_thread(self.shortlist_sync, req)

    def shortlist_sync(self, req: ShortlistRequest) -> Shortlist:
        """The whole ranking, synchronous (the activity runs it in a thread; the bench calls it directly)."""
        try:
            need = normalise_need(req.need)
        except TaxonomyError as exc:
            raise ApplicationError(str(exc), type="InvalidNeed", non_retryable=True) from exc
        tax = get_taxonomy()
        wanted = req.size + req.reserve_size
        with self._session_factory() as session:
            excluded = set(req.exclude_expert_ids) | client_org_expert_ids(session, req.client_org_id)
            org_country = organisation_country(session, req.client_org_id)
        fallback = COUNTRIES[org_country].utc_offset_minutes if org_country in COUNTRIES else None
        offset = reference_offset(need.countries, fallback or DEFAULT_UTC_OFFSET_MINUTES)
        query = compile_query(need, excluded=excluded, reference_offset_minutes=offset)
        arrays = self.cache.get()
        scores = score_directory(query, arrays, self._rates, tax)
        proposed = max(wanted * RECHECK_MARGIN, wanted + 10)
        while True:
            rows = top_rows(scores, arrays.id_rank, proposed)
            confirmed = self._confirm(query, [arrays.profiles[int(r)].id for r in rows])
            if len(confirmed) >= wanted or len(rows) < proposed:
                break
            proposed *= 2
        ranked = confirmed[:wanted]
        shortlisted, reserve = ranked[: req.size], ranked[req.size :]
        return Shortlist(
            candidates=[self._candidate(query, s, fresh) for s, fresh in shortlisted],
            reserve=[self._candidate(query, s, fresh, explained=False) for s, fresh in reserve],
        )

    def _confirm(self, query: MatchQuery, ids: list[uuid.UUID]) -> list[tuple[Scored, ExpertProfile]]:
        with self._session_factory() as session:
            fresh = fetch_profiles(session, ids)
        tax = get_taxonomy()
        confirmed: list[tuple[Scored, ExpertProfile]] = []
        for expert_id in ids:
            profile = fresh.get(expert_id)
            if profile is None:
                continue
            scored = score_expert(query, profile, self._rates, tax)
            if scored is not None:
                confirmed.append((scored, profile))
        confirmed.sort(key=lambda pair: rank_key(pair[0]))
        return confirmed

    def _candidate(self, query: MatchQuery, s: Scored, profile: ExpertProfile, *, explained: bool = True) -> Candidate:
        if not explained:
            return Candidate(expert_id=s.expert_id, score=s.score)
        text = explain(query, profile, s, self._rates)
        return Candidate(
            expert_id=s.expert_id,
            score=s.score,
            contributions=dict(s.contributions),
            explanation_fr=text.fr,
            explanation_en=text.en,
        )
