"""The source registry kept in the Chroma server itself (store mode "server").

With a Chroma server, every bot and ingest host must see the same sources, so
the registry lives beside the vectors: one record a source in a collection of
its own (metadata fields, the text as the document, a one-number placeholder
vector), and meta values as records of their own kind.  It offers the same
methods as ``SqliteRegistry`` (the ``Registry`` protocol); Chroma has no transactions, but the
pending/ready protocol does not need them.

Every space shares the one registry collection: a record carries its space (a metadata
field, and in its id: ``src:SPACE:ID``, ``meta:SPACE:KEY``), and every read filters on it.
Records written before spaces (no ``space`` field) are moved to ``default`` on the first
writable open: each is written under its new id before its old one is deleted, so a crash
loses nothing and the next open finishes the move.
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

from common.errors import StoreError
from common.spaces import DEFAULT_SPACE
from index_store.chroma import open_collection
from index_store.registry import PENDING, READY, SourceRecord, decode_note, note_key

_PLACEHOLDER = [0.0]
_SCHEMA_ID = "schema:spaces"  # written once every record carries its space
_FIELDS = ("title", "origin", "content_hash", "added_by", "added_at", "chunk_count", "status")


def _record(source_id: str, meta: dict[str, Any]) -> SourceRecord:
    return SourceRecord(
        id=source_id,
        title=str(meta["title"]),
        origin=str(meta["origin"]),
        content_hash=str(meta["content_hash"]),
        added_by=str(meta["added_by"]),
        added_at=str(meta["added_at"]),
        chunk_count=int(meta["chunk_count"]),
        status=str(meta["status"]),
    )


class ChromaRegistry:
    def __init__(self, client: Any, name: str, *, space: str = DEFAULT_SPACE, read_only: bool = False) -> None:
        self._lock = threading.RLock()
        self.space = space
        self._col = open_collection(client, name, {"citebot": "registry"}, read_only)
        if self._col is not None and not self._get(ids=[_SCHEMA_ID], include=[])["ids"]:
            if read_only:
                if self._get(limit=1, include=[])["ids"]:
                    raise StoreError(
                        "the source registry predates spaces; run any writing command once "
                        "(python -m ingest verify) to migrate it"
                    )
            else:
                self._migrate()

    def close(self) -> None:
        return

    # -- reads ---------------------------------------------------------------
    def generation(self) -> str:
        return self.get_meta("generation") or "0"

    def get(self, source_id: str) -> SourceRecord | None:
        got = self._get(ids=[self._sid(source_id)], include=["metadatas"])
        return _record(source_id, dict(got["metadatas"][0])) if got["ids"] else None

    def by_hash(self, content_hash: str) -> list[SourceRecord]:
        return self._find(self._sources({"content_hash": content_hash}))

    def all(self, status: str | None = None) -> list[SourceRecord]:
        where = self._sources() if status is None else self._sources({"status": status})
        return sorted(self._find(where), key=lambda r: (r.added_at, r.id))

    def ready_ids(self) -> set[str]:
        got = self._get(where=self._sources({"status": READY}), include=[])
        return {self._source_id(i) for i in got["ids"]}

    def text(self, source_id: str) -> str | None:
        got = self._get(ids=[self._sid(source_id)], include=["documents"])
        return str(got["documents"][0]) if got["ids"] else None

    def count(self) -> int:
        return len(self._get(where=self._sources(), include=[])["ids"])

    def get_meta(self, key: str) -> str | None:
        got = self._get(ids=[self._mid(key)], include=["metadatas"])
        return str(got["metadatas"][0]["value"]) if got["ids"] else None

    def note(self, source_id: str) -> dict[str, Any]:
        return decode_note(source_id, self.get_meta(note_key(source_id)))

    def spaces(self) -> list[str]:
        got = self._get(where={"kind": "source"}, include=["metadatas"])
        return sorted({str(m["space"]) for m in got["metadatas"]})

    # -- writes --------------------------------------------------------------
    def begin(self, record: SourceRecord, text: str) -> None:
        meta = {f: getattr(record, f) for f in _FIELDS} | {"kind": "source", "status": PENDING, "chunk_count": 0}
        meta["space"] = self.space
        with self._lock:
            self._col.upsert(ids=[self._sid(record.id)], embeddings=[_PLACEHOLDER], metadatas=[meta], documents=[text])
            self._bump()

    def begin_many(self, items: list[tuple[SourceRecord, str]]) -> None:
        for record, text in items:
            self.begin(record, text)

    def commit_many(self, items: list[tuple[str, int]]) -> None:
        for source_id, count in items:
            self.commit(source_id, count)

    def mark_pending(self, source_id: str) -> None:
        self._update(source_id, status=PENDING)

    def commit(self, source_id: str, chunk_count: int) -> None:
        self._update(source_id, status=READY, chunk_count=chunk_count)

    def delete(self, source_id: str) -> None:
        with self._lock:
            self._col.delete(ids=[self._sid(source_id), self._mid(note_key(source_id))])
            self._bump()

    def set_note(self, source_id: str, note: dict[str, Any]) -> None:
        with self._lock:  # not a change of the sources: the generation stays
            if note:
                self._set_meta(note_key(source_id), json.dumps(note))
            else:
                self._col.delete(ids=[self._mid(note_key(source_id))])

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._set_meta(key, value)
            if key != "generation":
                self._bump()

    # -- internals -----------------------------------------------------------
    def _get(self, **query: Any) -> Any:
        if self._col is None:  # read-only, and the registry does not exist yet
            return {"ids": [], "documents": [], "metadatas": []}
        return self._col.get(**query)

    def _find(self, where: dict[str, Any]) -> list[SourceRecord]:
        got = self._get(where=where, include=["metadatas"])
        return [_record(self._source_id(i), dict(m)) for i, m in zip(got["ids"], got["metadatas"], strict=True)]

    def _update(self, source_id: str, **changes: Any) -> None:
        with self._lock:
            got = self._get(ids=[self._sid(source_id)], include=["metadatas"])
            if not got["ids"]:
                return
            meta = dict(got["metadatas"][0]) | changes
            self._col.update(ids=[self._sid(source_id)], metadatas=[meta])
            self._bump()

    def _set_meta(self, key: str, value: str) -> None:
        meta = {"kind": "meta", "space": self.space, "value": value}
        self._col.upsert(ids=[self._mid(key)], embeddings=[_PLACEHOLDER], metadatas=[meta], documents=[""])

    def _bump(self) -> None:
        self._set_meta("generation", uuid.uuid4().hex)

    # -- spaces ----------------------------------------------------------------
    def _sources(self, also: dict[str, Any] | None = None) -> dict[str, Any]:
        """The where filter for this space's sources (and ``also``)."""
        return {"$and": [{"kind": "source"}, {"space": self.space}, *([also] if also else [])]}

    def _sid(self, source_id: str) -> str:
        return f"src:{self.space}:{source_id}"

    def _mid(self, key: str) -> str:
        return f"meta:{self.space}:{key}"

    def _source_id(self, record_id: str) -> str:
        return record_id.removeprefix(f"src:{self.space}:")

    def _migrate(self) -> None:
        """Move records written before spaces to the default space (new id first, then drop the old)."""
        with self._lock:
            got = self._col.get(include=["metadatas", "documents"])
            old = [
                (i, dict(m or {}), d)
                for i, m, d in zip(got["ids"], got["metadatas"], got["documents"], strict=True)
                if "space" not in (m or {})
            ]
            if old:
                ids = [f"{i.split(':', 1)[0]}:{DEFAULT_SPACE}:{i.split(':', 1)[1]}" for i, _, _ in old]
                self._col.upsert(
                    ids=ids,
                    embeddings=[_PLACEHOLDER] * len(old),
                    metadatas=[m | {"space": DEFAULT_SPACE} for _, m, _ in old],
                    documents=[d or "" for _, _, d in old],
                )
                self._col.delete(ids=[i for i, _, _ in old])
            self._col.upsert(
                ids=[_SCHEMA_ID], embeddings=[_PLACEHOLDER], metadatas=[{"kind": "schema", "space": ""}], documents=[""]
            )
