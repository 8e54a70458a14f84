"""Discord limits: embeds and messages are trimmed or split cleanly, never rejected."""

from __future__ import annotations

from bot.formatting import answer_embed, marker, passages_text, split_text, trim
from citebot.models import Answer, Citation


def big_answer(n: int = 30, quote_len: int = 3000) -> Answer:
    citations = [
        Citation(
            i,
            f"source-{i}",
            "A very long title " * 20,
            "/x",
            i,
            0,
            quote_len,
            "word " * (quote_len // 5),
            0.9,
            "2026-01-01",
        )
        for i in range(1, n + 1)
    ]
    return Answer("Why? " * 200, True, "Quoted sentence. [1] " * 800, citations)


def test_answer_embed_fits_discord_limits():
    embed = answer_embed(big_answer())
    assert len(embed) <= 6000
    assert len(embed.title) <= 256 and len(embed.description) <= 4096
    assert len(embed.fields) <= 25 and all(len(f.value) <= 1024 for f in embed.fields)
    assert embed.description.endswith("\u2026")


def test_passages_are_split_into_messages_under_2000_characters():
    pieces = passages_text(big_answer(n=5, quote_len=7000))
    assert len(pieces) > 5 and all(len(p) <= 2000 for p in pieces)
    assert marker(5) in "".join(pieces)  # escaped, as every bracket is: shown as [5]


def test_split_and_trim_keep_words_whole():
    text = " ".join(f"word{i}" for i in range(2000))
    parts = split_text(text, 500)
    assert all(len(p) <= 500 for p in parts) and " ".join(parts) == text
    assert trim("alpha beta gamma delta", 12) == "alpha beta\u2026"
