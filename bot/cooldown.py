"""Per-user cooldown between questions, counted in each server on its own."""

from __future__ import annotations

import time
from collections.abc import Callable


class Cooldowns:
    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._last: dict[tuple[int | None, int], float] = {}

    def retry_after(self, user_id: int, seconds: float | None = None, *, server: int | None = None) -> float:
        """Seconds the user must still wait in ``server`` (None: direct messages); 0 means go
        ahead, and the clock restarts. ``seconds``: this server's cooldown, if not the default.
        A question in one server never makes the user wait in another."""
        seconds = self.seconds if seconds is None else seconds
        if seconds <= 0:
            return 0.0
        now = self._clock()
        key = (server, user_id)
        last = self._last.get(key)
        if last is not None and now - last < seconds:
            return seconds - (now - last)
        self._last[key] = now
        if len(self._last) > 10_000:
            cutoff = now - max(seconds, self.seconds)
            self._last = {k: v for k, v in self._last.items() if v >= cutoff}
        return 0.0
