"""The insights report as a Discord embed, inside Discord's limits (fields of 1,024 characters,
6,000 in all): each list shows what fits and says how many more there are.  Everything members
typed is escaped (``md``): a question is shown as itself, never as markdown or a mention."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import discord

from bot.formatting import EMBED_TOTAL, FIELD_LIMIT, md, trim
from insights.text import day_table, overview_lines, paragraphs, period_line

CHART_NAME = "insights.png"
COLOUR = discord.Colour.blurple()
GAPS_BUDGET = 1000
LIST_BUDGET = 800
TABLE_DAYS = 28  # the text table shown when the chart cannot be drawn


def _title(item: dict[str, Any]) -> str:
    title = item.get("title") or ""
    shown = f"{md(trim(title, 70))} (`{item['source']}`)" if title else f"`{item['source']}` (removed)"
    return shown


def _field(embed: discord.Embed, name: str, lines: Sequence[str], budget: int, empty: str) -> None:
    """Add the lines that fit in ``budget`` characters, then '... and N more'."""
    text = ""
    for shown, line in enumerate(lines):
        more = f"\n\u2026 and {len(lines) - shown} more"
        if len(text) + 1 + len(line) + len(more) > budget:
            text += more
            break
        text = f"{text}\n{line}" if text else line
    embed.add_field(name=name, value=text or empty, inline=False)


def report_embed(report: dict[str, Any], *, chart: bool) -> discord.Embed:
    """The report; its image is the attachment ``CHART_NAME`` when ``chart``, else a text table."""
    description = [f"*{period_line(report)}*"]
    if not report["recording"]:
        description.append(
            "**Recording is off for this server**: no new questions are kept "
            "(`/settings set record_questions:true` turns it back on)."
        )
    description += overview_lines(report)
    embed = discord.Embed(title="Insights", description="\n".join(description), colour=COLOUR)
    if not report["questions"]:
        embed.add_field(name="Questions", value="No questions recorded in this period.", inline=False)
    gaps = [f"**{g['count']}\u00d7** {md(trim(g['question'], 150))}" for g in report["gaps"]]
    _field(embed, "Not answered by the sources (grouped by meaning)", gaps, GAPS_BUDGET, "none")
    unhelpful = [
        f"{md(trim(i['question'], 110))} \u2192 "
        + ("; ".join(f"{_title(s)} {paragraphs(s['paragraphs'])}" for s in i["sources"]) or "no source")
        for i in report["not_helpful"]
    ]
    _field(embed, "Answered, voted not helpful", [trim(line, 300) for line in unhelpful], LIST_BUDGET, "none")
    cited = [f"**{i['questions']}** \u00b7 {_title(i)}" for i in report["sources_cited"]]
    _field(embed, "Sources cited most (questions)", cited, LIST_BUDGET, "none")
    never = [_title(i) for i in report["sources_never_cited"]]
    _field(embed, "Sources never cited in this period", never, LIST_BUDGET, "none")
    if chart:
        embed.set_image(url=f"attachment://{CHART_NAME}")
    elif report["questions"]:
        table = "\n".join(day_table(report["per_day"], limit=TABLE_DAYS))
        embed.add_field(name="Per day", value=trim(f"```\n{table}\n```", FIELD_LIMIT), inline=False)
    embed.set_footer(text=f"Only you can see this. Questions are kept {report['kept_days']} days, never who asked.")
    while len(embed) > EMBED_TOTAL and len(embed.fields) > 1:  # cannot happen with the budgets above
        embed.remove_field(1)
    return embed
