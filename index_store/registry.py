"""The source registry: what a registry offers, and what it stores about a source.

A registry holds each source's metadata and its full text, so the index can
always be rebuilt (``reindex``) after a model or chunking change.  A source is
``pending`` while its chunks are being written and ``ready`` once they all
are; readers only see ready sources, so a crash never shows half a source.
A ``generation`` value changes with every committed change, so readers can
tell cheaply whether their caches are stale.

A registry object sees one space (``space``): its sources, ids, hashes, meta values and
generation are that space's only.

A source may have a note: a small JSON object kept beside it (the URL to fetch it from when that
URL holds secrets not to be shown, the state of its re-sync), never exported and never shown, and
deleted with the source, so a removed and re-added source starts afresh.  Writing a note is not a
change of the sources: it leaves the generation as it is.

Two implementations: ``SqliteRegistry`` (a file beside the embedded Chroma
store) and ``ChromaRegistry`` (a collection in a Chroma server, so every host
sees the same sources).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

log = logging.getLogger(__name__)

READY = "ready"
PENDING = "pending"


@dataclass(frozen=True)
class SourceRecord:
    id: str
    title: str
    origin: str
    content_hash: str
    added_by: str
    added_at: str
    chunk_count: int
    status: str

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "origin": self.origin,
            "content_hash": self.content_hash,
            "added_by": self.added_by,
            "added_at": self.added_at,
            "chunk_count": self.chunk_count,
            "status": self.status,
        }


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def note_key(source_id: str) -> str:
    """The meta key of a source's note."""
    return f"note/{source_id}"


def decode_note(source_id: str, raw: str | None) -> dict[str, Any]:
    """A stored note; an unreadable one is logged and read as no note."""
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        log.warning("ignoring the unreadable note of source %s", source_id)
        return {}
    return value


class Registry(Protocol):
    """What ingest and the engine may ask of a registry (both implementations are thread-safe)."""

    space: str

    def close(self) -> None: ...

    # -- reads ---------------------------------------------------------------
    def generation(self) -> str:
        """Changes with every committed write."""
        ...

    def get(self, source_id: str) -> SourceRecord | None: ...

    def by_hash(self, content_hash: str) -> list[SourceRecord]: ...

    def all(self, status: str | None = None) -> list[SourceRecord]:
        """Every source (or those with ``status``), oldest first."""
        ...

    def ready_ids(self) -> set[str]: ...

    def text(self, source_id: str) -> str | None:
        """The stored text of a source (what its chunks' offsets point into)."""
        ...

    def count(self) -> int: ...

    def get_meta(self, key: str) -> str | None: ...

    def note(self, source_id: str) -> dict[str, Any]:
        """The source's note ({} if it has none)."""
        ...

    def spaces(self) -> list[str]:
        """Every space that holds sources, in this registry's file or collection (for tools that
        check the whole store: ``ingest verify --all-spaces``)."""
        ...

    # -- writes --------------------------------------------------------------
    def begin(self, record: SourceRecord, text: str) -> None: ...

    def begin_many(self, items: list[tuple[SourceRecord, str]]) -> None:
        """Insert or replace sources as pending, with their text (their chunks are about to be written)."""
        ...

    def mark_pending(self, source_id: str) -> None: ...

    def commit(self, source_id: str, chunk_count: int) -> None: ...

    def commit_many(self, items: list[tuple[str, int]]) -> None:
        """Mark sources ready with their chunk counts: all their chunks are in the index."""
        ...

    def delete(self, source_id: str) -> None: ...

    def set_meta(self, key: str, value: str) -> None: ...

    def set_note(self, source_id: str, note: dict[str, Any]) -> None:
        """Replace the source's note ({} drops it); the generation does not change."""
        ...
