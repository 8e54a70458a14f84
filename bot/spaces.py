"""The spaces the bot serves: every Discord server answers from, and manages, its own.

A server's space (``guild_space(guild.id)``) is opened on its first use, in a worker thread
under the bot's write lock: interrupted writes are finished and a new space is given the
default sources (``ingest.default_sources``) once.  Concurrent first uses of one space wait
for the same opening, so nothing is ingested twice.  Direct messages have no server: they
are answered from the ``default`` space (the one the terminal commands manage).

At most ``bot.max_open_spaces`` servers' spaces are kept open (the default space always is):
opening one more closes the least recently used.  Every use of a space holds a lease on it
(``Spaces.use``), and a space is closed only when no lease is held: a space evicted while a
question is being answered in it is closed when that answer is done.  An evicted space opens
again on its next use (its sources are in the store; its lexical index is rebuilt, or loaded
from the disk cache for a large space).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from citebot.engine import Engine
from common.settings import Settings
from common.spaces import DEFAULT_SPACE, guild_space
from index_store.embedding import Embedder
from index_store.store import Store
from ingest.pipeline import Ingestor
from ingest.sources import Sources

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Space:
    """One space's engine and sources (both over the same store)."""

    name: str
    engine: Engine
    sources: Sources
    leases: int = field(default=0, repr=False)  # uses in progress
    evicted: bool = field(default=False, repr=False)  # no longer open: close when the last use ends
    closed: bool = field(default=False, repr=False)

    @property
    def ingestor(self) -> Ingestor:
        return self.sources.ingestor

    def close(self) -> None:
        self.closed = True
        self.engine.store.close()


def space_name(guild_id: int | None) -> str:
    """The space of a server; direct messages (no server) use the default space."""
    return DEFAULT_SPACE if guild_id is None else guild_space(guild_id)


class Spaces:
    """The open spaces by name, least recently used first; the default space is open from the start."""

    def __init__(self, settings: Settings, embedder: Embedder, default: Space, write_lock: asyncio.Lock) -> None:
        self.settings = settings
        self.embedder = embedder
        self.write_lock = write_lock
        self._open: OrderedDict[str, Space] = OrderedDict({default.name: default})
        self._opening: dict[str, asyncio.Task[Space]] = {}

    @property
    def default(self) -> Space:
        return self._open[DEFAULT_SPACE]

    @property
    def capacity(self) -> int:
        """How many servers' spaces may be open at once (read each time: a setting)."""
        return self.settings.bot.max_open_spaces

    def open_names(self) -> list[str]:
        """The open spaces, least recently used first."""
        return list(self._open)

    def ready(self, name: str) -> Space | None:
        """The space if it is open already (no waiting), else None."""
        return self._open.get(name)

    @asynccontextmanager
    async def use(self, name: str, wait: float | None = None) -> AsyncIterator[Space]:
        """The space, opened if need be (``wait``: seconds to wait for that, else TimeoutError),
        and kept open until the block ends."""
        while True:
            space = await asyncio.wait_for(self.get(name), wait)
            if not space.closed:  # evicted and closed between its opening and now: open it again
                break
        space.leases += 1
        try:
            yield space
        finally:
            space.leases -= 1
            if space.evicted and space.leases == 0 and not space.closed:
                await asyncio.to_thread(space.close)

    async def get(self, name: str) -> Space:
        """The space, opened (and seeded, the first time ever) if it is not open yet; it counts as
        used now. Without a lease (``use``): for a look that does not outlive this moment."""
        space = self._open.get(name)
        if space is not None:
            self._open.move_to_end(name)
            return space
        task = self._opening.get(name)
        if task is None:
            task = asyncio.create_task(self._prepare(name), name=f"open space {name}")
            self._opening[name] = task
            task.add_done_callback(lambda _t: self._opening.pop(name, None))  # a failure is retried next time
        return await asyncio.shield(task)

    async def _prepare(self, name: str) -> Space:
        async with self.write_lock:
            space = await asyncio.to_thread(self._open_space, name)
        self._open[name] = space
        await self._evict(keep=name)
        return space

    async def _evict(self, keep: str) -> None:
        """Close the least recently used servers' spaces past the capacity (never ``keep``, the
        one just opened, nor the default space); one in use is closed when its last use ends."""
        over = len(self._open) - 1 - self.capacity
        victims = [n for n in self._open if n not in (DEFAULT_SPACE, keep)][: max(0, over)]
        for name in victims:
            space = self._open.pop(name)
            space.evicted = True
            log.info("closing space %s (least recently used of %d open)", name, self.capacity)
            if space.leases == 0:
                await asyncio.to_thread(space.close)

    def _open_space(self, name: str) -> Space:
        settings = self.settings
        # A server's space may lose its last source to a crash between a remove's registry delete
        # and its chunk delete: those chunks are never searched, and must not lock the server out
        # (an emptied registry *file* shows in the default space, checked when the bot starts).
        store = Store.from_settings(settings, space=name, accept_empty_registry=True)
        ingestor = Ingestor(settings, store=store, embedder=self.embedder)
        try:
            ingestor.prepare_space([settings.resolve(p) for p in settings.ingest.default_sources])
        except BaseException:
            store.close()
            raise
        # one sentence-vector cache for every space: memory bounded once, not once a server
        engine = Engine(settings, store, self.embedder, sentence_vectors=self.default.engine.sentence_vectors)
        return Space(name, engine, Sources(ingestor))
