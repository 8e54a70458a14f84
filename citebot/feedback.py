"""Members' verdicts on answers (helpful / not helpful), kept beside the index, each with its space."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from citebot.models import Answer
from common.spaces import DEFAULT_SPACE
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
    citations TEXT NOT NULL,
    space TEXT NOT NULL DEFAULT 'default'
);
"""


class FeedbackStore:
    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = sqlite_file(path)
        self._db.executescript(_SCHEMA)
        if "space" not in {row[1] for row in self._db.execute("PRAGMA table_info(feedback)")}:
            # written before spaces: every verdict was on the one (now default) space
            self._db.execute(f"ALTER TABLE feedback ADD COLUMN space TEXT NOT NULL DEFAULT '{DEFAULT_SPACE}'")

    def record(self, answer: Answer, *, user: str, helpful: bool, space: str = DEFAULT_SPACE) -> int:
        citations = json.dumps([c.to_json() for c in answer.citations], ensure_ascii=False)
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO feedback (at, user, helpful, question, answered, answer, citations, space) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (now_iso(), user, int(helpful), answer.question, int(answer.answered), answer.text, citations, space),
            )
        return int(cur.lastrowid or 0)

    def all(self, space: str | None = None) -> list[dict[str, object]]:
        """Every verdict (of one space, when given), oldest first."""
        query = "SELECT at, user, helpful, question, answered, answer, citations, space FROM feedback"
        with self._lock:
            if space is None:
                rows = self._db.execute(query + " ORDER BY id").fetchall()
            else:
                rows = self._db.execute(query + " WHERE space = ? ORDER BY id", (space,)).fetchall()
        keys = ("at", "user", "helpful", "question", "answered", "answer", "citations", "space")
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
