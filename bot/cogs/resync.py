"""Scheduled upkeep: each server's URL sources re-synced on its own schedule, old conversations forgotten,
question records older than ``bot.insights_days`` deleted.

A server sets its interval with ``/settings set resync_hours:`` (0, the default, is off).  A
changed page is announced in the announce channel; a source that fails to sync is reported to
the moderators' channel once, and again only when it recovers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import discord
from discord.ext import commands, tasks

from bot.client import CitebotBot
from bot.formatting import md
from common.spaces import guild_space
from index_store.kv import open_kv
from ingest.resync import Resyncer, SyncResult

log = logging.getLogger(__name__)

TICK_MINUTES = 5.0  # how often schedules are looked at
PRUNE_SECONDS = 3600.0  # how often idle conversations are looked for


class UpkeepCog(commands.Cog):
    def __init__(self, bot: CitebotBot) -> None:
        self.bot = bot
        self.resyncer = Resyncer(open_kv(bot.settings, "sync"), clock=lambda: discord.utils.utcnow().timestamp())
        self._pruned_at = 0.0
        self.tick.start()

    async def cog_unload(self) -> None:
        self.tick.cancel()

    @tasks.loop(minutes=TICK_MINUTES)
    async def tick(self) -> None:
        await self.bot.wait_until_ready()
        for guild in list(self.bot.guilds):
            try:
                await self.resync_if_due(guild)
            except Exception:
                log.exception("scheduled re-sync of server %s failed", guild.id)
        now = discord.utils.utcnow().timestamp()
        if now - self._pruned_at >= PRUNE_SECONDS:
            self._pruned_at = now
            await self._prune("idle thread conversation(s) forgotten", self.bot.histories.prune)
            await self._prune("question record(s) older than bot.insights_days deleted", self.bot.insights.prune, now)

    async def _prune(self, what: str, prune: Callable[..., int], *args: Any) -> None:
        """One pruning job in a worker thread; a failure is logged and the loop goes on (an exception
        would end a ``tasks.loop``)."""
        try:
            count = await asyncio.to_thread(prune, *args)
        except Exception:
            log.exception("pruning failed: %s", what)
            return
        if count:
            log.info("%d %s", count, what)

    async def resync_if_due(self, guild: discord.Guild) -> list[SyncResult]:
        config = await self.bot.guild_settings(guild)
        name = guild_space(guild.id)
        if not await asyncio.to_thread(self.resyncer.claim_if_due, name, config.resync_hours):
            return []
        space = await self.bot.space(guild.id)
        async with self.bot.ingest_lock:
            results = await asyncio.to_thread(self.resyncer.run, name, space.sources)
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


async def setup(bot: CitebotBot) -> None:
    await bot.add_cog(UpkeepCog(bot))
