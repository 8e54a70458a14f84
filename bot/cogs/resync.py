"""Scheduled upkeep: each server's URL sources re-synced on its own schedule; old conversations, the
records old buttons needed, and question records older than ``bot.insights_days`` forgotten.

A server sets its interval with ``/settings set resync_hours:`` (0, the default, is off).  Pages
are fetched outside the bot's write lock and one run is bounded in time (``bot.resync_run_seconds``).  A
changed page is announced in the announce channel; a source that fails to sync is reported to
the moderators' channel once, and again only when it recovers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

import discord
from discord.ext import commands, tasks

from bot.client import CitebotBot
from bot.formatting import md
from bot.spaces import Space
from common.spaces import guild_space
from ingest.resync import SyncResult

log = logging.getLogger(__name__)

TICK_MINUTES = 5.0  # how often schedules are looked at
PRUNE_SECONDS = 3600.0  # how often idle conversations are looked for


class UpkeepCog(commands.Cog):
    def __init__(self, bot: CitebotBot) -> None:
        self.bot = bot
        self.resyncer = bot.resyncer
        self._pruned_at = 0.0
        self.tick.start()

    async def cog_unload(self) -> None:
        self.tick.cancel()

    @tasks.loop(minutes=TICK_MINUTES)
    async def tick(self) -> None:
        """One round of upkeep. Every step is guarded: its failure is logged and the next step, and
        the next round, still run (an exception escaping here would end the loop, and with it
        every server's re-sync and pruning, until a restart)."""
        await self.bot.wait_until_ready()
        for guild in list(self.bot.guilds):
            await guarded(self.resync_if_due(guild), f"scheduled re-sync of server {guild.id}")
        now = discord.utils.utcnow().timestamp()
        if now - self._pruned_at >= PRUNE_SECONDS:
            self._pruned_at = now
            await guarded(self.prune(self.bot.histories.prune, "idle thread conversation"), "pruning conversations")
            await guarded(self.prune(self.bot.kept.prune, "record of old buttons"), "pruning buttons' records")
            await guarded(
                self.prune(lambda: self.bot.insights.prune(now), "question record"), "pruning question records"
            )

    @staticmethod
    async def prune(prune: Callable[[], int], what: str) -> None:
        dropped = await asyncio.to_thread(prune)
        if dropped:
            log.info("forgot %d %s(s) (too old, or unreadable)", dropped, what)

    async def resync_if_due(self, guild: discord.Guild) -> list[SyncResult]:
        config = await self.bot.guild_settings(guild)
        name = guild_space(guild.id)
        if not await asyncio.to_thread(self.resyncer.claim_if_due, name, config.resync_hours):
            return []
        async with self.bot.space(guild.id) as space:
            results = await self.resync(space)
        for result in results:
            if result.status == "replaced":
                text = f"Source updated: **{md(result.title)}** (`{result.source_id}`) changed at its URL."
                await self.bot.notify(guild, config.announce_channel, text)
            elif result.first_failure:
                text = f"**Re-sync failed** for `{result.source_id}`: {md(result.detail)} (reported once)"
                await self.bot.notify(guild, config.moderators_channel, text)
            elif result.recovered:
                text = f"Re-sync of `{result.source_id}` works again."
                await self.bot.notify(guild, config.moderators_channel, text)
        return results

    async def resync(self, space: Space) -> list[SyncResult]:
        """Re-sync a space's URL sources: each page is fetched outside the bot's write lock, which is
        held only to write what changed, so a slow page holds up no other server; the whole run is
        bounded by ``bot.resync_run_seconds`` (a fetch gets what is left of it), and the sources it
        did not reach are the first the next run checks."""
        deadline = time.perf_counter() + self.bot.config.resync_run_seconds  # real seconds: fetches take them
        results: list[SyncResult] = []
        due = await asyncio.to_thread(self.resyncer.url_sources, space.sources)
        for at, record in enumerate(due):
            left = deadline - time.perf_counter()
            if left <= 0:
                log.warning(
                    "re-sync of space %s stopped at its time bound; %d source(s) wait", space.name, len(due) - at
                )
                break
            checked = await asyncio.to_thread(self.resyncer.check, space.sources, record, left)
            async with self.bot.ingest_lock:
                results.append(await asyncio.to_thread(self.resyncer.apply, space.sources, checked))
        return results


async def guarded(step: Coroutine[Any, Any, Any], doing: str) -> None:
    """Run one upkeep step; a failure (a locked database, a Chroma server's hiccup) is logged."""
    try:
        await step
    except Exception:
        log.exception("%s failed; upkeep goes on", doing)


async def setup(bot: CitebotBot) -> None:
    await bot.add_cog(UpkeepCog(bot))
