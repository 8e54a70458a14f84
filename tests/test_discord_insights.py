"""Moderators' insights (#21) through simcord: every way of asking is recorded (never who
asked), /insights is for moderators only and private, clear asks first, recording can be
turned off, old records are pruned by the upkeep loop, and a damaged record is reported."""

from __future__ import annotations

import sqlite3
import sys

import discord
import pytest
from test_discord import embed_of
from test_discord_spaces import admin_of, forum_post

from bot.cogs.resync import PRUNE_SECONDS, TICK_MINUTES
from common.spaces import guild_space
from index_store.questions import FILE_NAME
from insights.report import DAY

pytestmark = pytest.mark.simcord(settle_timeout=120)

ANSWERED = "why was Loach expelled?"
GAP = "Who directed the film Titanic?"


async def grant(env, bot, guild, name: str, target) -> None:
    """What a server admin does in Server Settings > Integrations: show a command to someone."""
    [command] = [c for c in await bot.tree.fetch_commands() if c.name == name]
    guild.set_command_permissions(command, {target: True})


async def moderator_of(env, bot, guild, name: str = "mo"):
    role = guild.create_role("Librarian")
    mod = guild.add_member(env.create_user(name), roles=[role])
    await grant(env, bot, guild, "insights", role)
    return mod


def records(bot, guild):  # type: ignore[no-untyped-def]
    return bot.insights.records.read(guild_space(guild.id))


def field(embed: discord.Embed, name: str) -> str:
    [value] = [f.value for f in embed.fields if f.name.startswith(name)]
    return value


async def test_every_way_of_asking_is_recorded_and_never_who_asked(world, simcord_bot, bot_settings):
    env, guild, general, _mods, alice = world
    forum = guild.create_forum_channel("help")
    bot_settings.bot.forum_channels = [forum.id]
    asked = await alice.slash(general, "ask", question=ANSWERED)
    await alice.slash(general, "ask", question=GAP)
    await alice.send(general, f"<@{simcord_bot.user.id}> Who leads the Labour Party?")
    [thread] = general.threads
    await alice.send(thread, "When did he become leader?")
    await forum_post(env, forum, alice, "Films", "What films has Loach made?")
    said = await alice.send(general, "What is the capital of France?")
    await alice.context_menu(general, "Ask about this message", said)
    await alice.click(asked.response.message, label="Not helpful")
    await env.settle()

    kept = records(simcord_bot, guild)
    assert [(r.where, r.question) for r in kept] == [
        ("slash", ANSWERED),
        ("slash", GAP),
        ("mention", "Who leads the Labour Party?"),
        ("mention", "When did he become leader?"),
        ("forum", "What films has Loach made?"),
        ("menu", "What is the capital of France?"),
    ]
    first, gap = kept[0], kept[1]
    assert first.answered and not gap.answered and kept[3].answered  # the follow-up was understood
    assert 0 <= gap.confidence < first.confidence <= 1
    assert ("ken-loach-expelled", 1) in first.citations or ("ken-loach-expelled", 4) in first.citations
    assert (first.not_helpful, first.helpful) == (1, 0) and all(r.not_helpful == 0 for r in kept[1:])
    assert all(r.vector is not None and r.vector.shape == (384,) for r in kept)
    # nothing that says who asked: not the name, not the id, in any column
    with sqlite3.connect(simcord_bot.settings.store_path / FILE_NAME) as db:
        stored = repr(db.execute("SELECT * FROM questions").fetchall())
    assert "alice" not in stored and str(alice.id) not in stored and str(alice.user.id) not in stored


async def test_insights_are_refused_to_members_and_private_for_moderators(world, simcord_bot):
    env, guild, general, _mods, alice = world
    mod = await moderator_of(env, simcord_bot, guild)
    assert not [c for c in alice.available_commands(general) if c.startswith("insights")]
    assert "insights show" in mod.available_commands(general)
    await grant(env, simcord_bot, guild, "insights", guild.default_role)  # shown to everyone: still checked
    refused = await alice.slash(general, "insights show")
    assert refused.response.ephemeral and "Only moderators" in refused.response.content

    for question in (ANSWERED, GAP, "who was the director of titanic", "@everyone who directed Titanic? <@&1>"):
        await alice.slash(general, "ask", question=question)
    shown = await mod.slash(general, "insights show", period="30d")
    assert shown.response.ephemeral
    [embed] = shown.response.embeds
    assert "Questions asked: 4; answered 1 (25%)" in embed.description
    gaps = field(embed, "Not answered")
    assert gaps.startswith("**3\u00d7**") and "titanic" in gaps.lower() and "\\@everyone" not in gaps.split("\n")[0]
    assert "ken-loach-expelled" in field(embed, "Sources cited most")
    assert field(embed, "Sources never cited") == "none"
    [chart] = shown.response.attachments
    assert chart.filename == "insights.png" and embed.image.url == "attachment://insights.png"
    assert (await chart.read()).startswith(b"\x89PNG")
    sent = [e.json for e in env.http_requests if e.method in ("POST", "PATCH") and "allowed_mentions" in (e.json or {})]
    assert sent and all(p["allowed_mentions"]["parse"] == [] for p in sent)


async def test_without_a_chart_the_days_are_a_table(world, simcord_bot, monkeypatch):
    env, guild, general, _mods, alice = world
    mod = await moderator_of(env, simcord_bot, guild)
    await alice.slash(general, "ask", question=GAP)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)  # as if matplotlib were missing
    shown = await mod.slash(general, "insights show")
    [embed] = shown.response.embeds
    assert shown.response.attachments == [] and not embed.image.url
    table = field(embed, "Per day")
    assert "asked  unanswered" in table and table.count("\n") == 9  # 7 days, a header, the fences


async def test_clear_asks_first_and_recording_off_records_nothing(world, simcord_bot):
    env, guild, general, _mods, alice = world
    mod = await moderator_of(env, simcord_bot, guild)
    ada = admin_of(env, guild)
    asked = await alice.slash(general, "ask", question=ANSWERED)
    assert len(records(simcord_bot, guild)) == 1

    refused = await mod.slash(general, "insights clear")  # a moderator, not an admin
    assert refused.response.ephemeral and "Manage Server" in refused.response.content
    asking = await ada.slash(general, "insights clear")
    assert asking.response.ephemeral and "erases the 1 question" in asking.response.content
    assert len(records(simcord_bot, guild)) == 1  # nothing until confirmed (only the admin sees the button)
    done = await ada.click(asking.response.message, label="Erase")
    assert "Erased 1" in done.response.content
    assert records(simcord_bot, guild) == []

    await ada.slash(general, "settings set", record_questions=False)
    await alice.slash(general, "ask", question=GAP)
    await alice.click(asked.response.message, label="Helpful")
    await alice.send(general, f"<@{simcord_bot.user.id}> Who leads the Labour Party?")
    assert records(simcord_bot, guild) == []
    shown = await mod.slash(general, "insights show")
    [embed] = shown.response.embeds
    assert "Recording is off" in embed.description and "Questions asked: 0" in embed.description


async def test_old_records_are_pruned_by_the_upkeep_loop(world, simcord_bot, bot_settings):
    env, guild, general, _mods, alice = world
    answer = embed_of(await alice.slash(general, "ask", question=GAP))
    assert answer.title == GAP
    space = guild_space(guild.id)
    [fresh] = records(simcord_bot, guild)
    from citebot.models import Answer

    now = env.now().timestamp()
    old = Answer.abstain("an old question")
    simcord_bot.insights.record(space, old, "slash", at=now - 91 * DAY)
    simcord_bot.insights.record(space, old, "slash", at=now - 89 * DAY)
    assert len(records(simcord_bot, guild)) == 3
    await env.advance_time(PRUNE_SECONDS + TICK_MINUTES * 60)
    kept = records(simcord_bot, guild)
    assert [r.at for r in kept] == [now - 89 * DAY, fresh.at]
    bot_settings.bot.insights_days = 30  # a shorter retention applies at the next pruning
    await env.advance_time(PRUNE_SECONDS + TICK_MINUTES * 60)
    assert [r.id for r in records(simcord_bot, guild)] == [fresh.id]


async def test_a_damaged_record_store_is_reported_not_a_crash(world, simcord_bot, caplog):
    env, guild, general, _mods, alice = world
    mod = await moderator_of(env, simcord_bot, guild)
    (simcord_bot.settings.store_path / FILE_NAME).write_bytes(b"this is not a database" * 100)
    env.check_errors = False
    # members are answered as before; the failure is logged once
    assert "refus" in embed_of(await alice.slash(general, "ask", question=ANSWERED)).description
    assert "do not answer" in embed_of(await alice.slash(general, "ask", question=GAP)).description
    assert caplog.text.count("recording a question failed") == 1
    shown = await mod.slash(general, "insights show")
    notice = shown.response  # a private "thinking..." placeholder is filled by the notice itself
    assert not shown.followups
    assert notice.ephemeral and "question records" in notice.content and "damaged" in notice.content
    assert "Move the file aside" in notice.content
    # the upkeep loop logs the failed pruning and goes on
    await env.advance_time(PRUNE_SECONDS + TICK_MINUTES * 60)
    assert "pruning question records failed" in caplog.text
    assert simcord_bot.get_cog("UpkeepCog").tick.is_running()
    # moved aside: recording starts afresh, without a restart
    (simcord_bot.settings.store_path / FILE_NAME).unlink()
    await alice.slash(general, "ask", question=GAP)
    assert [r.question for r in records(simcord_bot, guild)] == [GAP]
