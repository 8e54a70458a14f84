"""Small JSON documents by key, kept beside the store: per-space settings, thread histories, sync state.

Embedded, a SQLite file in the store directory (one table); in server mode, a collection of the
Chroma server (the JSON as the document, a one-number placeholder vector), so every bot process
on that server reads and writes the same values.  Keys are ``"<space>/<name>"``; reads are never
cached here, so a value another process wrote is seen on the next read.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any, Protocol

from common.settings import Settings
from index_store.chroma import chroma_client, open_collection

_PLACEHOLDER = [0.0]


class KeyValue(Protocol):
    def get(self, key: str) -> dict[str, Any] | None: ...
    def put(self, key: str, value: dict[str, Any]) -> None: ...
    def delete(self, key: str) -> None: ...
    def items(self, prefix: str = "") -> list[tuple[str, dict[str, Any]]]: ...
    def close(self) -> None: ...


def open_kv(settings: Settings, name: str) -> KeyValue:
    """The named key-value table of this configuration's store."""
    if settings.store.mode == "server":
        client = chroma_client(settings.store, settings.store_path, False)
        return ChromaKV(client, f"{settings.store.collection_prefix}-{name}")
    return SqliteKV(settings.store_path / f"{name}.sqlite3")


def sqlite_file(path: Path) -> sqlite3.Connection:
    """A SQLite file of the store directory, shared by threads (callers hold their own lock)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    return db


class SqliteKV:
    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = sqlite_file(path)
        self._db.execute("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return dict(json.loads(row[0])) if row else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value)),
            )

    def delete(self, key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM kv WHERE key = ?", (key,))

    def items(self, prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self._lock:
            rows = self._db.execute(
                "SELECT key, value FROM kv WHERE key LIKE ? ESCAPE '\\' ORDER BY key", (pattern,)
            ).fetchall()
        return [(key, dict(json.loads(value))) for key, value in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()


class ChromaKV:
    def __init__(self, client: Any, name: str) -> None:
        self._col = open_collection(client, name, {"citebot": "kv"}, False)

    def get(self, key: str) -> dict[str, Any] | None:
        got = self._col.get(ids=[key], include=["documents"])
        return dict(json.loads(got["documents"][0])) if got["ids"] else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        self._col.upsert(ids=[key], embeddings=[_PLACEHOLDER], documents=[json.dumps(value)], metadatas=[{"k": 1}])

    def delete(self, key: str) -> None:
        self._col.delete(ids=[key])

    def items(self, prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
        got = self._col.get(include=["documents"])
        found = [(k, dict(json.loads(d))) for k, d in zip(got["ids"], got["documents"], strict=True)]
        return sorted((k, v) for k, v in found if k.startswith(prefix))

    def close(self) -> None:
        return
