"""What buttons need after the message that carries them was sent: kept in the store, by space and token.

A button's custom id carries only a token (``bot/views.py``); what the click needs (an answer's
passages and who asked it, a source waiting to be added anyway) is kept here, so buttons work
after the bot restarts and for as long as ``max_age_hours`` (then ``get`` returns None and the
click is answered with a short note).  Records are read fresh (another bot process on the same
Chroma server may have written them) and pruned by the bot's upkeep.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

from index_store.kv import KeyValue

TOKEN_PATTERN = r"[0-9a-f]{32}"


def _key(space: str, kind: str, token: str) -> str:
    return f"{space}/{kind}/{token}"


class Kept:
    def __init__(
        self, kv: KeyValue, *, max_age_hours: Callable[[], float], clock: Callable[[], float] = time.time
    ) -> None:
        self.kv = kv
        self._max_age = max_age_hours
        self._clock = clock

    def put(self, space: str, kind: str, value: dict[str, Any]) -> str:
        """Keep ``value``; the token a button carries to find it again."""
        token = secrets.token_hex(16)
        self.kv.put(_key(space, kind, token), {"value": value, "kept": self._clock()})
        return token

    def get(self, space: str, kind: str, token: str) -> dict[str, Any] | None:
        """The kept value, or None if it is gone, too old or unreadable."""
        found = self.kv.get(_key(space, kind, token))
        value = found.get("value") if found is not None else None
        if found is None or not isinstance(value, dict) or self._expired(found):
            return None
        return value

    def update(self, space: str, kind: str, token: str, value: dict[str, Any]) -> None:
        """Replace a kept value, keeping when it was first kept (its age is the message's)."""
        found = self.kv.get(_key(space, kind, token)) or {}
        self.kv.put(_key(space, kind, token), {"value": value, "kept": found.get("kept", self._clock())})

    def delete(self, space: str, kind: str, token: str) -> None:
        self.kv.delete(_key(space, kind, token))

    def prune(self) -> int:
        """Forget every record older than the limit, and every unreadable one; how many."""
        stale = [key for key, found in self.kv.items() if found is None or self._expired(found)]
        for key in stale:
            self.kv.delete(key)
        return len(stale)

    def _expired(self, found: dict[str, Any]) -> bool:
        kept = found.get("kept")
        age = self._clock() - float(kept) if isinstance(kept, int | float) else float("inf")
        return age > self._max_age() * 3600
