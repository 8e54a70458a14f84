"""The Discord front end: a thin discord.py layer over the answering engine.

Wired in one ``main()`` (as discord.py's ``examples/advanced_startup.py``):
dependencies are built outside and passed in; commands sync in
``setup_hook``.  All engine, Chroma and file work runs in worker threads, so
the gateway heartbeat never waits on it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.ext import commands

from bot.cooldown import Cooldowns
from citebot.engine import Engine, QuestionError
from citebot.feedback import FeedbackStore
from citebot.models import Answer
from common.settings import BotSettings, Settings
from index_store.embedding import Embedder
from index_store.store import Store
from ingest.loaders import SourceError
from ingest.pipeline import Ingestor

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
PUBLIC_FAILURE = "Sorry, I couldn't finish that."


class UserFacingError(Exception):
    """An error whose message is shown to the user as it is."""


class CitebotBot(commands.Bot):
    def __init__(
        self,
        *,
        settings: Settings,
        engine: Engine,
        ingestor: Ingestor,
        feedback: FeedbackStore,
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
        self.engine = engine
        self.ingestor = ingestor
        self.feedback = feedback
        self.cooldowns = Cooldowns(self.config.cooldown_seconds, clock=lambda: discord.utils.utcnow().timestamp())
        self.ingest_lock = asyncio.Lock()
        self.jobs: set[asyncio.Task[Any]] = set()
        self._warm: asyncio.Task[None] | None = None

    # -- start-up --------------------------------------------------------------
    async def setup_hook(self) -> None:
        from bot.cogs.ask import AskCog
        from bot.cogs.sources import SourcesCog

        # The model loads in the background: the bot is online in seconds and a
        # question that arrives earlier waits for it.
        self._warm = asyncio.create_task(asyncio.to_thread(self.engine.warm), name="engine-warm-up")
        await self.add_cog(AskCog(self))
        await self.add_cog(SourcesCog(self))
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
        return self.engine.llm is not None and self.settings.llm.stream

    async def answer(
        self, question: str, history: Sequence[str] = (), on_text: Callable[[str], None] | None = None
    ) -> Answer:
        await self.engine_ready()
        return await asyncio.to_thread(self.engine.ask, question, list(history), on_text)

    def spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        """Run a background job, keeping a reference so it is neither lost nor collected."""
        task = asyncio.create_task(coro, name=name)
        self.jobs.add(task)
        task.add_done_callback(self.jobs.discard)
        return task

    # -- permissions and channels ---------------------------------------------
    def channel_allowed(self, channel: Any) -> bool:
        allowed = self.config.allowed_channels
        if not allowed:
            return True
        ids = {getattr(channel, "id", None), getattr(channel, "parent_id", None)}
        return bool(ids & set(allowed))

    def is_moderator(self, member: discord.abc.User) -> bool:
        if not isinstance(member, discord.Member):
            return False
        if member.guild_permissions.manage_guild:
            return True
        wanted = self.config.moderator_role.strip()
        return bool(wanted) and any(wanted in (role.name, str(role.id)) for role in member.roles)

    async def notify(self, channel_id: int | None, text: str) -> None:
        """Post to a configured channel (moderators' or announcements), if there is one."""
        if not channel_id:
            return
        channel = self.get_channel(channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            log.warning("configured channel %s is not a text channel the bot can see", channel_id)
            return
        from bot.formatting import split_text

        for piece in split_text(text):
            await channel.send(piece, allowed_mentions=NO_MENTIONS)

    # -- the one error handler -------------------------------------------------
    async def on_app_command_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        original = getattr(error, "original", error)
        if isinstance(error, app_commands.CheckFailure):
            message = str(error) or "You can't use this command here."
        elif isinstance(original, (UserFacingError, QuestionError, SourceError)):
            message = str(original)
        else:
            log.error(
                "command %s failed:\n%s",
                interaction.command.qualified_name if interaction.command else "?",
                "".join(traceback.format_exception(original)),
            )
            message = "Something went wrong on my side; the moderators can find the details in the log."
        await send_private(interaction, message)


async def send_private(interaction: discord.Interaction, message: str) -> None:
    """A short ephemeral message, whether or not the interaction was answered already."""
    from bot.formatting import trim

    text = trim(message, 1900)
    try:
        if interaction.response.is_done():
            if interaction.response.type == discord.InteractionResponseType.deferred_channel_message:
                # A public "thinking..." placeholder is filled by the first follow-up, whatever
                # its flags: close it with a neutral line, then say the details privately.
                await interaction.edit_original_response(
                    content="Sorry, I couldn't finish that.", embed=None, view=None
                )
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        else:
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
    except discord.HTTPException:
        log.exception("could not tell the user about an error")


def build_bot(settings: Settings, store: Store | None = None, embedder: Embedder | None = None) -> CitebotBot:
    store = store or Store(settings)
    embedder = embedder or Embedder(
        settings.embedding.model, device=settings.embedding.device, batch_size=settings.embedding.batch_size
    )
    engine = Engine(settings, store=store, embedder=embedder)
    ingestor = Ingestor(settings, store=store, embedder=embedder)
    feedback = FeedbackStore(settings.store_path / "feedback.sqlite3")
    return CitebotBot(settings=settings, engine=engine, ingestor=ingestor, feedback=feedback)


async def main(settings: Settings, token: str, store: Store | None = None, embedder: Embedder | None = None) -> None:
    bot = build_bot(settings, store, embedder)
    async with bot:
        await bot.start(token)


def run_discord(settings: Settings, store: Store | None = None, embedder: Embedder | None = None) -> int:
    token = os.environ.get("DISCORD_TOKEN", "").strip()
    if not token:
        print("error: DISCORD_TOKEN is not set", file=sys.stderr)
        return 2
    discord.utils.setup_logging(level=logging.INFO, root=False)
    if settings.bot.api_base:
        discord.http.Route.BASE = settings.bot.api_base.rstrip("/")
    if settings.bot.gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.bot.gateway_url)
    try:
        asyncio.run(main(settings, token, store, embedder))
    except discord.LoginFailure:
        print("error: Discord rejected the token in DISCORD_TOKEN", file=sys.stderr)
        return 2
    except (aiohttp.ClientError, OSError) as exc:
        print(f"error: cannot reach Discord ({exc.__class__.__name__}: {exc})".splitlines()[0], file=sys.stderr)
        return 2
    except discord.PrivilegedIntentsRequired:
        print("error: enable the Message Content intent for this bot in the Developer Portal", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0
