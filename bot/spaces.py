"""The spaces the bot serves: every Discord server answers from, and manages, its own.

A server's space (``guild_space(guild.id)``) is opened on its first use, in a worker thread
under the bot's write lock: interrupted writes are finished and a new space is given the
default sources (``ingest.default_sources``) once.  Concurrent first uses of one space wait
for the same opening, so nothing is ingested twice.  Direct messages have no server: they
are answered from the ``default`` space (the one the terminal commands manage).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from citebot.engine import Engine
from common.settings import Settings
from common.spaces import DEFAULT_SPACE, guild_space
from index_store.embedding import Embedder
from index_store.store import Store
from ingest.pipeline import Ingestor
from ingest.sources import Sources

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Space:
    """One space's engine and sources (both over the same store)."""

    name: str
    engine: Engine
    sources: Sources

    @property
    def ingestor(self) -> Ingestor:
        return self.sources.ingestor


def space_name(guild_id: int | None) -> str:
    """The space of a server; direct messages (no server) use the default space."""
    return DEFAULT_SPACE if guild_id is None else guild_space(guild_id)


class Spaces:
    """Every open space by name; the default space is open from the start."""

    def __init__(self, settings: Settings, embedder: Embedder, default: Space, write_lock: asyncio.Lock) -> None:
        self.settings = settings
        self.embedder = embedder
        self.write_lock = write_lock
        self._open: dict[str, Space] = {default.name: default}
        self._opening: dict[str, asyncio.Task[Space]] = {}

    @property
    def default(self) -> Space:
        return self._open[DEFAULT_SPACE]

    def ready(self, name: str) -> Space | None:
        """The space if it is open already (no waiting), else None."""
        return self._open.get(name)

    async def get(self, name: str) -> Space:
        """The space, opened (and seeded, the first time ever) if it is not open yet."""
        space = self._open.get(name)
        if space is not None:
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
        return space

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
