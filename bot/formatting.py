"""Answers as Discord embeds and messages, always inside Discord's limits."""

from __future__ import annotations

import re
from urllib.parse import quote

import discord

from citebot.models import Answer, Citation

CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_LIMIT = 1024
FIELDS_MAX = 25
EMBED_TOTAL = 6000
ANSWER_COLOUR = discord.Colour.blurple()
ABSTAIN_COLOUR = discord.Colour.light_grey()


# Every character Discord's markdown acts on anywhere in a line: emphasis, code, spoilers, masked
# links ([text](url)), angle-bracket links, mentions and timestamps (<@id>, <t:...>), headers.
_MARKUP = re.compile(r"([\\*_~`|\[\]()<>#])")
# ...and the ones it acts on only at the start of a line: list markers ("- ", "+ ", "1. ") and
# subtext ("-# ", whose "#" the pattern above escapes already).
_LINE_START = re.compile(r"^([ \t]*)([-+]|\d+\.)(?=\s|\\#)", re.MULTILINE)


def md(text: str, *, mentions: bool = True) -> str:
    """``text`` shown as itself: source text, titles, questions and names are never Discord
    markdown (no masked links, spoilers, headers, code blocks, lists) and never look like mentions.

    Every markdown character is escaped with a backslash, each one on its own: Discord's own
    ``escape_markdown`` matches a masked link greedily from the first ``[`` to the last ``)``
    and escapes only the first character, so in ``[1] ... [click](https://...)`` the link stays
    live. A trimmed result stays safe: cutting text off its end never unescapes what is left.
    ``mentions=False`` where Discord renders no mentions (an embed's title)."""
    escaped = _LINE_START.sub(_escape_marker, _MARKUP.sub(r"\\\1", text))
    return discord.utils.escape_mentions(escaped) if mentions else escaped


def link(url: str, limit: int = 300) -> str:
    """A URL shown as a plain link (no preview): ``<url>``, with every character that could end the
    brackets or start markdown after them (``<``, ``>``, quotes, spaces, ...) percent-encoded, so
    ``http://host/a>[click](https://phish)`` cannot put a masked link after it."""
    return "<" + quote(url[:limit], safe=":/?#[]@!$&'()*+,;=%-._~") + ">"


def code(text: str, limit: int = 100) -> str:
    """``text`` in a code span: nothing in it renders as markdown (escapes neither, so none are
    added), and a backtick that would close the span early is shown as a look-alike."""
    return "`" + trim(text.replace("`", "\u02cb"), limit) + "`"


def _escape_marker(match: re.Match[str]) -> str:
    indent, marker = match.group(1), match.group(2)
    return indent + (marker[:-1] + "\\." if marker.endswith(".") else "\\" + marker)


def plural(n: int, noun: str) -> str:
    """'1 source', '2 sources'."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def trim(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters at a word boundary, marking the cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.6:
        cut = cut[:space]
    return cut.rstrip() + "\u2026"


def split_text(text: str, limit: int = CONTENT_LIMIT) -> list[str]:
    """Split ``text`` into pieces of at most ``limit`` characters, at line or word ends."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut < limit // 2:
            cut = rest.rfind(" ", 0, limit)
        if cut < limit // 2:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def marker(n: int) -> str:
    """A citation marker as we write it: escaped like everything else, shown as [n]."""
    return md(f"[{n}]")


def citation_line(c: Citation) -> str:
    added = f", added {c.added_at[:10]}" if c.added_at else ""
    return f"{marker(c.n)} {md(c.title)} \u00b7 paragraph {c.paragraph}{added} {md('(')}`{c.source}`{md(')')}"


def answer_embed(answer: Answer) -> discord.Embed:
    colour = ANSWER_COLOUR if answer.answered else ABSTAIN_COLOUR
    embed = discord.Embed(
        # an embed title renders no mentions: only its markdown needs escaping
        title=trim(md(answer.question, mentions=False), TITLE_LIMIT),
        description=trim(md(answer.text), DESCRIPTION_LIMIT - 200),
        colour=colour,
    )
    if answer.note:
        embed.add_field(name="Note", value=trim(md(answer.note), FIELD_LIMIT), inline=False)
    if answer.citations:
        lines = [trim(citation_line(c), FIELD_LIMIT) for c in answer.citations]
        field = ""
        for line in lines:
            if len(field) + len(line) + 1 > FIELD_LIMIT:
                embed.add_field(name="Sources", value=field, inline=False)
                field = ""
            field = f"{field}\n{line}" if field else line
        if field:
            embed.add_field(name="Sources", value=field, inline=False)
        embed.set_footer(text="Quoted verbatim from the sources. Show passages to read each one.")
    _fit(embed)
    return embed


def passages_text(answer: Answer) -> list[str]:
    """The quoted passages, as messages within the content limit."""
    blocks = []
    for c in answer.citations:
        quote = "\n".join(f"> {md(line)}" for line in c.quote.splitlines() if line.strip())
        source = f"{md('(')}`{c.source}`{md(')')}"
        blocks.append(f"**{marker(c.n)} {md(c.title)}**, paragraph {c.paragraph} {source}\n{quote}")
    messages: list[str] = []
    for block in blocks:
        for piece in split_text(block):
            if messages and len(messages[-1]) + len(piece) + 2 <= CONTENT_LIMIT:
                messages[-1] += "\n\n" + piece
            else:
                messages.append(piece)
    return messages or ["No passages."]


def _fit(embed: discord.Embed) -> None:
    """Keep the whole embed under Discord's 6,000-character total."""
    while len(embed) > EMBED_TOTAL and embed.fields:
        embed.remove_field(len(embed.fields) - 1)
    if len(embed) > EMBED_TOTAL and embed.description:
        embed.description = trim(embed.description, max(100, len(embed.description) - (len(embed) - EMBED_TOTAL)))
