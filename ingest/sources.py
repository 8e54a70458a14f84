"""Every way a source comes in: a file or directory, an upload, a URL, pasted text; and refresh.

Front ends gather input and show outcomes; everything in between is here,
the same for all of them: the kind of a source (``KINDS`` in
``ingest/loaders.py``), its size limits, its id, safe fetching
(``ingest/fetch.py``), normalising, and writing (``ingest/writer.py``).

A source on its way in is an ``Incoming``: its id, its origin, and how to read
it.  Reading may be slow (a fetch, a PDF), so front ends with an event loop
read it in a worker thread, then pass it to ``add`` (which otherwise reads it itself).

A URL's origin is what may be shown of it (``ingest/urls.py``: no credentials, secret query
values ``REDACTED``); when the URL fetched differs from it, the full URL is kept in the source's
note in the registry (never shown, never exported, deleted with the source), so a refresh or
re-sync fetches the page as it was added.  The note also keeps the page's sync state: the
validators it was sent with (for the next conditional request: refresh and re-sync alike,
``ingest/resync.py``), the content hash they belong to, whether syncing it fails, when it was
last checked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from common.errors import SourceError, UnknownSourceError
from index_store.registry import SourceRecord
from ingest.fetch import Fetched, fetch
from ingest.ids import slugify, url_name, url_source_id
from ingest.loaders import LoadedSource, kind_of, load_bytes, load_pasted
from ingest.pipeline import Ingestor
from ingest.urls import REDACTED, check_credentials, redact
from ingest.writer import Outcome

URL_SCHEMES = ("http://", "https://")


class SourceGone(SourceError):
    """A source fetched again was removed, or replaced by another one, while it was being fetched."""


@dataclass(frozen=True)
class Incoming:
    """A source on its way in: its id, where it comes from, and how to read it."""

    source_id: str
    origin: str  # what is shown and stored
    read: Callable[[], LoadedSource]
    fetch_url: str | None = None  # the URL fetched, when it holds what must not be shown


def is_url(text: str) -> bool:
    return text.startswith(URL_SCHEMES)


class Sources:
    """Adds sources of every kind to one store (through one ``Ingestor``)."""

    def __init__(self, ingestor: Ingestor) -> None:
        self.ingestor = ingestor
        self._lock = threading.Lock()
        self._records: tuple[str, list[SourceRecord]] | None = None

    # -- files and directories (the terminal) -----------------------------------
    def add_path(self, path: Path, **options: Any) -> list[Outcome]:
        """A file, or every supported file under a directory, all checked before anything is
        written (``Writer.add_path``: source_id, id_prefix, added_by, progress)."""
        return self.ingestor.add_path(path, **options)

    # -- one source at a time ----------------------------------------------------
    def check_upload(self, name: str, size: int, limit: int) -> str:
        """Refuse an upload by its name and declared size, before it is downloaded; its safe name."""
        name = Path(name).name  # never trust a path in an upload's name
        kind_of(name)
        if size > limit:
            raise SourceError(f"{name}: {size:,} bytes is over the limit of {limit:,} bytes")
        return name

    def from_upload(self, name: str, data: bytes, *, limit: int, origin: str, source_id: str | None = None) -> Incoming:
        name = self.check_upload(name, len(data), limit)
        kind = kind_of(name)
        return Incoming(source_id or slugify(Path(name).stem), origin, lambda: load_bytes(data, name, kind, limit))

    def from_url(self, url: str, *, source_id: str | None = None) -> Incoming:
        """A URL source; reading it fetches it (timeout, size cap, content type, no internal addresses)."""
        url = url.strip()
        if not is_url(url):
            raise SourceError(f"not an http(s) URL: {redact(url)[:200]}")
        check_credentials(url)
        origin = redact(url)
        fetch_url = url if origin != url else None
        return Incoming(source_id or url_source_id(url), origin, lambda: self._fetch(url), fetch_url)

    def from_text(self, title: str, text: str, *, origin: str, source_id: str | None = None) -> Incoming:
        return Incoming(source_id or slugify(title)[:60], origin, lambda: load_pasted(title, text))

    def url_record(self, source_id: str) -> SourceRecord:
        """A URL source, to fetch again (refresh, re-sync: ``ingest/resync.py``)."""
        record = self.ingestor.store.registry.get(source_id)
        if record is None:
            raise UnknownSourceError(source_id)
        if not is_url(record.origin):
            raise SourceError(f"{source_id!r} was not added from a URL, so there is nothing to fetch again")
        return record

    def fetch_url(self, record: SourceRecord) -> str:
        """The URL a URL source is fetched from: its origin, or the full URL its note keeps."""
        kept = self.ingestor.store.registry.note(record.id).get("fetch_url")
        if isinstance(kept, str) and redact(kept) == record.origin:
            return kept
        if REDACTED in record.origin:
            raise SourceError(
                f"{record.id!r}: the secret values of its URL were not kept (it was imported from a backup, "
                "which leaves them out); add it again with its full URL"
            )
        return record.origin

    def add(
        self,
        incoming: Incoming,
        *,
        added_by: str,
        force: bool = False,
        stage: Callable[[str], None] | None = None,
        loaded: LoadedSource | None = None,
    ) -> Outcome:
        """Read (unless ``loaded`` already) and write one source; a near-duplicate of another
        is reported, not added, unless ``force``."""
        loaded = loaded or incoming.read()
        outcome = self.ingestor.add_document(
            loaded, source_id=incoming.source_id, origin=incoming.origin, added_by=added_by, force=force, stage=stage
        )
        if is_url(incoming.origin) and outcome.status in ("added", "replaced", "unchanged"):
            self._keep_fetched(outcome.source_id, incoming.fetch_url, loaded.validators)
        return outcome

    def check_still_there(self, record: SourceRecord) -> None:
        """A source fetched again is written only if it is still there with the same origin: it may
        have been removed (or replaced by another source) while it was being fetched. Front ends
        call ``add`` under their write lock, so nothing changes between this check and the write."""
        current = self.ingestor.store.registry.get(record.id)
        if current is None or current.origin != record.origin:
            what = "removed" if current is None else "replaced by another source"
            raise SourceGone(f"{record.id!r} was {what} while it was being fetched; nothing was written")

    def _keep_fetched(self, source_id: str, fetch_url: str | None, validators: dict[str, str | None]) -> None:
        """Note how a URL source was just fetched: the full URL (if not its origin) and the
        validators of the text it now has."""
        registry = self.ingestor.store.registry
        note = {k: v for k, v in registry.note(source_id).items() if k != "fetch_url"}
        if fetch_url:
            note["fetch_url"] = fetch_url
        record = registry.get(source_id)
        if validators and record is not None:
            note["sync"] = {"hash": record.content_hash, **validators, "failing": False}
        registry.set_note(source_id, note)

    def sync_state(self, source_id: str) -> dict[str, Any]:
        """A URL source's sync state (validators and the hash they belong to, failing, checked)."""
        state = self.ingestor.store.registry.note(source_id).get("sync")
        return state if isinstance(state, dict) else {}

    def keep_sync_state(self, source_id: str, state: dict[str, Any]) -> None:
        registry = self.ingestor.store.registry
        registry.set_note(source_id, registry.note(source_id) | {"sync": state})

    # -- reading -----------------------------------------------------------------
    def records(self) -> list[SourceRecord]:
        """Every source; the registry is read again only when its generation changed."""
        registry = self.ingestor.store.registry
        generation = registry.generation()
        with self._lock:
            if self._records is not None and self._records[0] == generation:
                return self._records[1]
        records = registry.all()
        with self._lock:
            self._records = (generation, records)
        return records

    @property
    def space(self) -> str:
        return self.ingestor.store.space

    def fetch(
        self, url: str, *, timeout: float | None = None, etag: str | None = None, last_modified: str | None = None
    ) -> Fetched:
        """GET a URL source as every front end fetches one (the limits and allowlist of ``[ingest]``),
        conditionally when given the validators of an earlier fetch; ``timeout`` may shorten
        ``ingest.fetch_timeout``."""
        limits = self.ingestor.settings.ingest
        wait = limits.fetch_timeout if timeout is None else min(limits.fetch_timeout, timeout)
        allow = limits.fetch_allow_hosts
        return fetch(url, max_bytes=limits.max_bytes, timeout=wait, allow=allow, etag=etag, last_modified=last_modified)

    def load(self, got: Fetched) -> LoadedSource:
        """The text and title of a fetched page, with its validators."""
        limits = self.ingestor.settings.ingest
        loaded = load_bytes(got.data, url_name(got.url), got.kind, limits.max_bytes, charset=got.charset)
        return replace(loaded, validators={"etag": got.etag, "last_modified": got.last_modified})

    def _fetch(self, url: str) -> LoadedSource:
        return self.load(self.fetch(url))
