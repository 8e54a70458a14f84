"""Small JSON documents by key, kept beside the store: per-space settings, thread histories, sync state.

Embedded, a SQLite file in the store directory (one table); in server mode, a collection of the
Chroma server (the JSON as the document, a one-number placeholder vector), so every bot process
on that server reads and writes the same values.  Keys are ``"<space>/<name>"``; reads are never
cached here, so a value another process wrote is seen on the next read.

A value that is not a JSON object (a damaged row, a hand edit: ``{oops``, ``[1,2,3]``, ``null``)
is logged and read as no value: ``get`` returns None, ``items`` gives None for it (so upkeep can
delete it), and the next ``put`` overwrites it.  One bad row never makes a server unusable.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from common.errors import StoreError
from common.settings import Settings
from index_store.chroma import chroma_client, open_collection

log = logging.getLogger(__name__)

_PLACEHOLDER = [0.0]


class KeyValue(Protocol):
    def get(self, key: str) -> dict[str, Any] | None:
        """The value of ``key``; None if there is none, or if it cannot be read."""
        ...

    def put(self, key: str, value: dict[str, Any]) -> None: ...
    def delete(self, key: str) -> None: ...
    def items(self, prefix: str = "") -> list[tuple[str, dict[str, Any] | None]]:
        """Every key under ``prefix`` with its value (None: a value that cannot be read), by key."""
        ...

    def close(self) -> None: ...


def decode(key: str, raw: str | None, where: str) -> dict[str, Any] | None:
    """A stored value, or None (logged) when it is not a JSON object."""
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        log.warning("ignoring the unreadable value of %s in %s: %.40r", key, where, raw)
        return None
    return value


def open_kv(settings: Settings, name: str) -> KeyValue:
    """The named key-value table of this configuration's store."""
    if settings.store.mode == "server":
        client = chroma_client(settings.store, settings.store_path, False)
        return ChromaKV(client, f"{settings.store.collection_prefix}-{name}")
    return SqliteKV(settings.store_path / f"{name}.sqlite3")


# What each small file beside the registry holds: all that is lost by moving a damaged one aside.
_HOLDS = {
    "space-settings": "each server's /settings (they go back to the config.toml defaults)",
    "threads": "the thread conversations kept for follow-ups",
    "sync": "when each server last re-synced (the next re-sync runs at once)",
    "feedback": "the helpful / not helpful votes",
    "kept": "what the buttons on answers and near-duplicate prompts need (those buttons stop working)",
}


def damaged_file(path: Path, exc: BaseException) -> str:
    """What to say about a damaged small file: which, and the least destructive remedy (the
    sources are in the registry and the index, which it does not touch)."""
    holds = _HOLDS.get(path.stem, "data kept beside the sources")
    return (
        f"{path} is damaged ({exc}); it holds only {holds}, not the sources. Stop the bot and move "
        f"{path.name} aside (a new one is made on the next start), or restore it from a backup"
    )


@contextmanager
def reporting_damage(path: Path, describe: Callable[[Path, BaseException], str] = damaged_file) -> Iterator[None]:
    """Turn SQLite's 'file is not a database' and the like into a StoreError naming ``path``
    (``describe``: what to say, for a file with its own remedy)."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        raise StoreError(describe(path, exc)) from None


def sqlite_file(path: Path, describe: Callable[[Path, BaseException], str] = damaged_file) -> sqlite3.Connection:
    """A SQLite file of the store directory, shared by threads (callers hold their own lock)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    with reporting_damage(path, describe):
        try:
            db.execute("PRAGMA journal_mode=WAL")
        except sqlite3.DatabaseError:
            db.close()
            raise
    return db


class SqliteKV:
    """A damaged file is a StoreError naming it (``damaged_file``), whenever it is found."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)
        self._lock = threading.Lock()
        self._db = sqlite_file(path)
        with reporting_damage(path):
            self._db.execute("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    @contextmanager
    def _using(self) -> Iterator[sqlite3.Connection]:
        with self._lock, reporting_damage(self.path):
            yield self._db

    def get(self, key: str) -> dict[str, Any] | None:
        with self._using() as db:
            row = db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return decode(key, row[0], self.where) if row else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        with self._using() as db:
            db.execute(
                "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value)),
            )

    def delete(self, key: str) -> None:
        with self._using() as db:
            db.execute("DELETE FROM kv WHERE key = ?", (key,))

    def items(self, prefix: str = "") -> list[tuple[str, dict[str, Any] | None]]:
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self._using() as db:
            rows = db.execute(
                "SELECT key, value FROM kv WHERE key LIKE ? ESCAPE '\\' ORDER BY key", (pattern,)
            ).fetchall()
        return [(key, decode(key, value, self.where)) for key, value in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()


class ChromaKV:
    def __init__(self, client: Any, name: str) -> None:
        self.where = f"the Chroma collection {name}"
        self._col = open_collection(client, name, {"citebot": "kv"}, False)

    def get(self, key: str) -> dict[str, Any] | None:
        got = self._col.get(ids=[key], include=["documents"])
        return decode(key, got["documents"][0], self.where) if got["ids"] else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        self._col.upsert(ids=[key], embeddings=[_PLACEHOLDER], documents=[json.dumps(value)], metadatas=[{"k": 1}])

    def delete(self, key: str) -> None:
        self._col.delete(ids=[key])

    def items(self, prefix: str = "") -> list[tuple[str, dict[str, Any] | None]]:
        got = self._col.get(include=["documents"])
        keys = sorted((k, d) for k, d in zip(got["ids"], got["documents"], strict=True) if k.startswith(prefix))
        return [(k, decode(k, d, self.where)) for k, d in keys]

    def close(self) -> None:
        return
