"""Issue #20 through the Discord layer: simcord drives the unmodified discord.py client against
a simulated Discord, with the real engine, Chroma, model and a loopback page server."""

from __future__ import annotations

import json
import re

import pytest
from conftest import space_of
from test_discord import embed_of, moderator

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
    (await space_of(simcord_bot, guild)).ingestor.add_path(page)
    asked = await alice.slash(channel, "ask", question="How do readers donate to the charity [now](https://x.invalid)?")
    embed = embed_of(asked)
    sources = "\n".join(f.value for f in embed.fields)
    passages = await alice.click(asked.response.message, label="Show passages")
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


# -- 2. a URL with credentials is refused; a secret query value is never posted -------------------------
async def test_url_credentials_are_refused_and_secrets_never_posted(world, simcord_bot, bot_settings):
    from httpserver import Routes, serve

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
