"""Issue #20 through the Discord layer: simcord drives the unmodified discord.py client against
a simulated Discord, with the real engine, Chroma, model and a loopback page server."""

from __future__ import annotations

import json
import re

import pytest
from conftest import ARTICLE, ask_about_page, space_of
from httpserver import Routes, on_loopback, respond, serve
from test_discord import embed_of, moderator

from common.spaces import guild_space

pytestmark = pytest.mark.simcord(settle_timeout=120)


def unescaped(text: str, chars: str = "[]()") -> list[str]:
    """The characters of ``chars`` in ``text`` that Discord would read as markdown (no backslash)."""
    found, i = [], 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] in chars:
            found.append(text[max(0, i - 20) : i + 20])
        i += 1
    return found


def rendered(text: str) -> str:
    """What Discord shows: an escaped character as itself."""
    return re.sub(r"\\(.)", r"\1", text)


# -- 1. masked links in sources and questions are never live, however many bracket groups -------------
CHARITY = (
    "Charity appeal [read (this)](https://phish.invalid/title)\n\n"
    "The charity donation page (see [our report] and [2]) tells readers to "
    '[click here](https://phish.invalid/login) to donate, or "give through [the form](https://phish.invalid/form)".\n\n'
    "The appeal closes on Friday.\n"
)


async def test_every_bracket_of_source_and_user_text_is_escaped(world, simcord_bot, bot_settings, tmp_path):
    env, guild, channel, mods, alice = world
    bot_settings.bot.moderators_channel = mods.id
    page = tmp_path / "charity.txt"
    page.write_text(CHARITY, encoding="utf-8")
    question = "How do readers donate to the charity [now](https://x.invalid)?"
    asked, embed, sources, passages = await ask_about_page(
        simcord_bot, guild, alice, channel, page=page, question=question
    )
    await alice.click(asked.response.message, label="Not helpful")
    await env.settle()
    relayed = mods.last_message.content
    assert relayed.startswith("**Not helpful** (from alice): ")
    shown = [embed.title, embed.description, sources, passages.response.content, relayed.split("): ", 1)[1]]
    for text in shown:
        assert unescaped(text) == [], text
    assert "[click here](https://phish.invalid/login)" in rendered(embed.description)
    assert "[1]" in rendered(embed.description) and rendered(sources).startswith("[1] Charity appeal [read (this)]")
    assert '"give through [the form](https://phish.invalid/form)"' in rendered(passages.response.content)
    assert "[now](https://x.invalid)" in rendered(relayed) and "[click here](" in rendered(relayed)


async def test_a_url_cannot_close_its_angle_brackets_to_post_a_masked_link(world, simcord_bot, bot_settings):
    env, guild, channel, _mods, _alice = world
    mod = await moderator(env, simcord_bot, guild)
    bot_settings.ingest.fetch_allow_hosts = ["127.0.0.1"]
    with serve(Routes()) as base:
        added = await mod.slash(channel, "source add", url=f"{base}/a>[click here](https://phish.invalid/x)")
        await env.settle()
    sent = [r.json.get("content") for r in env.http_requests if isinstance(r.json, dict)]
    edits = [content for content in sent if str(content).startswith("Fetching")]
    assert edits == [f"Fetching <{base}/a%3E[click%20here](https://phish.invalid/x)> \u2026"]
    assert "Could not add the source" in added.response.content
    assert unescaped(added.response.content.split(": ", 1)[1]) == []


# -- 2. a URL with credentials is refused; a secret query value is never posted -------------------------
async def test_url_credentials_are_refused_and_secrets_never_posted(world, simcord_bot, bot_settings):

    env, guild, channel, _mods, _alice = world
    mod = await moderator(env, simcord_bot, guild)
    bot_settings.bot.announce_channel = channel.id
    bot_settings.ingest.fetch_allow_hosts = ["127.0.0.1"]
    routes = Routes()
    routes.page("/page.txt?token=abc123&lang=en", "The harbour fee is forty pounds a night.\n", "text/plain")
    with serve(routes) as base:
        host = base.removeprefix("http://")
        refused = await mod.slash(channel, "source add", url=f"http://alice:s3cret@{host}/page.txt")
        assert refused.response.ephemeral and "cannot carry a user name or password" in refused.response.content
        added = await mod.slash(channel, "source add", url=f"{base}/page.txt?token=abc123&lang=en")
        await env.settle()
        assert "Added" in added.response.content and "`page.txt-lang-en`" in added.response.content
        again = await mod.slash(channel, "source refresh", source="page.txt-lang-en")
        await env.settle()
        assert "unchanged" in again.response.content
    assert routes.hits == ["/page.txt?token=abc123&lang=en"] * 2
    posted = json.dumps([request.json for request in env.http_requests])
    assert "token=REDACTED" in posted  # "Fetching <...>"
    assert "abc123" not in posted and "s3cret" not in posted


# -- 3. a server's re-sync fetches outside the write lock, and its whole run is bounded ----------------
class SlowPages:
    """A loopback page server whose pages, once ``held``, answer only when ``release`` says so
    (polled every 50 ms) or after ``hold_seconds``."""

    def __init__(self, hold_seconds: float = 30.0) -> None:
        self.held = False
        self.hold_seconds = hold_seconds
        self.release = lambda: False
        self.requests: list[str] = []
        self.released: list[bool] = []  # for each held request: ended by ``release`` (not by the time)

    def handler(self):  # type: ignore[no-untyped-def]
        import time
        from http.server import BaseHTTPRequestHandler

        pages = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                pages.requests.append(self.path)
                until, held = time.perf_counter() + pages.hold_seconds, pages.held
                while pages.held and time.perf_counter() < until and not pages.release():
                    time.sleep(0.05)
                if held:
                    pages.released.append(pages.release())
                respond(self, f"<title>{self.path}</title><p>The page {self.path} says the ferry sails at noon.</p>")

            def log_message(self, *_args: object) -> None:
                return

        return Handler


async def url_sources(space, base: str, count: int) -> None:  # type: ignore[no-untyped-def]
    for i in range(count):
        incoming = space.sources.from_url(f"{base}/page{i}.html", source_id=f"page{i}")
        space.sources.add(incoming, added_by="mo", force=True)  # the pages are alike: no near-duplicate check


async def test_a_slow_resync_holds_up_no_other_server(world, simcord_bot, bot_settings):
    import asyncio

    env, guild, _general, _mods, _alice = world
    bot_settings.ingest.fetch_allow_hosts = ["127.0.0.1"]
    simcord_bot.space_settings.update(guild_space(guild.id), {"resync_hours": 1})
    other = env.create_guild("Second")
    lobby = other.create_text_channel("lobby")
    bob = other.add_member(env.create_user("bob"))
    pages = SlowPages()
    # the page answers once the second server's space is open (its first question got through),
    # or after 30 s: while a re-sync held the bot's write lock, it could not open
    pages.release = lambda: simcord_bot.spaces.ready(guild_space(other.id)) is not None
    with on_loopback(pages.handler()) as base:
        await url_sources(await space_of(simcord_bot, guild), base, 2)
        pages.held = True
        cog = simcord_bot.get_cog("UpkeepCog")
        resync = asyncio.create_task(cog.resync_if_due(simcord_bot.get_guild(guild.id)))
        while len(pages.requests) < 3:  # two adds, then the re-sync's first fetch
            await asyncio.sleep(0.05)
        asked = await bob.slash(lobby, "ask", question="why was Loach expelled?")
        assert "refus" in embed_of(asked).description
        results = await resync
    assert [r.status for r in results] == ["unchanged", "unchanged"]
    assert pages.requests[2:] == ["/page0.html", "/page1.html"] and pages.released == [True, True]


async def test_one_servers_resync_run_is_bounded_in_time(world, simcord_bot, bot_settings):
    import asyncio
    import time

    _env, guild, _general, mods, _alice = world
    bot_settings.ingest.fetch_allow_hosts = ["127.0.0.1"]
    bot_settings.bot.resync_run_seconds = 2
    simcord_bot.space_settings.update(guild_space(guild.id), {"resync_hours": 1, "moderators_channel": mods.id})
    pages = SlowPages(hold_seconds=20)
    with on_loopback(pages.handler()) as base:
        space = await space_of(simcord_bot, guild)
        await url_sources(space, base, 3)
        pages.held = True
        cog = simcord_bot.get_cog("UpkeepCog")
        started = time.perf_counter()
        results = await cog.resync_if_due(simcord_bot.get_guild(guild.id))
        assert time.perf_counter() - started < 8  # the bound, not three fetch timeouts (45 s)
        assert [(r.source_id, r.status) for r in results] == [("page0", "failed")]
        assert "timed out after 2 s" in results[0].detail
        pages.held = False
        await asyncio.sleep(0)
        again = await cog.resync(space)  # the next run checks first what this one did not reach
        assert [r.source_id for r in again] == ["page1", "page2", "page0"]


# -- 5. a refresh racing a remove never brings the source back --------------------------------------
async def test_a_refresh_racing_a_remove_never_brings_the_source_back(world, simcord_bot, bot_settings):
    from http.server import BaseHTTPRequestHandler

    from ingest.cli import main as ingest_main

    env, guild, channel, _mods, _alice = world
    mod = await moderator(env, simcord_bot, guild)
    news = guild.create_text_channel("news")
    bot_settings.bot.announce_channel = news.id
    bot_settings.ingest.fetch_allow_hosts = ["127.0.0.1"]
    config = str(simcord_bot.settings.store_path.parent / "config.toml")
    page = {"text": "The ferry sails at 7am.", "remove_first": False}

    class Ferry(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if page["remove_first"]:  # someone removes the source while it is being fetched
                assert ingest_main(["remove", "ferry", "--space", guild_space(guild.id), "--config", config]) == 0
            respond(self, f"<title>Ferry</title><p>{page['text']}</p>")

        def log_message(self, *_args: object) -> None:
            return

    with on_loopback(Ferry) as base:
        await mod.slash(channel, "source add", url=f"{base}/ferry.html", source_id="ferry")
        await env.settle()
        page["text"] = "The ferry now sails at 9am."
        await mod.slash(channel, "source refresh", source="ferry")
        await env.settle()
        page.update(text="The ferry sails at noon.", remove_first=True)
        raced = await mod.slash(channel, "source refresh", source="ferry")
        await env.settle()
    assert "'ferry' was removed while it was being fetched" in raced.response.content
    assert (await space_of(simcord_bot, guild)).ingestor.store.registry.get("ferry") is None
    announced = [m.content.split(":")[0] for m in news.history()]
    assert announced == ["New source", "Source updated"]


# -- 6. an unreadable settings row is ignored, and reset overwrites it --------------------------------
async def test_an_unreadable_settings_row_leaves_the_server_usable_and_resettable(world, simcord_bot):
    import sqlite3

    from test_discord_spaces import admin_of

    env, guild, general, _mods, alice = world
    ada = admin_of(env, guild)
    key = f"{guild_space(guild.id)}/settings"
    path = simcord_bot.settings.store_path / "space-settings.sqlite3"
    for bad in ("{oops", "[1,2,3]", "null"):
        with sqlite3.connect(path) as con:
            con.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", (key, bad))
        asked = await alice.slash(general, "ask", question="why was Loach expelled?")
        assert "refus" in embed_of(asked).description
        shown = await ada.slash(general, "settings show")
        assert "Cooldown:** 0 s" in shown.response.content  # the defaults: no overrides
        reset = await ada.slash(general, "settings reset", setting="all")
        assert reset.response.content.startswith("Saved")
        with sqlite3.connect(path) as con:
            assert json.loads(con.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()[0]) == {}


# -- 7. upkeep survives an unreadable thread row and a failing prune ------------------------------------
async def test_upkeep_goes_on_after_bad_thread_rows_and_a_failing_prune(world, simcord_bot, bot_settings):
    import sqlite3

    from bot.cogs.resync import PRUNE_SECONDS

    env, guild, _general, _mods, _alice = world
    bot_settings.ingest.fetch_allow_hosts = ["127.0.0.1"]
    space = guild_space(guild.id)
    simcord_bot.space_settings.update(space, {"resync_hours": 1})
    threads = simcord_bot.settings.store_path / "threads.sqlite3"
    routes = Routes()
    routes.page("/ferry.html", "<title>Ferry</title><p>The ferry sails at 7am.</p>")
    with serve(routes) as base:
        sources = (await space_of(simcord_bot, guild)).sources
        sources.add(sources.from_url(f"{base}/ferry.html", source_id="ferry"), added_by="mo")
        with sqlite3.connect(threads) as con:
            con.executemany(
                "INSERT INTO kv (key, value) VALUES (?, ?)",
                [(f"{space}/thread/1", "{oops"), (f"{space}/thread/2", "[1]")],
            )
        await env.advance_time(PRUNE_SECONDS + 1)  # a re-sync, then a prune meets the bad rows
        with sqlite3.connect(threads) as con:
            assert con.execute("SELECT COUNT(*) FROM kv").fetchone()[0] == 0  # skipped and deleted
            con.execute("DROP TABLE kv")  # the next prune fails (as on a damaged file)
        await env.advance_time(PRUNE_SECONDS + 1)
        await env.advance_time(PRUNE_SECONDS + 1)  # the loop is still there: a third re-sync
    assert routes.hits == ["/ferry.html"] * 4


# -- 8. a removed and re-added source starts its re-sync afresh --------------------------------------
async def test_a_readded_source_does_not_inherit_the_old_ones_resync_state(world, simcord_bot, bot_settings):
    env, guild, general, mods, _alice = world
    mod = await moderator(env, simcord_bot, guild)
    bot_settings.ingest.fetch_allow_hosts = ["127.0.0.1"]
    simcord_bot.space_settings.update(guild_space(guild.id), {"resync_hours": 1, "moderators_channel": mods.id})
    routes = Routes()
    routes.page("/ferry.html", "<title>Ferry</title><p>The ferry sails at 7am.</p>")

    def notices() -> list[str]:
        return [m.content for m in mods.history() if "Re-sync" in m.content]

    with serve(routes) as base:
        await mod.slash(general, "source add", url=f"{base}/ferry.html", source_id="ferry")
        await env.settle()
        routes.failing.add("/ferry.html")
        await env.advance_time(3601)
        assert len(notices()) == 1 and "Re-sync failed" in notices()[0]
        await mod.slash(general, "source remove", source="ferry")
        routes.failing.clear()
        await mod.slash(general, "source add", url=f"{base}/ferry.html", source_id="ferry")
        await env.settle()
        await env.advance_time(3601)  # the new source syncs: nothing to say, it never failed
        assert len(notices()) == 1 and len(routes.hits) == 4
        routes.failing.add("/ferry.html")
        await env.advance_time(3601)  # its first failure is reported
    assert len(notices()) == 2 and "Re-sync failed" in notices()[1]


# -- 10. open spaces are bounded; one in use is closed only when its use ends ------------------------
async def test_open_spaces_are_bounded_and_one_in_use_closes_after_its_question(world, simcord_bot, bot_settings):
    import sqlite3

    env, *_ = world
    bot_settings.bot.max_open_spaces = 2
    members = []
    for name in ("one", "two", "three"):
        guild = env.create_guild(name)
        members.append((guild, guild.create_text_channel("general"), guild.add_member(env.create_user(name))))
    names = [guild_space(guild.id) for guild, _, _ in members]

    async def ask(i: int) -> str:
        _guild, channel, member = members[i]
        return embed_of(await member.slash(channel, "ask", question="why was Loach expelled?")).description

    assert "refus" in await ask(0) and "refus" in await ask(1)
    first = simcord_bot.spaces.ready(names[0])
    assert "refus" in await ask(2)  # a third server's space: the least recently used one is closed
    assert simcord_bot.spaces.open_names() == ["default", names[1], names[2]]
    assert first.closed
    with pytest.raises(sqlite3.ProgrammingError):  # its store is closed: nothing of it stays open
        first.ingestor.store.registry.count()
    assert "refus" in await ask(0)  # ...and opens again when its server asks
    assert simcord_bot.spaces.open_names() == ["default", names[2], names[0]]

    async with simcord_bot.spaces.use(names[2]) as busy:  # a question being answered in it
        assert "refus" in await ask(0)
        assert "refus" in await ask(1)  # evicts it: the least recently used
        assert names[2] not in simcord_bot.spaces.open_names() and not busy.closed
        assert "refus" in busy.engine.ask("why was Loach expelled?").text
    assert busy.closed


# -- 15. the cooldown is counted in each server on its own ---------------------------------------------
async def test_the_cooldown_is_per_server(world, simcord_bot, bot_settings):
    env, _guild, general, _mods, alice = world
    bot_settings.bot.cooldown_seconds = 10
    other = env.create_guild("Second")
    lobby = other.create_text_channel("lobby")
    there = other.add_member(alice.user)  # the same person, a member of both servers
    assert "refus" in embed_of(await alice.slash(general, "ask", question="why was Loach expelled?")).description
    elsewhere = await there.slash(lobby, "ask", question="why was Loach expelled?")
    assert "refus" in embed_of(elsewhere).description  # not "You're asking quickly"
    again = await alice.slash(general, "ask", question="Who leads the Labour Party?")
    assert again.response.ephemeral and "asking quickly" in again.response.content


# -- 16. a mistyped source id is one private reply naming Discord's own commands --------------------------
async def test_a_mistyped_source_id_is_one_private_reply_naming_discord_commands(world, simcord_bot):
    env, guild, channel, _mods, _alice = world
    mod = await moderator(env, simcord_bot, guild)
    expected = "There is no source with id `nope` in this server; /source list shows them."
    for command in ("source remove", "source refresh"):
        result = await mod.slash(channel, command, source="nope")
        await env.settle()
        shown = [result.response.content] + [f.content for f in result.followups]
        assert shown == [expected] and result.response.ephemeral, (command, shown)
    sent = json.dumps([request.json for request in env.http_requests])
    assert "couldn't finish" not in sent and "python -m" not in sent
    listed = await mod.slash(channel, "source list")
    assert listed.response.embeds[0].title == "1 source"
    assert "12 chunks" in listed.response.embeds[0].description


# -- 17. /source refresh asks conditionally: an unchanged page costs no body -------------------------------
async def test_refresh_of_an_unchanged_page_downloads_no_body(world, simcord_bot, bot_settings):
    env, guild, channel, _mods, _alice = world
    mod = await moderator(env, simcord_bot, guild)
    bot_settings.ingest.fetch_allow_hosts = ["127.0.0.1"]
    routes = Routes()
    routes.page("/ferry.html", "<title>Ferry</title><p>The ferry sails at 7am.</p>", etag='"v1"')
    with serve(routes) as base:
        await mod.slash(channel, "source add", url=f"{base}/ferry.html", source_id="ferry")
        await env.settle()
        same = await mod.slash(channel, "source refresh", source="ferry")
        await env.settle()
        assert routes.hits == ["/ferry.html"] * 2 and routes.bodies == ["/ferry.html"]  # a 304, no body
        assert "is unchanged: the page has not changed since it was last fetched" in same.response.content
        routes.page("/ferry.html", "<title>Ferry</title><p>The ferry now sails at 9am.</p>", etag='"v2"')
        changed = await mod.slash(channel, "source refresh", source="ferry")
        await env.settle()
        assert "Replaced **Ferry** as `ferry` (1 chunk)" in changed.response.content
        assert routes.bodies == ["/ferry.html"] * 2
    registry = (await space_of(simcord_bot, guild)).ingestor.store.registry
    assert "9am" in registry.text("ferry") and registry.get("ferry").added_by.startswith("mo")


# -- 18. buttons keep working after 15 minutes and after a restart; a gone record gets a note ----------
async def test_buttons_work_after_a_restart_and_a_gone_answer_gets_a_private_note(
    world, simcord_bot, bot_settings, embedder
):
    from bot.discord_app import build_bot

    env, guild, channel, mods, alice = world
    bot_settings.bot.moderators_channel = mods.id
    mod = await moderator(env, simcord_bot, guild)
    asked = await alice.slash(channel, "ask", question="why was Loach expelled?")
    answer = asked.response.message
    copy = ARTICLE.read_text(encoding="utf-8").replace("Loach, 85,", "Loach, aged 85,")
    held = await mod.slash(channel, "source add", file=("loach-copy.txt", copy.encode()))
    await env.settle()
    assert "Add it anyway?" in held.response.content
    await env.advance_time(16 * 60)  # past the 15 minutes an interaction's token lives
    restarted = build_bot(bot_settings, embedder=embedder)  # a new process: nothing in memory
    await env.restart_bot(restarted)

    shown = await alice.click(answer, label="Show passages")
    assert shown.response.ephemeral and "refus" in shown.response.content
    voted = await alice.click(answer, label="Not helpful")
    assert voted.response.ephemeral and voted.response.content == "Thanks for the feedback."
    await env.settle()
    assert "Not helpful" in mods.last_message.content and "refus" in mods.last_message.content
    again = await alice.click(answer, label="Helpful")
    assert again.response.content == "You already gave feedback on this answer."
    [verdict] = restarted.feedback.all(space=guild_space(guild.id))
    assert verdict["helpful"] is False and verdict["citations"]

    await mod.click(held.response.message, label="Add anyway")
    await env.settle()
    assert (await space_of(restarted, guild)).ingestor.store.registry.get("loach-copy").status == "ready"

    await env.advance_time(bot_settings.bot.buttons_keep_hours * 3600 + 1)  # the answer is no longer kept
    late = await alice.click(answer, label="Show passages")
    assert late.response.ephemeral and "no longer kept" in late.response.content
