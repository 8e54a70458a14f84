"""The Discord bot driven through simcord: the unmodified discord.py client against a
simulated Discord (REST and gateway), with the real engine, Chroma and model behind it."""

from __future__ import annotations

import discord
import pytest
from conftest import ARTICLE, space_of

from bot.client import CitebotBot
from citebot.engine import Engine

pytestmark = pytest.mark.simcord(settle_timeout=120)


async def grant_source_command(env, bot: CitebotBot, guild, target) -> None:
    """What a server admin does in Server Settings > Integrations: allow /source for a role or member."""
    [command] = [c for c in await bot.tree.fetch_commands() if c.name == "source"]
    guild.set_command_permissions(command, {target: True})


def embed_of(result) -> discord.Embed:
    [embed] = answer_message(result).embeds
    return embed


def answer_message(result):
    """The deferred response, filled in with the answer."""
    assert result.response is not None
    return result.response


def deferred_first(env, result) -> bool:
    callbacks = [e for e in env.http_requests if e.path.endswith("/callback")]
    return bool(callbacks) and callbacks[-1].json == {"type": 5}


def button_labels(message) -> list[str]:
    return [c["label"] for row in message.components for c in row["components"]]


async def test_ask_replies_with_a_cited_answer(world, simcord_bot):
    env, _guild, channel, _mods, alice = world
    result = await alice.slash(channel, "ask", question="why was Loach expelled?")
    assert deferred_first(env, result)
    embed = embed_of(result)
    assert "refus" in embed.description
    sources = "\n".join(f.value for f in embed.fields)
    assert "\\[1\\]" in sources and "paragraph" in sources and "added" in sources  # [1], escaped as all brackets
    assert button_labels(answer_message(result)) == ["Show passages", "Helpful", "Not helpful"]


async def test_unanswerable_question_shows_no_sources(world, simcord_bot, bot_settings):
    _env, _guild, channel, mods, alice = world
    bot_settings.bot.moderators_channel = mods.id
    result = await alice.slash(channel, "ask", question="Who directed the film Titanic?")
    embed = embed_of(result)
    assert "do not answer" in embed.description
    assert not embed.fields
    assert "Show passages" not in button_labels(answer_message(result))
    assert "Unanswered" in mods.last_message.content and "Titanic" in mods.last_message.content


async def test_show_passages_is_private_to_the_asker(world, simcord_bot):
    env, guild, channel, _mods, alice = world
    bob = guild.add_member(env.create_user("bob"))
    result = await alice.slash(channel, "ask", question="why was Loach expelled?")
    message = answer_message(result).message
    mine = await alice.click(message, label="Show passages")
    assert mine.ephemeral and mine.response.ephemeral
    assert "> " in mine.response.content and "refus" in mine.response.content
    theirs = await bob.click(message, label="Show passages")
    assert theirs.response.ephemeral and "Only the person who asked" in theirs.response.content


async def test_feedback_is_stored_and_not_helpful_reaches_moderators(world, simcord_bot, bot_settings):
    env, _guild, channel, mods, alice = world
    bot_settings.bot.moderators_channel = mods.id
    result = await alice.slash(channel, "ask", question="why was Loach expelled?")
    click = await alice.click(answer_message(result).message, label="Not helpful")
    assert click.response.ephemeral
    await env.settle()
    [row] = simcord_bot.feedback.all()
    assert row["question"] == "why was Loach expelled?" and row["helpful"] is False
    assert row["citations"] and "refus" in row["answer"]
    assert "Not helpful" in mods.last_message.content


async def test_mention_opens_a_thread_and_follow_ups_use_it(world, simcord_bot):
    _env, _guild, channel, _mods, alice = world
    me = simcord_bot.user
    await alice.send(channel, f"<@{me.id}> Who leads the Labour Party?")
    [thread] = channel.threads
    first = thread.last_message
    assert first.embeds and first.embeds[0].title == "Who leads the Labour Party?"
    await alice.send(thread, "When did he become leader?")
    follow = thread.last_message
    assert "April 2020" in follow.embeds[0].description


async def test_context_menu_asks_about_a_message(world, simcord_bot):
    _env, _guild, channel, _mods, alice = world
    said = await alice.send(channel, "What films has Loach made?")
    result = await alice.context_menu(channel, "Ask about this message", said)
    assert "Kes" in embed_of(result).description


async def test_everyone_in_a_question_cannot_ping(world, simcord_bot):
    env, _guild, channel, _mods, alice = world
    result = await alice.slash(channel, "ask", question="@everyone why was Loach expelled? <@&123>")
    payloads = [e for e in env.http_requests if e.method in ("POST", "PATCH") and "allowed_mentions" in (e.json or {})]
    assert payloads, "the bot sent messages without allowed_mentions"
    for entry in payloads:
        assert entry.json["allowed_mentions"]["parse"] == []
    assert "@everyone" in embed_of(result).title


async def test_cooldown_refuses_privately(world, simcord_bot, bot_settings):
    env, _guild, channel, _mods, alice = world
    bot_settings.bot.cooldown_seconds = 30  # the default of a server that never changed it
    await alice.slash(channel, "ask", question="why was Loach expelled?")
    second = await alice.slash(channel, "ask", question="Who is Ken Loach?")
    assert second.response.ephemeral and "try again" in second.response.content
    await env.advance_time(31)
    third = await alice.slash(channel, "ask", question="Who is Ken Loach?")
    assert embed_of(third).fields


async def test_source_commands_are_hidden_from_members(world, simcord_bot):
    _env, _guild, channel, _mods, alice = world
    assert "ask" in alice.available_commands(channel)
    assert not [c for c in alice.available_commands(channel) if c.startswith("source")]


async def test_member_without_role_cannot_add_or_remove(world, simcord_bot):
    env, guild, channel, _mods, alice = world
    # Even where an admin made /source visible to everyone, each use is checked again.
    await grant_source_command(env, simcord_bot, guild, guild.default_role)
    before = (await space_of(simcord_bot, guild)).ingestor.store.count()
    added = await alice.slash(channel, "source add", file=("notes.txt", b"Secret plans are here.\n"))
    assert added.response.ephemeral and "Only moderators" in added.response.content
    removed = await alice.slash(channel, "source remove", source="ken-loach-expelled")
    assert removed.response.ephemeral and "Only moderators" in removed.response.content
    assert (await space_of(simcord_bot, guild)).ingestor.store.count() == before
    assert (await space_of(simcord_bot, guild)).ingestor.store.registry.get("ken-loach-expelled") is not None


async def test_moderator_adds_attachment_and_ask_cites_it(world, simcord_bot, bot_settings):
    env, guild, channel, mods, alice = world
    bot_settings.bot.announce_channel = mods.id
    role = guild.create_role("Librarian")
    mod = guild.add_member(env.create_user("mo"), roles=[role])
    await grant_source_command(env, simcord_bot, guild, role)
    text = b"The Riverside library will open a new reading room on 3 March 2026.\nEntry is free for members.\n"
    result = await mod.slash(channel, "source add", file=("riverside-library.txt", text))
    await env.settle()
    final = answer_message(result).content
    assert "Added" in final and "riverside-library" in final
    assert "New source" in mods.last_message.content
    asked = await alice.slash(channel, "ask", question="When will the Riverside library open its reading room?")
    embed = embed_of(asked)
    assert "3 March 2026" in embed.description
    assert "riverside-library" in "\n".join(f.value for f in embed.fields)


async def test_moderator_removes_a_source(world, simcord_bot):
    env, guild, channel, _mods, _alice = world
    role = guild.create_role("Librarian")
    mod = guild.add_member(env.create_user("mo"), roles=[role])
    await grant_source_command(env, simcord_bot, guild, role)
    choices = await mod.autocomplete(channel, "source remove", "source", "loach")
    assert [c["value"] for c in choices] == ["ken-loach-expelled"]
    result = await mod.slash(channel, "source remove", source="ken-loach-expelled")
    assert "Removed" in answer_message(result).content
    assert (await space_of(simcord_bot, guild)).ingestor.store.count() == 0


async def moderator(env, bot, guild):
    role = guild.create_role("Librarian")
    mod = guild.add_member(env.create_user("mo"), roles=[role])
    await grant_source_command(env, bot, guild, role)
    return mod


async def test_pasted_text_through_the_modal(world, simcord_bot):
    env, guild, channel, _mods, alice = world
    mod = await moderator(env, simcord_bot, guild)
    shown = await mod.slash(channel, "source add")
    assert shown.modal is not None
    done = await mod.submit_modal(
        shown, {"title": "Harbour news", "text": "The harbour bridge closes for repairs in May 2027."}
    )
    await env.settle()
    assert "Added" in answer_message(done).content
    assert (await space_of(simcord_bot, guild)).ingestor.store.registry.get("harbour-news").added_by.startswith("mo")
    asked = await alice.slash(channel, "ask", question="When does the harbour bridge close for repairs?")
    assert "May 2027" in embed_of(asked).description


async def test_near_duplicate_is_reported_until_confirmed(world, simcord_bot):
    env, guild, channel, _mods, _alice = world
    mod = await moderator(env, simcord_bot, guild)
    copy = ARTICLE.read_text(encoding="utf-8").replace("Loach, 85,", "Loach, aged 85,")
    result = await mod.slash(channel, "source add", file=("loach-copy.txt", copy.encode()))
    await env.settle()
    reply = answer_message(result)
    assert "nearly the same as ken-loach-expelled" in reply.content
    assert (await space_of(simcord_bot, guild)).ingestor.store.registry.get("loach-copy") is None
    await mod.click(reply.message, label="Add anyway")
    await env.settle()
    assert (await space_of(simcord_bot, guild)).ingestor.store.registry.get("loach-copy").status == "ready"


async def test_bad_attachment_gets_a_clear_error_and_changes_nothing(world, simcord_bot):
    env, guild, channel, _mods, _alice = world
    mod = await moderator(env, simcord_bot, guild)
    before = (await space_of(simcord_bot, guild)).ingestor.store.count()
    result = await mod.slash(channel, "source add", file=("../../etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n"))
    await env.settle()
    assert "unsupported file type" in answer_message(result).content
    binary = await mod.slash(channel, "source add", file=("blob.txt", b"\x00\x01\x02\x03binary"))
    await env.settle()
    assert "binary" in answer_message(binary).content
    assert (await space_of(simcord_bot, guild)).ingestor.store.count() == before


async def test_source_list_shows_every_source(world, simcord_bot):
    env, guild, channel, _mods, _alice = world
    mod = await moderator(env, simcord_bot, guild)
    result = await mod.slash(channel, "source list")
    assert result.response.ephemeral
    [embed] = result.response.embeds
    assert embed.title == "1 source" and "ken-loach-expelled" in embed.description


async def test_channel_allowlist(world, simcord_bot, bot_settings):
    _env, guild, channel, _mods, alice = world
    other = guild.create_text_channel("random")
    bot_settings.bot.allowed_channels = [channel.id]
    refused = await alice.slash(other, "ask", question="why was Loach expelled?")
    assert refused.response.ephemeral and "this channel" in refused.response.content
    allowed = await alice.slash(channel, "ask", question="why was Loach expelled?")
    assert embed_of(allowed).fields


async def test_unexpected_error_is_short_private_message_and_logged(world, simcord_bot, caplog, monkeypatch):
    env, _guild, channel, _mods, alice = world

    def broken(*_args, **_kwargs):
        raise RuntimeError("chroma exploded")

    monkeypatch.setattr(Engine, "ask", broken)
    env.check_errors = False
    result = await alice.slash(channel, "ask", question="why was Loach expelled?")
    assert result.response.content == "Sorry, I couldn't finish that."
    [notice] = result.followups
    assert notice.ephemeral and "went wrong" in notice.content and "chroma" not in notice.content
    assert "chroma exploded" in caplog.text


async def test_too_long_question_is_refused_privately(world, simcord_bot):
    _env, _guild, channel, _mods, alice = world
    result = await alice.slash(channel, "ask", question="why " * 200)
    assert result.response.ephemeral and "limit is 500" in result.response.content


async def test_url_source_is_added_refreshed_and_internal_urls_refused(world, simcord_bot, bot_settings):
    from httpserver import Routes, serve

    env, guild, channel, _mods, alice = world
    mod = await moderator(env, simcord_bot, guild)
    routes = Routes()
    routes.page("/ferry.html", "<html><title>Ferry</title><body><p>The new ferry sails daily at 7am.</p></body></html>")
    with serve(routes) as base:
        refused = await mod.slash(channel, "source add", url=f"{base}/ferry.html")
        await env.settle()
        assert "non-public address" in answer_message(refused).content and routes.hits == []

        bot_settings.ingest.fetch_allow_hosts = ["127.0.0.1"]
        added = await mod.slash(channel, "source add", url=f"{base}/ferry.html", source_id="ferry")
        await env.settle()
        assert "Added **Ferry** as `ferry`" in answer_message(added).content
        same = await mod.slash(channel, "source refresh", source="ferry")
        await env.settle()
        assert "unchanged" in answer_message(same).content
        routes.page("/ferry.html", "<html><title>Ferry</title><body><p>The ferry now sails at 9am.</p></body></html>")
        changed = await mod.slash(channel, "source refresh", source="ferry")
        await env.settle()
        assert "Replaced" in answer_message(changed).content
    asked = await alice.slash(channel, "ask", question="When does the ferry sail?")
    assert "9am" in embed_of(asked).description
    not_url = await mod.slash(channel, "source refresh", source="ken-loach-expelled")
    assert not_url.response.ephemeral and "not added from a URL" in not_url.response.content
