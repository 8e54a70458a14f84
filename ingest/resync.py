"""Re-sync a space's URL sources: fetch each again, cheaply, and replace it if it changed.

Each fetch is conditional (``If-None-Match`` / ``If-Modified-Since`` with the validators of the
last one), so an unchanged page costs a 304 and no body; a page sent again with the same
content is caught by its content hash and writes nothing.  A changed page replaces that
source's chunks through the one writer.  A failure is reported once (``first_failure``) and
then kept quiet until the source syncs again (``recovered``).  The validators, the failing flag
and when it was last checked are kept in the source's note in the registry (``Sources.sync_state``),
so they go with the source: a source removed and added again starts afresh.  When each space last
ran is kept in the store's ``sync`` table (``index_store/kv.py``).

A moderator's refresh (``/source refresh``, ``python -m ingest refresh``) is the same two steps
for one source: a page that has not changed since it was last fetched costs no body.

A re-sync is two steps, so a slow page never holds up anyone else's writes: ``check`` fetches
(no writes, no lock needed) and ``apply`` writes what it found (the caller holds the write lock).
Sources are checked least recently checked first, so a run cut short by its time bound
(``bot.resync_run_seconds``) starts the next run where it stopped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from common.errors import SourceError, UserError
from index_store.kv import KeyValue
from index_store.registry import SourceRecord
from ingest.loaders import LoadedSource
from ingest.sources import Incoming, SourceGone, Sources, is_url

log = logging.getLogger(__name__)

NOT_MODIFIED = "the page has not changed since it was last fetched (nothing was downloaded)"
# gone: removed (or replaced by another source) while it was being fetched; nothing to report
Status = Literal["not-modified", "unchanged", "replaced", "failed", "gone"]


@dataclass(frozen=True)
class SyncResult:
    source_id: str
    title: str
    status: Status
    detail: str = ""
    chunks: int = 0  # a replaced source's
    first_failure: bool = False  # failed, and had not been failing: tell the moderators
    recovered: bool = False  # synced again after failing: tell the moderators


@dataclass(frozen=True)
class Checked:
    """A URL source fetched again, not yet written: the page's text, or that it had not changed
    (``loaded`` None, no ``error``), or why the fetch failed."""

    record: SourceRecord
    url: str  # the URL fetched (the full one, when the origin shows it redacted)
    loaded: LoadedSource | None = None
    validators: dict[str, Any] = field(default_factory=dict)
    error: str = ""


class Resyncer:
    """Re-syncs the URL sources of any space; when each space last ran is kept in ``runs``."""

    def __init__(self, runs: KeyValue | None = None, clock: Callable[[], float] = time.time) -> None:
        """``runs``: where schedules are kept (only ``claim_if_due`` needs it)."""
        self.runs = runs
        self._clock = clock

    def url_sources(self, sources: Sources) -> list[SourceRecord]:
        """The URL sources of a space (``sources`` is that space's), least recently checked first."""
        found = [r for r in sources.records() if r.status == "ready" and is_url(r.origin)]
        return sorted(found, key=lambda r: float(sources.sync_state(r.id).get("checked", 0.0)))

    def claim_if_due(self, space: str, every_hours: float) -> bool:
        """Whether a re-sync of ``space`` is due now; if so it is recorded as started, so another
        bot process sharing the store does not start the same one."""
        if every_hours <= 0 or self.runs is None:
            return False
        last = self.runs.get(f"{space}/last-run") or {}
        now = self._clock()
        if now - float(last.get("at", 0.0)) < every_hours * 3600:
            return False
        self.runs.put(f"{space}/last-run", {"at": now})
        return True

    def check(self, sources: Sources, record: SourceRecord, timeout: float | None = None) -> Checked:
        """Fetch a URL source again, conditionally; writes nothing. ``timeout`` may shorten the fetch."""
        state = sources.sync_state(record.id)
        if state.get("hash") != record.content_hash:  # validators belong to the content sent with them
            state = {}
        try:
            url = sources.fetch_url(record)
            got = sources.fetch(url, timeout=timeout, etag=state.get("etag"), last_modified=state.get("last_modified"))
            if got.not_modified:  # a 304 need not repeat the validators: keep the ones we sent
                kept = {"etag": got.etag or state.get("etag"), "last_modified": state.get("last_modified")}
                return Checked(record, url, validators=kept)
            validators = {"etag": got.etag, "last_modified": got.last_modified}
            return Checked(record, url, sources.load(got), validators)
        except UserError as exc:
            return Checked(record, record.origin, error=str(exc))

    def apply(self, sources: Sources, checked: Checked, added_by: str | None = None) -> SyncResult:
        """Write what ``check`` found; the caller holds the write lock. ``added_by``: who a
        replaced source is recorded as added by (default: whoever added it)."""
        record = checked.record
        state = sources.sync_state(record.id)
        try:
            sources.check_still_there(record)  # removed while it was fetched: nothing to write or keep
        except SourceGone as exc:
            return SyncResult(record.id, record.title, "gone", str(exc))
        try:
            if checked.error:
                raise SourceError(checked.error)
            status, content_hash, chunks = self._write(sources, checked, added_by or record.added_by)
        except UserError as exc:
            log.info("re-sync of %s failed: %s", record.id, exc)
            failing = bool(state.get("failing"))
            sources.keep_sync_state(record.id, state | {"failing": True, "checked": self._clock()})
            return SyncResult(record.id, record.title, "failed", str(exc), first_failure=not failing)
        kept = {"hash": content_hash, **checked.validators, "failing": False, "checked": self._clock()}
        sources.keep_sync_state(record.id, kept)
        return SyncResult(record.id, record.title, status, chunks=chunks, recovered=bool(state.get("failing")))

    @staticmethod
    def _write(sources: Sources, checked: Checked, added_by: str) -> tuple[Status, str, int]:
        record, loaded = checked.record, checked.loaded
        if loaded is None:
            return "not-modified", record.content_hash, record.chunk_count
        fetch_url = checked.url if checked.url != record.origin else None
        incoming = Incoming(record.id, record.origin, lambda: loaded, fetch_url)
        outcome = sources.add(incoming, added_by=added_by, force=True, loaded=loaded)
        if outcome.status == "duplicate":
            raise SourceError(f"the page now has the {outcome.detail}; kept the earlier text")
        if outcome.status == "replaced":
            log.info("re-sync replaced %s (%d chunks)", record.id, outcome.chunks)
        replaced = sources.ingestor.store.registry.get(record.id)
        status: Status = "replaced" if outcome.status == "replaced" else "unchanged"
        return status, replaced.content_hash if replaced else record.content_hash, outcome.chunks
