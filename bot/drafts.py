"""Show a streaming LLM draft by editing one message, at most once a second."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable

import discord

from bot.formatting import md, trim

log = logging.getLogger(__name__)
DRAFT_PREFIX = "\u270d\ufe0f *Drafting (not yet checked against the sources)\u2026*\n"


class DraftEditor:
    """``push`` may be called from any thread; the edits run on the event loop, one at a time,
    and no sooner than ``interval`` seconds after the previous one."""

    def __init__(self, edit: Callable[[str], Awaitable[object]], interval: float = 1.0) -> None:
        self._edit = edit
        self.interval = interval
        self._loop: asyncio.AbstractEventLoop | None = None
        self._latest = ""
        self._last = 0.0
        self._busy = False
        self._closed = False
        self._context: contextvars.Context | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.edits = 0

    async def __aenter__(self) -> DraftEditor:
        self._loop = asyncio.get_running_loop()
        self._context = contextvars.copy_context()  # the edits run in the caller's context
        self._last = time.monotonic()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._closed = True
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def push(self, text: str) -> None:
        self._latest = text
        now = time.monotonic()
        if self._loop is None or self._closed or self._busy or now - self._last < self.interval:
            return
        self._busy = True
        self._last = now
        self._loop.call_soon_threadsafe(self._start, context=self._context)

    def _start(self) -> None:
        self._tasks.append(asyncio.ensure_future(self._show()))

    async def _show(self) -> None:
        try:
            if not self._closed:
                await self._edit(DRAFT_PREFIX + trim(md(self._latest), 1800))
                self.edits += 1
        except discord.HTTPException:
            log.warning("could not show the draft")
        finally:
            self._busy = False
