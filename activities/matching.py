"""The matching activity: rank the expert directory for one need and return the shortlist and reserve list.

The active directory is kept in process as numpy arrays (``domain.matching_directory``), reloaded when the
directory signature (row count, sum of the rows' revisions, last creation: ``store.matching``) changes, compared at
every call, so an expert activated or edited a moment ago is matched by the very next need. The cache only
proposes: the best candidates are then re-read from SQL and scored again by the same scorer over a directory of
just those rows, so a lapsed membership or a changed profile is honoured even by a stale snapshot.
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
from domain.matching import DirectoryScores, MatchQuery, compile_query, score_directory, top_rows
from domain.matching_directory import DirectoryArrays
from domain.matching_explain import explain
from domain.shortlist import Candidate, ExposureRecord, ExposureWindow, Shortlist, ShortlistRequest
from domain.taxonomy import TaxonomyError, get_taxonomy, normalise_need
from store.matching import (
    DirectorySignature,
    client_org_expert_ids,
    directory_signature,
    fetch_profiles,
    load_active_profiles,
    organisation_country,
    recent_exposure_query,
    record_exposure,
    refresh_recent_shortlists,
)

RECHECK_MARGIN = 2  # the cache proposes (size + reserve) x this, SQL confirms


@dataclass
class _Snapshot:
    signature: DirectorySignature
    arrays: DirectoryArrays
    checked_at: float
    exposure_at: float  # when the recent-exposure column was last read


EXPOSURE_INTERVAL = 60.0  # seconds: how stale other workers' exposure and the window's recount may be here


class DirectoryCache:
    """The active directory as arrays, shared by every activity call of this worker process.

    `check_interval`: how long a checked snapshot is trusted without asking the database again. 0 (the default,
    what the worker uses) compares the signature at every call; a longer one is for tests that want a stale cache
    on purpose (to show that the SQL re-check alone keeps a lapsed expert out)."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        check_interval: float = 0.0,
        exposure_interval: float = EXPOSURE_INTERVAL,
    ) -> None:
        self._session_factory = session_factory
        self._check_interval = check_interval
        self._exposure_interval = exposure_interval
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
                    if now - snap.exposure_at >= self._exposure_interval:
                        # exposure changes with every shortlist, on every worker, and with the window's recount:
                        # one column re-read now and then, not a reload
                        self._read_exposure(session, snap.arrays)
                        snap.exposure_at = now
                    return snap.arrays
                arrays = DirectoryArrays.build(load_active_profiles(session), get_taxonomy())
            loaded = time.monotonic()
            self._snapshot = _Snapshot(signature, arrays, loaded, loaded)
            self.reloads += 1
            return arrays

    @staticmethod
    def _read_exposure(session: Session, arrays: DirectoryArrays) -> None:
        for expert_id, recent in session.execute(recent_exposure_query()):
            row = arrays.row_of.get(expert_id)
            if row is not None:
                arrays.recent_shortlists[row] = recent

    def note_exposure(self, expert_ids: list[uuid.UUID]) -> None:
        """Count new exposures in the cached arrays at once, so that the next proposals of this worker see them
        (the SQL re-check reads them anyway; other workers' exposure reaches this cache within the exposure
        interval)."""
        snap = self._snapshot
        if snap is None:
            return
        rows = [snap.arrays.row_of[e] for e in expert_ids if e in snap.arrays.row_of]
        if rows:
            snap.arrays.recent_shortlists[rows] += 1

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
        *,
        fair_exposure: bool = True,
    ) -> None:
        self._session_factory = session_factory
        self._fair_exposure = fair_exposure  # off only in the benchmark's comparison run
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
        query = compile_query(
            need, excluded=excluded, reference_offset_minutes=offset, fair_exposure=self._fair_exposure
        )
        arrays = self.cache.get()
        scores = score_directory(query, arrays, self._rates, tax)
        proposed = max(wanted * RECHECK_MARGIN, wanted + 10)
        while True:
            rows = top_rows(scores, arrays.id_rank, proposed)
            fresh = self._fresh_directory([arrays.profiles[int(r)].id for r in rows])
            fresh_scores = score_directory(query, fresh, self._rates, tax)
            ranked = [int(r) for r in top_rows(fresh_scores, fresh.id_rank, wanted)]
            if len(ranked) >= wanted or len(rows) < proposed:
                break
            proposed *= 2
        shortlisted, reserve = ranked[: req.size], ranked[req.size :]
        return Shortlist(
            candidates=[self._explained(query, fresh, fresh_scores, r) for r in shortlisted],
            reserve=[Candidate(expert_id=fresh.profiles[r].id, score=float(fresh_scores.score[r])) for r in reserve],
        )

    @activity.defn
    async def record_shortlist_exposure(self, record: ExposureRecord) -> int:
        """Count the shortlist's experts as exposed for this mission (idempotent: a retry counts nothing more)."""
        return await asyncio.to_thread(self.record_exposure_sync, record)

    def record_exposure_sync(self, record: ExposureRecord) -> int:
        with self._session_factory.begin() as session:
            new = record_exposure(session, record.mission_id, record.expert_ids, record.at)
        if new:
            self.cache.note_exposure(record.expert_ids)
        return new

    @activity.defn
    async def refresh_exposure_window(self, window: ExposureWindow) -> None:
        """Recount recent exposure over the window, so that old shortlists stop weighing (the schedule's job)."""
        await asyncio.to_thread(self.refresh_window_sync, window)

    def refresh_window_sync(self, window: ExposureWindow) -> None:
        with self._session_factory.begin() as session:
            refresh_recent_shortlists(session, window.now, window.window_days)
        self.cache.invalidate()

    def _fresh_directory(self, ids: list[uuid.UUID]) -> DirectoryArrays:
        """The proposed experts as their rows read now (an expert deleted meanwhile is simply absent)."""
        with self._session_factory() as session:
            fresh = fetch_profiles(session, ids)
        return DirectoryArrays.build([fresh[i] for i in ids if i in fresh], get_taxonomy())

    def _explained(self, query: MatchQuery, d: DirectoryArrays, scores: DirectoryScores, row: int) -> Candidate:
        text = explain(query, d, scores, row, self._rates)
        return Candidate(
            expert_id=d.profiles[row].id,
            score=float(scores.score[row]),
            contributions=scores.contributions(row),
            explanation_fr=text.fr,
            explanation_en=text.en,
        )
