"""Re-sync a space's URL sources: fetch each again, cheaply, and replace it if it changed.

Each fetch is conditional (``If-None-Match`` / ``If-Modified-Since`` with the validators of the
last one), so an unchanged page costs a 304 and no body; a page sent again with the same
content is caught by its content hash and writes nothing.  A changed page replaces that
source's chunks through the one writer.  A failure is reported once (``first_failure``) and
then kept quiet until the source syncs again (``recovered``).  The validators and the failing
flag are kept per space and source in the store's ``sync`` table (``index_store/kv.py``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from common.errors import SourceError, UserError
from index_store.kv import KeyValue
from index_store.registry import SourceRecord
from ingest.fetch import fetch
from ingest.ids import url_name
from ingest.loaders import load_bytes
from ingest.sources import Incoming, Sources, is_url

log = logging.getLogger(__name__)

Status = Literal["not-modified", "unchanged", "replaced", "failed"]


@dataclass(frozen=True)
class SyncResult:
    source_id: str
    title: str
    status: Status
    detail: str = ""
    first_failure: bool = False  # failed, and had not been failing: tell the moderators
    recovered: bool = False  # synced again after failing: tell the moderators


class Resyncer:
    """Re-syncs the URL sources of any space; its state (validators, hashes, failures, when each
    space last ran) is kept per space in ``state``."""

    def __init__(self, state: KeyValue, clock: Callable[[], float] = time.time) -> None:
        self.state = state
        self._clock = clock

    @staticmethod
    def url_sources(sources: Sources) -> list[SourceRecord]:
        """The URL sources of a space (``sources`` is that space's)."""
        return [r for r in sources.records() if r.status == "ready" and is_url(r.origin)]

    def claim_if_due(self, space: str, every_hours: float) -> bool:
        """Whether a re-sync of ``space`` is due now; if so it is recorded as started, so another
        bot process sharing the store does not start the same one."""
        if every_hours <= 0:
            return False
        last = self.state.get(f"{space}/last-run") or {}
        now = self._clock()
        if now - float(last.get("at", 0.0)) < every_hours * 3600:
            return False
        self.state.put(f"{space}/last-run", {"at": now})
        return True

    def run(self, space: str, sources: Sources) -> list[SyncResult]:
        """Re-sync every URL source of ``space`` (whose sources are ``sources``)."""
        return [self.sync_one(space, sources, record) for record in self.url_sources(sources)]

    def sync_one(self, space: str, sources: Sources, record: SourceRecord) -> SyncResult:
        key = f"{space}/source/{record.id}"
        state = self.state.get(key) or {}
        # Validators belong to the content they were sent with: if the source was replaced by
        # other means since, fetch it whole.
        current = state.get("hash") == record.content_hash
        try:
            result = self._sync(sources, record, state if current else {})
        except UserError as exc:
            log.info("re-sync of %s failed: %s", record.id, exc)
            failing = bool(state.get("failing"))
            self.state.put(key, state | {"failing": True})
            return SyncResult(record.id, record.title, "failed", str(exc), first_failure=not failing)
        status, validators, content_hash = result
        self.state.put(key, {"hash": content_hash or record.content_hash, **validators, "failing": False})
        return SyncResult(record.id, record.title, status, recovered=bool(state.get("failing")))

    @staticmethod
    def _sync(
        sources: Sources, record: SourceRecord, state: dict[str, Any]
    ) -> tuple[Status, dict[str, Any], str | None]:
        limits = sources.ingestor.settings.ingest
        got = fetch(
            record.origin,
            max_bytes=limits.max_bytes,
            timeout=limits.fetch_timeout,
            allow=limits.fetch_allow_hosts,
            etag=state.get("etag"),
            last_modified=state.get("last_modified"),
        )
        validators = {"etag": got.etag, "last_modified": got.last_modified}
        if got.not_modified:  # a 304 need not repeat the validators: keep the ones we sent
            kept = {"etag": got.etag or state.get("etag"), "last_modified": state.get("last_modified")}
            return "not-modified", kept, None
        loaded = load_bytes(got.data, url_name(got.url), got.kind, limits.max_bytes, charset=got.charset)
        incoming = Incoming(record.id, record.origin, lambda: loaded)
        outcome = sources.add(incoming, added_by=record.added_by, force=True, loaded=loaded)
        if outcome.status == "duplicate":
            raise SourceError(f"the page now has the {outcome.detail}; kept the earlier text")
        if outcome.status == "replaced":
            log.info("re-sync replaced %s (%d chunks)", record.id, outcome.chunks)
        replaced = sources.ingestor.store.registry.get(record.id)
        return (
            "replaced" if outcome.status == "replaced" else "unchanged",
            validators,
            replaced.content_hash if replaced else None,
        )
