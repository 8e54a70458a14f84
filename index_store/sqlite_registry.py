"""The source registry in SQLite (embedded mode): one row a source, beside the Chroma index.

It holds each source's metadata and its full text, so the index can always be
rebuilt (``reindex``) after a model or chunking change.  A source is
``pending`` while its chunks are being written and ``ready`` once they all
are; readers only see ready sources, so a crash never shows half a source.
A ``generation`` counter changes with every committed change, so readers can
tell cheaply whether their caches are stale.

One file holds every space: each row (source or meta value) carries its space, and a
registry object sees only the space it was opened for.  A file written before spaces
existed is migrated on its first writable open (every source goes to ``default``, in one
transaction: a crash leaves the old layout, and the next open migrates it); opened
read-only, such a file reads as the ``default`` space without being changed, and every read
first checks, in the same read transaction, whether another process has migrated it since: if
so the registry reads the new layout from then on, never another space's rows as its own.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from common.errors import StoreError
from common.spaces import DEFAULT_SPACE
from index_store.registry import PENDING, SourceRecord, decode_note, note_key

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (
    space TEXT NOT NULL,
    id TEXT NOT NULL,
    title TEXT NOT NULL,
    origin TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    added_by TEXT NOT NULL,
    added_at TEXT NOT NULL,
    chunk_count INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('pending', 'ready')),
    text TEXT NOT NULL,
    PRIMARY KEY (space, id)
);
CREATE INDEX IF NOT EXISTS sources_space_hash ON sources (space, content_hash);
CREATE TABLE IF NOT EXISTS meta (space TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (space, key));
"""
log = logging.getLogger(__name__)

_COLUMNS = "id, title, origin, content_hash, added_by, added_at, chunk_count, status"
_ALL = _COLUMNS + ", text"
# The layout before spaces: the same tables without the space column.
_MIGRATE = f"""
ALTER TABLE sources RENAME TO sources_unspaced;
ALTER TABLE meta RENAME TO meta_unspaced;
DROP INDEX IF EXISTS sources_hash;
{_SCHEMA}
INSERT INTO sources (space, {_ALL}) SELECT '{DEFAULT_SPACE}', {_ALL} FROM sources_unspaced;
INSERT INTO meta SELECT '{DEFAULT_SPACE}', key, value FROM meta_unspaced;
DROP TABLE sources_unspaced;
DROP TABLE meta_unspaced;
"""
# Read-only, the old layout is shown as the default space (temporary views shadow the tables).
_READ_UNSPACED = f"""
CREATE TEMP VIEW sources AS SELECT '{DEFAULT_SPACE}' AS space, {_ALL} FROM main.sources;
CREATE TEMP VIEW meta AS SELECT '{DEFAULT_SPACE}' AS space, key, value FROM main.meta;
"""
# ...until another process migrates the file: then the views would label every space's rows default.
_DROP_UNSPACED = "DROP VIEW temp.sources; DROP VIEW temp.meta;"


def damaged_registry(path: Path, exc: BaseException) -> str:
    """What to say when the registry file is damaged: the file, and the way to recover."""
    return (
        f"the source registry {path} is damaged ({exc}); restore the store from a backup: move "
        f"{path.parent} aside, then run python -m ingest import BACKUP_FILE"
    )


class SqliteRegistry:
    """The registry in a SQLite file beside the embedded Chroma store (thread-safe)."""

    def __init__(self, path: Path, *, space: str = DEFAULT_SPACE, read_only: bool = False) -> None:
        self.path = path
        self.space = space
        self._lock = threading.RLock()
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = self._connect(path, read_only)
            # read-only over the old layout: the schema version the views were made for
            self._old_layout: int | None = self._schema_version() if read_only and _unspaced(self._db) else None
        except sqlite3.DatabaseError as exc:  # a truncated or garbage file: one line, not a traceback
            raise StoreError(damaged_registry(path, exc)) from None

    def _schema_version(self) -> int:
        return int(self._db.execute("PRAGMA main.schema_version").fetchone()[0])

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """The connection for one read. Over the old layout, read-only, the read runs in a
        transaction that first checks that nobody migrated the file since the last read."""
        with self._lock:
            if self._old_layout is None:
                yield self._db
                return
            self._db.execute("BEGIN")
            try:
                version = self._schema_version()
                if version != self._old_layout:
                    self._old_layout = version
                    if not _unspaced(self._db):
                        for statement in _DROP_UNSPACED.split(";")[:-1]:
                            self._db.execute(statement)
                        self._old_layout = None
                        log.info("%s was migrated to spaces by another process; reading it as it is now", self.path)
                yield self._db
            finally:
                self._db.execute("COMMIT")

    @staticmethod
    def _connect(path: Path, read_only: bool) -> sqlite3.Connection:
        if read_only:
            # Nothing is created or written: a missing file reads as an empty registry.
            target = f"file:{path}?mode=ro" if path.is_file() else "file::memory:"
            db = sqlite3.connect(target, uri=True, check_same_thread=False, isolation_level=None, timeout=30)
        else:
            db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        try:
            if not read_only:
                db.execute("PRAGMA journal_mode=WAL")
                # NORMAL in WAL mode survives any process crash; only a power cut can drop the last
                # commits, which leaves those sources pending or absent, never half there.
                db.execute("PRAGMA synchronous=NORMAL")
            if _unspaced(db):
                db.executescript(_READ_UNSPACED if read_only else f"BEGIN IMMEDIATE;{_MIGRATE}COMMIT;")
            if not read_only or not path.is_file():
                db.executescript(_SCHEMA)
            db.execute("SELECT COUNT(*), MAX(LENGTH(id)) FROM sources").fetchone()  # reads the whole table
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._bump(self._db)
            self._db.execute("COMMIT")

    def _bump(self, db: sqlite3.Connection) -> None:
        db.execute(
            "INSERT INTO meta (space, key, value) VALUES (?, 'generation', '1') "
            "ON CONFLICT(space, key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
            (self.space,),
        )

    # -- reads ---------------------------------------------------------------
    def generation(self) -> str:
        with self._reading() as db:
            row = db.execute("SELECT value FROM meta WHERE space = ? AND key = 'generation'", (self.space,)).fetchone()
        return str(row[0]) if row else "0"

    def get(self, source_id: str) -> SourceRecord | None:
        with self._reading() as db:
            row = db.execute(
                f"SELECT {_COLUMNS} FROM sources WHERE space = ? AND id = ?", (self.space, source_id)
            ).fetchone()
        return SourceRecord(*row) if row else None

    def by_hash(self, content_hash: str) -> list[SourceRecord]:
        with self._reading() as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM sources WHERE space = ? AND content_hash = ? ORDER BY id",
                (self.space, content_hash),
            ).fetchall()
        return [SourceRecord(*r) for r in rows]

    def all(self, status: str | None = None) -> list[SourceRecord]:
        query = f"SELECT {_COLUMNS} FROM sources WHERE space = ?"
        args: tuple[str, ...] = (self.space,)
        if status is not None:
            query += " AND status = ?"
            args += (status,)
        with self._reading() as db:
            rows = db.execute(query + " ORDER BY added_at, id", args).fetchall()
        return [SourceRecord(*r) for r in rows]

    def ready_ids(self) -> set[str]:
        with self._reading() as db:
            rows = db.execute("SELECT id FROM sources WHERE space = ? AND status = 'ready'", (self.space,)).fetchall()
        return {r[0] for r in rows}

    def text(self, source_id: str) -> str | None:
        with self._reading() as db:
            row = db.execute("SELECT text FROM sources WHERE space = ? AND id = ?", (self.space, source_id)).fetchone()
        return row[0] if row else None

    def count(self) -> int:
        with self._reading() as db:
            return int(db.execute("SELECT COUNT(*) FROM sources WHERE space = ?", (self.space,)).fetchone()[0])

    def get_meta(self, key: str) -> str | None:
        with self._reading() as db:
            row = db.execute("SELECT value FROM meta WHERE space = ? AND key = ?", (self.space, key)).fetchone()
        return row[0] if row else None

    def note(self, source_id: str) -> dict[str, Any]:
        return decode_note(source_id, self.get_meta(note_key(source_id)))

    def spaces(self) -> list[str]:
        with self._reading() as db:
            return [row[0] for row in db.execute("SELECT DISTINCT space FROM sources ORDER BY space")]

    # -- writes --------------------------------------------------------------
    def begin(self, record: SourceRecord, text: str) -> None:
        """Insert or replace a source as pending (its chunks are about to be written)."""
        self.begin_many([(record, text)])

    def begin_many(self, items: list[tuple[SourceRecord, str]]) -> None:
        with self._tx() as db:
            db.executemany(
                f"INSERT OR REPLACE INTO sources (space, {_COLUMNS}, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (self.space, r.id, r.title, r.origin, r.content_hash, r.added_by, r.added_at, 0, PENDING, text)
                    for r, text in items
                ],
            )

    def mark_pending(self, source_id: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE sources SET status = 'pending' WHERE space = ? AND id = ?", (self.space, source_id))

    def commit(self, source_id: str, chunk_count: int) -> None:
        """Mark a source ready: all its chunks are in the index."""
        self.commit_many([(source_id, chunk_count)])

    def commit_many(self, items: list[tuple[str, int]]) -> None:
        with self._tx() as db:
            db.executemany(
                "UPDATE sources SET status = 'ready', chunk_count = ? WHERE space = ? AND id = ?",
                [(n, self.space, sid) for sid, n in items],
            )

    def delete(self, source_id: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM sources WHERE space = ? AND id = ?", (self.space, source_id))
            db.execute("DELETE FROM meta WHERE space = ? AND key = ?", (self.space, note_key(source_id)))

    def set_note(self, source_id: str, note: dict[str, Any]) -> None:
        with self._lock:  # not a change of the sources: no transaction bumping the generation
            if note:
                self._db.execute(
                    "INSERT INTO meta (space, key, value) VALUES (?, ?, ?) "
                    "ON CONFLICT(space, key) DO UPDATE SET value = excluded.value",
                    (self.space, note_key(source_id), json.dumps(note)),
                )
            else:
                self._db.execute("DELETE FROM meta WHERE space = ? AND key = ?", (self.space, note_key(source_id)))

    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO meta (space, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT(space, key) DO UPDATE SET value = excluded.value",
                (self.space, key, value),
            )


def _unspaced(db: sqlite3.Connection) -> bool:
    """A registry written before spaces: a sources table without the space column."""
    columns = {row[1] for row in db.execute("PRAGMA main.table_info(sources)")}
    return bool(columns) and "space" not in columns
