"""Per-server settings (/settings), forum posts and conversations that outlive the bot process,
driven through simcord with two servers, the real engine, Chroma and model."""

from __future__ import annotations

import discord
import pytest
from conftest import space_of
from test_discord import embed_of

from common.spaces import guild_space

pytestmark = pytest.mark.simcord(settle_timeout=120)


def admin_of(env, guild, name: str = "ada"):
    role = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    return guild.add_member(env.create_user(name), roles=[role])


async def forum_post(env, forum, member, title: str, body: str):
    """What a member does in a forum channel: a new post is a thread plus its first message."""
    created = env.backend.create_thread(forum.id, title, member.id, broadcast=False)
    env.backend.announce_thread_create(created)
    [thread] = [t for t in forum.threads if t.id == created.id]
    await member.send(thread, body)
    return thread


async def test_settings_are_for_admins_only_and_each_server_has_its_own(world, simcord_bot):
    env, guild, general, mods, alice = world
    other = guild.create_text_channel("random")
    ada = admin_of(env, guild)
    # Hidden from members, and refused to them even where an admin made it visible.
    assert not [c for c in alice.available_commands(general) if c.startswith("settings")]
    [command] = [c for c in await simcord_bot.tree.fetch_commands() if c.name == "settings"]
    guild.set_command_permissions(command, {guild.default_role: True})
    refused = await alice.slash(general, "settings set", cooldown_seconds=60)
    assert refused.response.ephemeral and "Manage Server" in refused.response.content
    assert simcord_bot.space_settings.overrides(guild_space(guild.id)) == {}

    shown = await ada.slash(general, "settings set", moderators_channel=mods, cooldown_seconds=0)
    assert shown.ephemeral and f"<#{mods.id}>" in shown.response.content
    await ada.slash(general, "settings channel", action="allow", channel=general)
    saved = await ada.slash(general, "settings set", reply_mode="channels")
    assert "Reply mode:** channels" in saved.response.content
    # bad input is explained and changes nothing
    bad = await ada.slash(general, "settings channel", action="disallow", channel=general)
    assert "Not changed" in bad.response.content and "allow one first" in bad.response.content
    assert simcord_bot.space_settings.get(guild_space(guild.id)).allowed_channels == [general.id]

    # effective here: a plain message in an allowed channel is answered, other channels are not
    await alice.send(general, "Why was Ken Loach expelled from Labour?")
    [thread] = general.threads
    assert "refus" in thread.last_message.embeds[0].description
    refused_here = await alice.slash(other, "ask", question="why was Loach expelled?")
    assert "this channel" in refused_here.response.content
    await alice.slash(general, "ask", question="Who directed the film Titanic?")
    assert "Unanswered" in mods.last_message.content

    # ...and never in the second server: defaults there, and its gaps stay out of the first one's channel
    guild2 = env.create_guild("Second")
    lobby = guild2.create_text_channel("lobby")
    bob = guild2.add_member(env.create_user("bob"))
    reported = len(mods.history())
    asked = await bob.slash(lobby, "ask", question="Who directed the film Titanic?")
    assert "do not answer" in embed_of(asked).description
    assert len(mods.history()) == reported
    await bob.send(lobby, "Why was Ken Loach expelled from Labour?")
    assert lobby.threads == []
    assert simcord_bot.space_settings.get(guild_space(guild2.id)).reply_mode == "mention"


async def test_forum_post_is_answered_in_its_thread(world, simcord_bot):
    env, guild, _general, mods, alice = world
    forum = guild.create_forum_channel("help")
    ada = admin_of(env, guild)
    await ada.slash(mods, "settings channel", action="allow", channel=forum)
    await ada.slash(mods, "settings set", moderators_channel=mods)

    thread = await forum_post(env, forum, alice, "Expelled", "Why was Ken Loach expelled from Labour?")
    answer = thread.last_message
    assert answer.author.bot and "refus" in answer.embeds[0].description and not answer.content
    await alice.send(thread, "What films has he made?")  # a follow-up: "he" is Loach
    assert "Kes" in thread.last_message.embeds[0].description

    gap = await forum_post(env, forum, alice, "Films", "Who directed the film Titanic?")
    reply = gap.last_message
    assert "couldn't find this" in reply.content and "moderators" in reply.content
    assert "do not answer" in reply.embeds[0].description
    assert "Unanswered" in mods.last_message.content and f"<#{gap.id}>" in mods.last_message.content
    sent = [e.json for e in env.http_requests if e.method == "POST" and e.json and "allowed_mentions" in e.json]
    assert sent and all(p["allowed_mentions"]["parse"] == [] for p in sent)


async def test_thread_follow_up_is_answered_after_a_restart(world, simcord_bot, bot_settings, embedder):
    from bot.discord_app import build_bot

    env, guild, general, _mods, alice = world
    await alice.send(general, f"<@{simcord_bot.user.id}> Who leads the Labour Party?")
    [thread] = general.threads
    restarted = build_bot(bot_settings, embedder=embedder)  # a new process: nothing in memory
    await env.restart_bot(restarted)
    await alice.send(thread, "When did he become leader?")
    assert "April 2020" in thread.last_message.embeds[0].description
    space = guild_space(guild.id)
    assert restarted.histories.get(space, thread.id) == ["Who leads the Labour Party?", "When did he become leader?"]
    # an archived thread's conversation is forgotten
    env.backend.edit_channel(thread.id, {}, thread_metadata={"archived": True})
    await env.settle()
    assert restarted.histories.get(space, thread.id) is None


async def test_url_sources_resync_on_the_server_schedule(world, simcord_bot, bot_settings):
    from httpserver import Routes, serve

    from bot.cogs.resync import TICK_MINUTES

    env, guild, general, mods, _alice = world
    ada = admin_of(env, guild)
    bot_settings.ingest.fetch_allow_hosts = ["127.0.0.1"]
    routes = Routes()
    page = "<html><title>Ferry</title><body><p>The ferry sails daily at {}.</p></body></html>"
    routes.page("/ferry.html", page.format("7am"), etag='"v1"')
    tick = TICK_MINUTES * 60 + 1
    with serve(routes) as base:
        sources = (await space_of(simcord_bot, guild)).sources
        sources.add(sources.from_url(f"{base}/ferry.html", source_id="ferry"), added_by="mo")
        await env.advance_time(tick)
        assert routes.hits == ["/ferry.html"]  # off by default: nothing fetched
        await ada.slash(general, "settings set", resync_hours=1, announce_channel=general, moderators_channel=mods)
        await env.advance_time(tick)  # due at once: conditional with the add's validators, answered 304
        assert routes.hits == ["/ferry.html"] * 2 and routes.bodies == ["/ferry.html"] and len(general.history()) == 0
        await env.advance_time(3600)  # due again: a conditional request, answered 304
        assert len(routes.hits) == 3 and len(routes.bodies) == 1

        routes.page("/ferry.html", page.format("9am"), etag='"v2"')
        await env.advance_time(3600)
        assert "Source updated" in general.last_message.content and "ferry" in general.last_message.content
        assert "9am" in sources.ingestor.store.registry.text("ferry")

        routes.failing.add("/ferry.html")
        for _ in range(2):
            await env.advance_time(3600)
        failures = [m.content for m in mods.history() if "Re-sync failed" in m.content]
        assert len(failures) == 1 and "HTTP 500" in failures[0] and len(routes.hits) == 6
        routes.failing.clear()
        await env.advance_time(3600)
        assert "works again" in mods.last_message.content
