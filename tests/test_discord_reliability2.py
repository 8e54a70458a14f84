"""Issue #12 through the Discord layer (simcord drives the unmodified discord.py client)."""

from __future__ import annotations

import discord
import pytest
from conftest import ask_about_page, space_of

from bot.client import CitebotBot

pytestmark = pytest.mark.simcord(settle_timeout=120)


async def moderator(env, bot: CitebotBot, guild):
    role = guild.create_role("Librarian")
    mod = guild.add_member(env.create_user("mo"), roles=[role])
    [command] = [c for c in await bot.tree.fetch_commands() if c.name == "source"]
    guild.set_command_permissions(command, {role: True})
    return mod


def embed_of(result) -> discord.Embed:
    [embed] = result.response.embeds
    return embed


def verified(bot: CitebotBot, guild) -> bool:  # type: ignore[no-untyped-def]
    from common.spaces import guild_space
    from ingest.cli import main as ingest_main

    config = bot.settings.store_path.parent / "config.toml"
    return ingest_main(["verify", "--check-only", "--space", guild_space(guild.id), "--config", str(config)]) == 0


# -- 2. URL-derived ids ----------------------------------------------------------------------------
async def test_urls_with_one_page_name_get_distinct_ids(world, simcord_bot, bot_settings):
    from httpserver import Routes, serve

    env, guild, channel, _mods, _alice = world
    mod = await moderator(env, simcord_bot, guild)
    routes = Routes()
    routes.page("/news/index.html", "<title>News</title><p>The news desk moved to the harbour.</p>")
    routes.page("/sport/index.html", "<title>Sport</title><p>The sport desk moved to the stadium.</p>")
    routes.page("/article.php?id=5", "<title>Five</title><p>Article five is about ferries.</p>")
    routes.page("/article.php?id=6", "<title>Six</title><p>Article six is about trams.</p>")
    bot_settings.ingest.fetch_allow_hosts = ["127.0.0.1"]
    with serve(routes) as base:
        for path in routes.pages:
            result = await mod.slash(channel, "source add", url=base + path)
            await env.settle()
            assert "Added" in result.response.content, result.response.content
    ids = {r.id for r in (await space_of(simcord_bot, guild)).ingestor.store.registry.all()} - {"ken-loach-expelled"}
    assert ids == {"news", "sport", "article-id-5", "article-id-6"}
    assert verified(simcord_bot, guild)


# -- 5. source text, titles and relayed questions are shown as text, never as markdown --------------
MOORING = (
    "# **Urgent** [login](https://phish.invalid/title)\n\n"
    "To renew a mooring permit, [click here](https://phish.invalid/login) and pay the fee before May.\n\n"
    "||The mooring fee rises to ninety pounds|| says the harbour office <@123456789012345678> @everyone.\n\n"
    "# The harbour office opens at eight.\n"
)


def _unescaped(text: str, needle: str) -> bool:
    """``needle`` (starting with a markdown character) appears without a backslash before it."""
    return any(i == 0 or text[i - 1] != "\\" for i in _find_all(text, needle))


def _find_all(text: str, needle: str) -> list[int]:
    out, i = [], text.find(needle)
    while i != -1:
        out.append(i)
        i = text.find(needle, i + 1)
    return out


async def test_markdown_in_quotes_titles_and_relayed_questions_is_escaped(world, simcord_bot, bot_settings, tmp_path):
    env, guild, channel, mods, alice = world
    bot_settings.bot.moderators_channel = mods.id
    page = tmp_path / "mooring.md"
    page.write_text(MOORING, encoding="utf-8")
    question = "How do I renew a mooring permit? **now**"
    _result, embed, sources, passages = await ask_about_page(
        simcord_bot, guild, alice, channel, page=page, question=question
    )
    shown = [embed.title, embed.description, sources, passages.response.content]
    assert "click here" in embed.description and "Urgent" in sources
    for text in shown:
        for needle in ("[click here](", "[login](", "**Urgent", "**now", "||"):
            assert not _unescaped(text, needle), (needle, text)
        if text is not embed.title:  # a title renders no mentions
            assert "<@123456789012345678>" not in text and "@everyone" not in text
    fee = await alice.slash(channel, "ask", question="How much is the mooring fee?")
    fee_passages = await alice.click(fee.response.message, label="Show passages")
    for text in (embed_of(fee).description, fee_passages.response.content):
        assert "ninety" in text and not _unescaped(text, "||") and "<@123456789012345678>" not in text

    await alice.slash(channel, "ask", question="Where is [free nitro](https://phish.invalid/nitro) ||today||?")
    relayed = mods.last_message.content
    assert "Unanswered" in relayed and "free nitro" in relayed
    assert not _unescaped(relayed, "[free nitro](") and not _unescaped(relayed, "||")
    click = await alice.click(fee.response.message, label="Not helpful")
    await env.settle()
    assert click.response.ephemeral
    relayed = mods.last_message.content
    assert "Not helpful" in relayed and "ninety" in relayed and not _unescaped(relayed, "||")
    assert verified(simcord_bot, guild)


# -- 10. a malformed URL gets an answer, not "Fetching ..." forever ---------------------------------
@pytest.mark.parametrize("url", ["http://[oops/", "http://example.com:99999/", "http://" + "a" * 64 + ".example/"])
async def test_malformed_url_is_a_clear_reply(world, simcord_bot, url):
    env, guild, channel, _mods, _alice = world
    mod = await moderator(env, simcord_bot, guild)
    before = (await space_of(simcord_bot, guild)).ingestor.store.registry.count()
    result = await mod.slash(channel, "source add", url=url)
    await env.settle()
    reply = result.response.content
    assert "Could not add the source" in reply and "not a valid" in reply, reply
    assert (await space_of(simcord_bot, guild)).ingestor.store.registry.count() == before
    assert verified(simcord_bot, guild)
