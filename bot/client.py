"""The Discord bot: a thin discord.py layer over the answering engine and ingest.

As in discord.py's ``examples/advanced_startup.py``: its dependencies are
built outside (``bot/discord_app.py``) and passed in; each cog is an
extension (``bot/cogs/*.py`` with ``async def setup(bot)``) loaded by name in
``setup_hook``, so this module imports no cog.  All engine, Chroma and file
work runs in worker threads, so the gateway heartbeat never waits on it.
Every server is served from its own space (``bot/spaces.py``): ``async with bot.space(guild_id)``
is the one way to its engine and sources, and keeps the space open while it is used.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.cooldown import Cooldowns
from bot.errors import user_message
from bot.formatting import split_text
from bot.replies import NO_MENTIONS, send_private
from bot.spaces import Space, Spaces, space_name
from citebot.feedback import FeedbackStore
from citebot.models import Answer
from common.settings import BotSettings, Settings
from common.space_settings import SpaceSettings
from common.spaces import guild_space
from index_store.embedding import Embedder
from index_store.kept import Kept
from index_store.kv import open_kv
from index_store.questions import open_question_log
from index_store.space_settings import SpaceSettingsStore
from index_store.threads import ThreadHistories
from ingest.resync import Resyncer
from insights.recorder import Insights

log = logging.getLogger(__name__)

EXTENSIONS = ("bot.cogs.ask", "bot.cogs.sources", "bot.cogs.settings", "bot.cogs.resync", "bot.cogs.insights")


class CitebotBot(commands.Bot):
    def __init__(
        self,
        *,
        settings: Settings,
        default_space: Space,
        embedder: Embedder,
        feedback: FeedbackStore,
        space_settings: SpaceSettingsStore | None = None,
        histories: ThreadHistories | None = None,
        insights: Insights | None = None,
        extensions: Sequence[str] = EXTENSIONS,
    ) -> None:
        intents = discord.Intents.default()
        intents.message_content = True
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            allowed_mentions=NO_MENTIONS,
            help_command=None,
        )
        self.settings = settings
        self.config: BotSettings = settings.bot
        self.feedback = feedback
        # Per-server settings and thread conversations live in the store, so they survive a
        # restart and every bot process on one Chroma server shares them.
        self.space_settings = space_settings or SpaceSettingsStore(
            open_kv(settings, "space-settings"), lambda: self.settings.bot
        )
        self.histories = histories or ThreadHistories(
            open_kv(settings, "threads"),
            turns=lambda: self.settings.answer.history_turns,
            max_age_hours=lambda: self.settings.bot.history_max_age_hours,
        )
        # what buttons need after their message was sent (bot/views.py): a restart does not stop them
        self.kept = Kept(
            open_kv(settings, "kept"),
            max_age_hours=lambda: self.settings.bot.buttons_keep_hours,
            clock=lambda: discord.utils.utcnow().timestamp(),
        )
        # URL sources fetched again, on a schedule (bot/cogs/resync.py) or by /source refresh
        self.resyncer = Resyncer(open_kv(settings, "sync"), clock=lambda: discord.utils.utcnow().timestamp())
        # every question answered, per space, for moderators' /insights (never who asked)
        self.insights = insights or Insights(
            open_question_log(settings), keep_days=lambda: self.settings.bot.insights_days
        )
        self.initial_extensions = tuple(extensions)
        self.cooldowns = Cooldowns(self.config.cooldown_seconds, clock=lambda: discord.utils.utcnow().timestamp())
        self.ingest_lock = asyncio.Lock()  # one write at a time, in every space
        self.spaces = Spaces(settings, embedder, default_space, self.ingest_lock)
        self.jobs: set[asyncio.Task[Any]] = set()
        self._warm: asyncio.Task[None] | None = None

    def space(self, guild_id: int | None, wait: float | None = None) -> AbstractAsyncContextManager[Space]:
        """The space of a server (the default space for direct messages), opened on first use and
        kept open while the ``async with`` block runs (``wait``: seconds to wait for it to open,
        else TimeoutError)."""
        return self.spaces.use(space_name(guild_id), wait)

    def check_question(self, question: str) -> str:
        return self.spaces.default.engine.check_question(question)

    # -- start-up --------------------------------------------------------------
    async def setup_hook(self) -> None:
        # The model loads in the background: the bot is online in seconds and a
        # question that arrives earlier waits for it.
        self._warm = asyncio.create_task(asyncio.to_thread(self.spaces.default.engine.warm), name="engine-warm-up")
        for extension in self.initial_extensions:
            await self.load_extension(extension)
        self.tree.error(self.on_app_command_error)
        if self.config.sync_guild:
            guild = discord.Object(id=self.config.sync_guild)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
        else:
            await self.tree.sync()
        log.info("slash commands synced")

    async def engine_ready(self) -> None:
        if self._warm is not None:
            await asyncio.shield(self._warm)

    async def on_message(self, message: discord.Message) -> None:
        return  # no prefix commands: questions arrive as /ask, mentions and thread replies

    # -- work off the event loop ----------------------------------------------
    @property
    def streams(self) -> bool:
        return self.spaces.default.engine.streams

    async def answer(
        self,
        guild_id: int | None,
        question: str,
        history: Sequence[str] = (),
        on_text: Callable[[str], None] | None = None,
    ) -> Answer:
        """Answer from the server's space in a worker thread, keeping the space open meanwhile;
        ``history``: the earlier questions a follow-up leans on."""
        await self.engine_ready()
        async with self.space(guild_id) as space:
            return await asyncio.to_thread(space.engine.ask, question, list(history), on_text)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run a background job, keeping a reference so it is neither lost nor collected."""
        task = asyncio.create_task(coro, name=name)
        self.jobs.add(task)
        task.add_done_callback(self._job_done)
        return task

    def _job_done(self, task: asyncio.Task[Any]) -> None:
        self.jobs.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background job %r failed", task.get_name(), exc_info=task.exception())

    # -- per-server settings, permissions and channels ---------------------------
    async def guild_settings(self, guild: discord.abc.Snowflake | None) -> SpaceSettings:
        """The settings of a server (read fresh: another bot process may have changed them)."""
        if guild is None:
            return SpaceSettings.effective(self.settings.bot, {})
        return await asyncio.to_thread(self.space_settings.get, guild_space(guild.id))

    @staticmethod
    def channel_allowed(channel: Any, config: SpaceSettings) -> bool:
        ids = {getattr(channel, "id", None), getattr(channel, "parent_id", None)}
        if ids & set(config.forum_channels):
            return True
        return not config.allowed_channels or bool(ids & set(config.allowed_channels))

    @staticmethod
    def is_moderator(member: discord.abc.User, config: SpaceSettings) -> bool:
        if not isinstance(member, discord.Member):
            return False
        if member.guild_permissions.manage_guild:
            return True
        wanted = config.moderator_role.strip()
        return bool(wanted) and any(wanted in (role.name, str(role.id)) for role in member.roles)

    async def notify(self, guild: discord.abc.Snowflake | None, channel_id: int | None, text: str) -> None:
        """Post to a server's configured channel (moderators' or announcements), if it has one."""
        if not channel_id or guild is None:
            return
        channel = self.get_channel(channel_id)
        if not isinstance(channel, discord.abc.Messageable) or getattr(channel, "guild", None) is None:
            log.warning("configured channel %s is not a text channel the bot can see", channel_id)
            return
        if channel.guild.id != guild.id:  # type: ignore[union-attr]
            log.warning("configured channel %s belongs to another server; not posting there", channel_id)
            return
        for piece in split_text(text):
            await channel.send(piece, allowed_mentions=NO_MENTIONS)

    # -- the tree's error handler ------------------------------------------------
    async def on_app_command_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        name = interaction.command.qualified_name if interaction.command else "?"
        await send_private(interaction, user_message(error, doing=f"command {name}"))
