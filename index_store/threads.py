"""Thread conversations, kept per space and thread: the earlier questions a follow-up leans on.

Bounded: only the last ``turns`` questions are kept, a conversation idle for longer than
``max_age_hours`` is forgotten (on reading, and by ``prune``), and the bot drops a thread's
conversation when the thread is archived or deleted.  A kept conversation, even one with no
turns, also marks the thread as the bot's: its later messages are answered as follow-ups.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from index_store.kv import KeyValue


def _key(space: str, thread_id: int) -> str:
    return f"{space}/thread/{int(thread_id)}"


class ThreadHistories:
    def __init__(
        self,
        kv: KeyValue,
        *,
        turns: Callable[[], int],
        max_age_hours: Callable[[], float],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.kv = kv
        self._turns = turns
        self._max_age = max_age_hours
        self._clock = clock

    def get(self, space: str, thread_id: int) -> list[str] | None:
        """The thread's earlier questions, oldest first; None if it is not a conversation (any more)."""
        found = self.kv.get(_key(space, thread_id))
        if found is None:
            return None
        questions = found.get("questions", [])
        if self._expired(found) or not isinstance(questions, list):
            self.kv.delete(_key(space, thread_id))
            return None
        return [str(q) for q in questions]

    def record(self, space: str, thread_id: int, earlier: list[str], question: str) -> None:
        """Keep ``question`` after the ``earlier`` ones (a new thread's may hold context, such as
        a forum post's title); this also marks the thread as a conversation."""
        self._save(space, thread_id, [*earlier, question])

    def drop(self, space: str, thread_id: int) -> None:
        self.kv.delete(_key(space, thread_id))

    def prune(self) -> int:
        """Forget every conversation idle for too long, and every one that cannot be read; how
        many were dropped."""
        stale = [key for key, value in self.kv.items() if "/thread/" in key and (value is None or self._expired(value))]
        for key in stale:
            self.kv.delete(key)
        return len(stale)

    def _save(self, space: str, thread_id: int, questions: list[str]) -> None:
        keep = self._turns()
        kept = questions[-keep:] if keep > 0 else []
        self.kv.put(_key(space, thread_id), {"questions": kept, "updated": self._clock()})

    def _expired(self, value: dict[str, object]) -> bool:
        updated = value.get("updated")
        age = self._clock() - float(updated) if isinstance(updated, int | float) else float("inf")
        return age > self._max_age() * 3600
