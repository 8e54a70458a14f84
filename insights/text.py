"""The insights report as plain text (the terminal), and the per-day table the bot falls back to
when the chart cannot be drawn."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from insights.report import WHERE

GROUPS_SHOWN = 20
LIST_SHOWN = 15


def percent(share: float | None) -> str:
    return "-" if share is None else f"{share * 100:.0f}%"


def period_line(report: dict[str, Any]) -> str:
    since, until = report["since"][:10], report["until"][:10]
    if report["period"] == "all":
        return f"everything kept (the last {report['kept_days']} days), {since} to {until} UTC"
    return f"the last {report['period'][:-1]} days, {since} to {until} UTC"


def overview_lines(report: dict[str, Any]) -> list[str]:
    total = report["questions"]
    lines = [
        f"Questions asked: {total}; answered {report['answered']} ({percent(report['answered_share'])}); "
        f"voted helpful {report['voted_helpful']} ({percent(report['helpful_share'])}), "
        f"not helpful {report['voted_not_helpful']} ({percent(report['not_helpful_share'])})"
    ]
    if report["where"]:
        lines.append("Asked through: " + ", ".join(f"{WHERE.get(w, w)} {n}" for w, n in report["where"].items()))
    return lines


def day_table(per_day: Sequence[dict[str, Any]], limit: int | None = None) -> list[str]:
    """``day  asked  unanswered`` rows (the last ``limit`` days), under a header."""
    rows = list(per_day)[-limit:] if limit else list(per_day)
    return ["day         asked  unanswered"] + [
        f"{row['day']}  {row['questions']:>5}  {row['unanswered']:>10}" for row in rows
    ]


def source_name(item: dict[str, Any]) -> str:
    title = item.get("title") or ""
    return f"{title} ({item['source']})" if title else f"{item['source']} (removed)"


def paragraphs(numbers: Sequence[int]) -> str:
    return ("paragraph " if len(numbers) == 1 else "paragraphs ") + ", ".join(str(n) for n in numbers)


def gap_line(gap: dict[str, Any]) -> str:
    also = "; also: " + " | ".join(f'"{w}"' for w in gap["also"]) if gap["also"] else ""
    return f'{gap["count"]:>4}x  "{gap["question"]}"{also}'


def not_helpful_line(item: dict[str, Any]) -> str:
    cited = "; ".join(f"{source_name(s)}, {paragraphs(s['paragraphs'])}" for s in item["sources"]) or "no source"
    return f'"{item["question"]}" ({item["asked"][:10]}, {item["not_helpful"]} not helpful) cited {cited}'


def cited_line(item: dict[str, Any]) -> str:
    top = ", ".join(f"{p} ({n})" for p, n in item["paragraphs"])
    return f"{item['questions']:>4}  {source_name(item)}; most cited paragraphs: {top}"


def render_report(report: dict[str, Any]) -> str:
    """The whole report, for reading in a terminal."""
    lines = [f"Insights for space {report['space']}: {period_line(report)}"]
    if not report["recording"]:
        lines.append("Recording is off for this space: no new questions are recorded.")
    lines += ["", *overview_lines(report)]
    if report["questions"]:
        lines += ["", "Per day:", *("  " + row for row in day_table(report["per_day"]))]
    sections: list[tuple[str, list[str], int]] = [
        (
            "Not answered by the sources, grouped by meaning (most asked first):",
            [gap_line(g) for g in report["gaps"]],
            GROUPS_SHOWN,
        ),
        ("Answered but voted not helpful:", [not_helpful_line(i) for i in report["not_helpful"]], LIST_SHOWN),
        ("Sources cited most (questions citing each):", [cited_line(i) for i in report["sources_cited"]], LIST_SHOWN),
        ("Sources never cited in this period:", [source_name(i) for i in report["sources_never_cited"]], LIST_SHOWN),
    ]
    for heading, items, limit in sections:
        lines += ["", heading]
        lines += [f"  {item}" for item in items[:limit]] or ["  none"]
        if len(items) > limit:
            lines.append(f"  ... and {len(items) - limit} more (--json lists them all)")
    return "\n".join(lines)
