"""Wiring the Discord bot, in one place (as discord.py's ``examples/advanced_startup.py``).

``build_bot`` makes the dependencies (store, encoder, engine, ingest,
feedback) and hands them to ``CitebotBot`` (``bot/client.py``); ``main`` runs
it inside ``async with``; ``run_discord`` is the entry point ``python -m bot``
calls, turning start-up failures into one-line errors.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys

import aiohttp
import discord
import yarl

from bot.client import CitebotBot
from bot.spaces import Space
from citebot.engine import Engine
from citebot.feedback import FeedbackStore
from common.settings import Settings
from index_store.embedding import Embedder
from index_store.store import Store
from ingest.pipeline import Ingestor
from ingest.sources import Sources


def build_bot(settings: Settings, store: Store | None = None, embedder: Embedder | None = None) -> CitebotBot:
    """The bot; ``store`` is the default space's (servers' spaces are opened on first use)."""
    store = store or Store.from_settings(settings)
    embedder = embedder or Embedder.from_settings(settings.embedding)
    engine = Engine(settings, store=store, embedder=embedder)
    default = Space(store.space, engine, Sources(Ingestor(settings, store=store, embedder=embedder)))
    feedback = FeedbackStore(settings.store_path / "feedback.sqlite3")
    return CitebotBot(settings=settings, default_space=default, embedder=embedder, feedback=feedback)


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
