"""Members' verdicts on answers (helpful / not helpful), kept beside the index."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from citebot.models import Answer
from index_store.kv import sqlite_file
from index_store.registry import now_iso

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    user TEXT NOT NULL,
    helpful INTEGER NOT NULL,
    question TEXT NOT NULL,
    answered INTEGER NOT NULL,
    answer TEXT NOT NULL,
    citations TEXT NOT NULL
);
"""


class FeedbackStore:
    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = sqlite_file(path)
        self._db.executescript(_SCHEMA)

    def record(self, answer: Answer, *, user: str, helpful: bool) -> int:
        citations = json.dumps([c.to_json() for c in answer.citations], ensure_ascii=False)
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO feedback (at, user, helpful, question, answered, answer, citations) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (now_iso(), user, int(helpful), answer.question, int(answer.answered), answer.text, citations),
            )
        return int(cur.lastrowid or 0)

    def all(self) -> list[dict[str, object]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT at, user, helpful, question, answered, answer, citations FROM feedback ORDER BY id"
            ).fetchall()
        keys = ("at", "user", "helpful", "question", "answered", "answer", "citations")
        out = []
        for row in rows:
            item = dict(zip(keys, row, strict=True))
            item["helpful"] = bool(item["helpful"])
            item["answered"] = bool(item["answered"])
            item["citations"] = json.loads(str(item["citations"]))
            out.append(item)
        return out

    def close(self) -> None:
        with self._lock:
            self._db.close()
