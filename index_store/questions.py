"""The record of questions asked in each space, for moderators' insights (``insights/``).

One row a question: when, where it was asked, whether it was answered, the reader's
confidence, the sources and paragraphs cited, the votes it got, and the vector it was
searched with (so questions can be grouped by meaning without encoding them again).  Never
who asked.  Embedded, a SQLite file beside ``feedback.sqlite3``; in server mode a collection
of the Chroma server (``<prefix>-questions``), as the server settings are, so every bot
process records into and reports from the same place.

Reads never create anything: a record file that is not there reads as no questions.  A
damaged file is a ``StoreError`` saying which file and what to do, on every call (the file
is opened afresh after a failure, so moving it aside is enough).
"""

from __future__ import annotations

import base64
import json
import logging
import sqlite3
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from common.errors import StoreError
from common.settings import Settings
from index_store.chroma import chroma_client, open_collection
from index_store.kv import sqlite_file

log = logging.getLogger(__name__)

FILE_NAME = "questions.sqlite3"
_PLACEHOLDER = [0.0]


@dataclass(frozen=True)
class QuestionRecord:
    id: str
    space: str
    at: float  # seconds since the epoch (UTC)
    where: str  # slash, mention, forum, menu, terminal
    question: str  # as typed
    answered: bool
    confidence: float
    citations: tuple[tuple[str, int], ...] = ()  # (source id, paragraph), in the answer's order
    helpful: int = 0  # votes
    not_helpful: int = 0
    vector: np.ndarray | None = field(default=None, repr=False, compare=False)  # float32, or None

    def fields(self) -> dict[str, Any]:
        """What is kept as JSON (everything but id, space, time, votes and vector)."""
        return {
            "where": self.where,
            "question": self.question,
            "answered": self.answered,
            "confidence": round(float(self.confidence), 4),
            "citations": [list(c) for c in self.citations],
        }

    @classmethod
    def parse(cls, rid: str, space: str, at: float, data: dict[str, Any], **extra: Any) -> QuestionRecord:
        return cls(
            id=rid,
            space=space,
            at=float(at),
            where=str(data.get("where", "")),
            question=str(data.get("question", "")),
            answered=bool(data.get("answered")),
            confidence=float(data.get("confidence") or 0.0),
            citations=tuple((str(s), int(p)) for s, p in data.get("citations", [])),
            **extra,
        )


def pack_vector(vector: np.ndarray | None) -> bytes | None:
    """Half precision: half the bytes, and cosine similarities move in the third decimal at most."""
    return None if vector is None else np.asarray(vector, dtype=np.float16).tobytes()


def unpack_vector(data: bytes | None) -> np.ndarray | None:
    return None if not data else np.frombuffer(data, dtype=np.float16).astype(np.float32)


class QuestionLog(Protocol):
    def add(self, record: QuestionRecord) -> None: ...
    def vote(self, space: str, record_id: str, helpful: bool) -> bool: ...
    def read(self, space: str, since: float | None = None) -> list[QuestionRecord]: ...
    def count(self, space: str) -> int: ...
    def clear(self, space: str) -> int: ...
    def prune(self, before: float) -> int: ...
    def close(self) -> None: ...


def open_question_log(settings: Settings) -> QuestionLog:
    """This configuration's question record (opened on first use)."""
    if settings.store.mode == "server":
        return ChromaQuestionLog(settings)
    return SqliteQuestionLog(settings.store_path / FILE_NAME)


def damaged_records(path: Path, exc: BaseException) -> str:
    return (
        f"the question records {path} are damaged ({exc}); answering is not affected. Move the file "
        "aside (or delete it) and recording starts afresh"
    )


_SCHEMA = """
CREATE TABLE IF NOT EXISTS questions (
    id TEXT PRIMARY KEY,
    space TEXT NOT NULL,
    at REAL NOT NULL,
    answered INTEGER NOT NULL,
    helpful INTEGER NOT NULL DEFAULT 0,
    not_helpful INTEGER NOT NULL DEFAULT 0,
    data TEXT NOT NULL,
    vector BLOB
);
CREATE INDEX IF NOT EXISTS questions_space_at ON questions (space, at);
CREATE INDEX IF NOT EXISTS questions_at ON questions (at);
"""


class SqliteQuestionLog:
    """Thread-safe; the connection is opened on first use (and again after a failure)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def _connect(self, *, create: bool) -> sqlite3.Connection | None:
        if self._db is not None:
            return self._db
        if not create and not self.path.is_file():
            return None
        db = sqlite_file(self.path, damaged_records)
        try:
            # NORMAL in WAL mode survives a process crash; a power cut may drop the last few records
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
        except sqlite3.DatabaseError:
            db.close()
            raise
        self._db = db
        return db

    def _run(self, create: bool, work: Any) -> Any:
        """``work(db)`` under the lock; None when there is no file and ``create`` is false."""
        with self._lock:
            try:
                db = self._connect(create=create)
                return None if db is None else work(db)
            except sqlite3.DatabaseError as exc:
                if self._db is not None:
                    self._db.close()
                    self._db = None
                raise StoreError(damaged_records(self.path, exc)) from None

    def add(self, record: QuestionRecord) -> None:
        row = (
            record.id,
            record.space,
            record.at,
            int(record.answered),
            record.helpful,
            record.not_helpful,
            json.dumps(record.fields(), ensure_ascii=False),
            pack_vector(record.vector),
        )
        self._run(True, lambda db: db.execute("INSERT OR REPLACE INTO questions VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row))

    def vote(self, space: str, record_id: str, helpful: bool) -> bool:
        column = "helpful" if helpful else "not_helpful"
        query = f"UPDATE questions SET {column} = {column} + 1 WHERE id = ? AND space = ?"
        cur = self._run(True, lambda db: db.execute(query, (record_id, space)))
        return bool(cur is not None and cur.rowcount)

    def read(self, space: str, since: float | None = None) -> list[QuestionRecord]:
        query = (
            "SELECT id, at, helpful, not_helpful, data, vector FROM questions WHERE space = ? AND at >= ? ORDER BY at"
        )
        rows = self._run(False, lambda db: db.execute(query, (space, -1.0 if since is None else since)).fetchall())
        return [
            QuestionRecord.parse(rid, space, at, json.loads(data), helpful=h, not_helpful=n, vector=unpack_vector(blob))
            for rid, at, h, n, data, blob in rows or []
        ]

    def count(self, space: str) -> int:
        query = "SELECT COUNT(*) FROM questions WHERE space = ?"
        row = self._run(False, lambda db: db.execute(query, (space,)).fetchone())
        return int(row[0]) if row else 0

    def clear(self, space: str) -> int:
        cur = self._run(False, lambda db: db.execute("DELETE FROM questions WHERE space = ?", (space,)))
        return int(cur.rowcount) if cur is not None else 0

    def prune(self, before: float) -> int:
        cur = self._run(False, lambda db: db.execute("DELETE FROM questions WHERE at < ?", (before,)))
        return int(cur.rowcount) if cur is not None else 0

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


class ChromaQuestionLog:
    """One record a question in a collection of the Chroma server: the fields as the document
    (with the vector in base64 and the votes), space, time and outcome as metadata to filter on,
    and a placeholder embedding (the question's own vector may change size with the model)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._name = f"{settings.store.collection_prefix}-questions"
        self._lock = threading.Lock()
        self._col: Any = None

    def _collection(self, *, create: bool) -> Any:
        if self._col is None:
            client = chroma_client(self._settings.store, self._settings.store_path, False)
            col = open_collection(client, self._name, {"citebot": "questions"}, read_only=not create)
            if col is None:
                return None
            self._col = col
        return self._col

    @staticmethod
    def _document(record: QuestionRecord) -> str:
        packed = pack_vector(record.vector)
        extra = {"helpful": record.helpful, "not_helpful": record.not_helpful}
        if packed is not None:
            extra["vector"] = base64.b64encode(packed).decode("ascii")  # type: ignore[assignment]
        return json.dumps(record.fields() | extra, ensure_ascii=False)

    @staticmethod
    def _parse(rid: str, meta: dict[str, Any], document: str) -> QuestionRecord:
        data = json.loads(document)
        vector = unpack_vector(base64.b64decode(data["vector"])) if data.get("vector") else None
        return QuestionRecord.parse(
            rid,
            str(meta["space"]),
            float(meta["at"]),
            data,
            helpful=int(data.get("helpful", 0)),
            not_helpful=int(data.get("not_helpful", 0)),
            vector=vector,
        )

    def add(self, record: QuestionRecord) -> None:
        meta = {"space": record.space, "at": record.at, "answered": int(record.answered)}
        self._collection(create=True).upsert(
            ids=[record.id], embeddings=[_PLACEHOLDER], documents=[self._document(record)], metadatas=[meta]
        )

    def vote(self, space: str, record_id: str, helpful: bool) -> bool:
        with self._lock:  # one process's votes in turn; two hosts voting at once may lose one
            col = self._collection(create=True)
            got = col.get(ids=[record_id], include=["documents", "metadatas"])
            if not got["ids"] or got["metadatas"][0].get("space") != space:
                return False
            record = self._parse(record_id, got["metadatas"][0], got["documents"][0])
            voted = (
                replace(record, helpful=record.helpful + 1)
                if helpful
                else replace(record, not_helpful=record.not_helpful + 1)
            )
            # with its placeholder vector: a document alone would be embedded by Chroma's default function
            col.update(ids=[record_id], embeddings=[_PLACEHOLDER], documents=[self._document(voted)])
        return True

    def read(self, space: str, since: float | None = None) -> list[QuestionRecord]:
        col = self._collection(create=False)
        if col is None:
            return []
        where: dict[str, Any] = {"space": space}
        if since is not None:
            where = {"$and": [{"space": space}, {"at": {"$gte": since}}]}
        got = col.get(where=where, include=["documents", "metadatas"])
        found = [
            self._parse(rid, meta, doc)
            for rid, meta, doc in zip(got["ids"], got["metadatas"], got["documents"], strict=True)
        ]
        return sorted(found, key=lambda r: r.at)

    def count(self, space: str) -> int:
        col = self._collection(create=False)
        return 0 if col is None else len(col.get(where={"space": space}, include=[])["ids"])

    def _delete(self, where: dict[str, Any]) -> int:
        col = self._collection(create=False)
        if col is None:
            return 0
        ids = col.get(where=where, include=[])["ids"]
        if ids:
            col.delete(ids=ids)
        return len(ids)

    def clear(self, space: str) -> int:
        return self._delete({"space": space})

    def prune(self, before: float) -> int:
        return self._delete({"at": {"$lt": before}})

    def close(self) -> None:
        return
