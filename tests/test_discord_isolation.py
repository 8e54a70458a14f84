"""Isolation between Discord servers (#10 item 6): two servers, members and moderators in each;
on every path one server could see or change another's data, nothing crosses.

Server A adds a source of its own (the Riverside library); both servers were given the
bundled article when their spaces opened."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import ARTICLE, space_of
from test_discord import embed_of, grant_source_command

from common.spaces import guild_space
from ingest.cli import main as ingest_main
from ingest.pipeline import Ingestor

pytestmark = pytest.mark.simcord(settle_timeout=120)

RIVERSIDE = b"The Riverside library will open a new reading room on 3 March 2026.\nEntry is free for members.\n"
QUESTION = "When will the Riverside library open its reading room?"


@dataclass
class Server:
    guild: Any
    channel: Any
    mods: Any  # the moderators' channel
    member: Any
    mod: Any


async def server(env, bot, name: str) -> Server:
    guild = env.create_guild()
    role = guild.create_role("Librarian")
    mod = guild.add_member(env.create_user(f"{name}-mod"), roles=[role])
    await grant_source_command(env, bot, guild, role)
    return Server(
        guild,
        guild.create_text_channel("general"),
        guild.create_text_channel("mods"),
        guild.add_member(env.create_user(f"{name}-member")),
        mod,
    )


@pytest.fixture
async def servers(simcord_env, simcord_bot):  # type: ignore[no-untyped-def]
    env = simcord_env
    a, b = await server(env, simcord_bot, "a"), await server(env, simcord_bot, "b")
    added = await a.mod.slash(a.channel, "source add", file=("riverside-library.txt", RIVERSIDE))
    await env.settle()
    assert "Added" in added.response.content
    return env, a, b


def ids(space) -> set[str]:  # type: ignore[no-untyped-def]
    return {r.id for r in space.ingestor.store.registry.all()}


async def test_each_server_gets_its_own_seeded_space(servers, simcord_bot):
    _env, a, b = servers
    assert ids(await space_of(simcord_bot, a.guild)) == {"ken-loach-expelled", "riverside-library"}
    assert ids(await space_of(simcord_bot, b.guild)) == {"ken-loach-expelled"}
    assert ids(simcord_bot.spaces.default) == set()  # nothing a server adds lands in the default space


async def test_ask_answers_only_from_the_servers_own_sources(servers, simcord_bot):
    _env, a, b = servers
    ours = embed_of(await a.member.slash(a.channel, "ask", question=QUESTION))
    assert "3 March 2026" in ours.description
    theirs = embed_of(await b.member.slash(b.channel, "ask", question=QUESTION))
    assert "3 March" not in theirs.description and "riverside" not in str(theirs.fields).lower()
    # a mention (answered in a thread) and its follow-up too
    me = simcord_bot.user
    await b.member.send(b.channel, f"<@{me.id}> {QUESTION}")
    [thread] = b.channel.threads
    await b.member.send(thread, "Is entry free?")
    answers = [embed for message in thread.history() for embed in message.embeds]
    assert len(answers) == 2
    for embed in answers:
        assert "3 March" not in (embed.description or "") and "riverside" not in str(embed.fields).lower()


async def test_direct_messages_answer_from_the_default_space(servers):
    """A direct message has no server: it is answered from the default space, which holds no
    server's sources."""
    _env, a, _b = servers
    result = await a.member.user.slash("ask", question=QUESTION)
    assert "3 March" not in result.response.embeds[0].description


async def test_source_list_and_autocomplete_show_only_the_servers_sources(servers):
    _env, a, b = servers
    listed = (await b.mod.slash(b.channel, "source list")).response.embeds[0]
    assert "riverside" not in listed.description and "ken-loach-expelled" in listed.description
    assert await b.mod.autocomplete(b.channel, "source remove", "source", "river") == []
    assert await b.mod.autocomplete(b.channel, "source refresh", "source", "") != []
    ours = await a.mod.autocomplete(a.channel, "source remove", "source", "river")
    assert [c["value"] for c in ours] == ["riverside-library"]


async def test_remove_and_refresh_cannot_reach_another_servers_source(servers, simcord_bot):
    env, a, b = servers
    removed = await b.mod.slash(b.channel, "source remove", source="riverside-library")
    await env.settle()
    assert "no source with id" in str(removed.followups[-1].content if removed.followups else removed.response)
    refreshed = await b.mod.slash(b.channel, "source refresh", source="riverside-library")
    # the same answer as for an id that exists nowhere: B cannot even learn that A has it
    assert refreshed.response.ephemeral and "no source with id" in refreshed.response.content
    # B removing its own copy of the shared default source leaves A's in place
    mine = await b.mod.slash(b.channel, "source remove", source="ken-loach-expelled")
    await env.settle()
    assert "Removed" in str(mine.followups[-1].content if mine.followups else mine.response)
    space_a = await space_of(simcord_bot, a.guild)
    assert ids(space_a) == {"ken-loach-expelled", "riverside-library"}
    assert space_a.ingestor.store.count() > 0
    assert "refus" in embed_of(await a.member.slash(a.channel, "ask", question="why was Loach expelled?")).description


async def test_near_duplicates_and_add_anyway_stay_in_their_server(servers, simcord_bot):
    env, a, b = servers
    copy = ARTICLE.read_text(encoding="utf-8").replace("Loach, 85,", "Loach, aged 85,").encode()
    # B has removed its own article: A's copy is no reason to hold B's add back
    await b.mod.slash(b.channel, "source remove", source="ken-loach-expelled")
    await env.settle()
    direct = await b.mod.slash(b.channel, "source add", file=("loach-copy.txt", copy))
    await env.settle()
    assert "Added" in direct.response.content
    # in A it is a near-duplicate of A's article; a moderator of B who is only a member in A
    # cannot confirm it there, and A's moderator's confirmation writes into A alone
    held = await a.mod.slash(a.channel, "source add", file=("loach-copy-2.txt", copy))
    await env.settle()
    assert "nearly the same as ken-loach-expelled" in held.response.content
    outsider = a.guild.add_member(b.mod.user)
    refused = await outsider.click(held.response.message, label="Add anyway")
    assert refused.response.ephemeral and "Only the moderator" in refused.response.content
    await a.mod.click(held.response.message, label="Add anyway")
    await env.settle()
    assert "loach-copy-2" in ids(await space_of(simcord_bot, a.guild))
    assert ids(await space_of(simcord_bot, b.guild)) == {"loach-copy"}


async def test_feedback_and_notices_stay_in_their_server(servers, simcord_bot, bot_settings):
    env, a, b = servers
    # one configured channel (B's): A's events must never be posted into another server
    bot_settings.bot.moderators_channel = b.mods.id
    bot_settings.bot.announce_channel = b.mods.id
    before = len(b.mods.history())
    asked = await a.member.slash(a.channel, "ask", question=QUESTION)
    await a.member.click(asked.response.message, label="Not helpful")
    await a.member.slash(a.channel, "ask", question="Who directed the film Titanic?")
    await a.mod.slash(a.channel, "source add", file=("notes.txt", b"The harbour bridge closes in May 2027.\n"))
    await env.settle()
    assert len(b.mods.history()) == before
    [verdict] = simcord_bot.feedback.all(space=guild_space(a.guild.id))
    assert verdict["helpful"] is False and "3 March 2026" in str(verdict["answer"])
    assert simcord_bot.feedback.all(space=guild_space(b.guild.id)) == []
    # B's own events do reach B's channel
    await b.member.slash(b.channel, "ask", question="Who directed the film Titanic?")
    await env.settle()
    assert "Unanswered" in b.mods.last_message.content


async def test_export_and_verify_see_only_their_space(servers, simcord_bot, tmp_path, capsys):
    _env, a, b = servers
    config = simcord_bot.settings.store_path.parent / "config.toml"
    backup = tmp_path / "b.jsonl"
    assert ingest_main(["export", str(backup), "--space", guild_space(b.guild.id), "--config", str(config)]) == 0
    assert "riverside" not in backup.read_text(encoding="utf-8")
    capsys.readouterr()
    assert ingest_main(["list", "--json", "--space", guild_space(a.guild.id), "--config", str(config)]) == 0
    assert "riverside-library" in capsys.readouterr().out
    assert ingest_main(["verify", "--check-only", "--space", guild_space(a.guild.id), "--config", str(config)]) == 0


async def test_concurrent_first_uses_open_and_seed_a_space_once(simcord_bot, monkeypatch):
    opened: list[str] = []
    prepare = Ingestor.prepare_space

    def counting(self, paths):  # type: ignore[no-untyped-def]
        opened.append(self.store.space)
        return prepare(self, paths)

    monkeypatch.setattr(Ingestor, "prepare_space", counting)
    spaces = await asyncio.gather(*(simcord_bot.spaces.get("guild-4242") for _ in range(5)))
    assert all(space is spaces[0] for space in spaces) and opened == ["guild-4242"]
    assert ids(spaces[0]) == {"ken-loach-expelled"}


async def test_refresh_as_a_servers_first_command_defers_then_answers(servers):
    env, _a, b = servers  # B's space has not been opened yet: refresh defers before opening it
    result = await b.mod.slash(b.channel, "source refresh", source="riverside-library")
    await env.settle()
    assert "Could not refresh" in result.response.content and "no source with id" in result.response.content


async def test_a_space_left_with_unlisted_chunks_still_opens(simcord_bot):
    """A crash between a remove's registry delete and its chunk delete, on a server's last source."""
    space = await simcord_bot.spaces.get("guild-777")
    space.ingestor.store.registry.delete("ken-loach-expelled")
    assert space.ingestor.store.count() > 0 and space.ingestor.store.registry.count() == 0
    simcord_bot.spaces._open.pop(space.name)  # as after a restart
    reopened = await simcord_bot.spaces.get("guild-777")
    assert reopened is not space and not reopened.engine.ask("why was Loach expelled?").citations


async def test_insights_come_only_from_the_servers_own_questions(servers, simcord_bot):
    """#21 item 5: a server's /insights counts, groups and cites only its own questions, and
    clearing one server's record leaves the other's."""
    from test_discord_spaces import admin_of

    env, a, b = servers
    [command] = [c for c in await simcord_bot.tree.fetch_commands() if c.name == "insights"]
    for guild in (a.guild, b.guild):
        guild.set_command_permissions(command, {guild.roles["Librarian"]: True})
    await a.member.slash(a.channel, "ask", question=QUESTION)
    await a.member.slash(a.channel, "ask", question="Who directed the film Titanic?")
    await b.member.slash(b.channel, "ask", question="What is the capital of France?")

    ours = (await a.mod.slash(a.channel, "insights show")).response.embeds[0]
    theirs = (await b.mod.slash(b.channel, "insights show")).response.embeds[0]
    assert "Questions asked: 2; answered 1" in ours.description
    assert "Questions asked: 1; answered 0" in theirs.description
    text_a, text_b = str(ours.to_dict()), str(theirs.to_dict())
    assert "Titanic" in text_a and "riverside-library" in text_a and "France" not in text_a
    assert "France" in text_b and "Titanic" not in text_b and "riverside" not in text_b.lower()

    admin = admin_of(env, b.guild, "b-admin")
    asking = await admin.slash(b.channel, "insights clear")
    await admin.click(asking.response.message, label="Erase")
    assert simcord_bot.insights.records.count(guild_space(b.guild.id)) == 0
    assert simcord_bot.insights.records.count(guild_space(a.guild.id)) == 2
