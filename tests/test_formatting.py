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


def test_a_large_insights_report_fits_an_embed():
    """#21: hundreds of long questions and sources are cut politely ('... and N more'), members'
    text escaped, and the embed stays inside every Discord limit, with the table or the chart."""
    from bot.formatting import EMBED_TOTAL, FIELD_LIMIT, FIELDS_MAX
    from bot.insights_embed import report_embed
    from index_store.questions import QuestionRecord
    from insights.report import SourceInfo, summarise

    long = "why **does** the <@&1> @everyone library " + "really " * 100 + "close?"
    records = [
        QuestionRecord(f"r{i}", "g", 1000.0 + i, "slash", f"{i} {long}", i % 2 == 0, 0.4, (("s" * 60 + str(i), 3),))
        for i in range(400)
    ]
    records += [QuestionRecord("v", "g", 2000.0, "menu", long, True, 0.9, (("x", 1),), not_helpful=2)]
    sources = [SourceInfo(f"source-{i}", "A very long title " * 20) for i in range(300)]
    report = summarise("g", records, sources, now=5000.0, since=0.0, days=None, recording=False, keep_days=90)
    for chart in (True, False):
        embed = report_embed(report, chart=chart)
        assert len(embed) <= EMBED_TOTAL and len(embed.fields) <= FIELDS_MAX
        assert all(len(f.value) <= FIELD_LIMIT and len(f.name) <= 256 for f in embed.fields)
        values = "\n".join(f.value for f in embed.fields)
        assert "more" in values and "@everyone" not in values and "@\u200beveryone" in values
        assert "\\*\\*does\\*\\*" in values and "Recording is off" in embed.description
