"""The insights report of one space over a period, as plain JSON-ready data.

Made from the space's question records (``index_store/questions.py``) and its current sources:
how many questions, how many answered, how they were voted; the questions the sources did not
answer, grouped by meaning (``insights/grouping.py``); answered questions voted "not helpful"
with what they cited; the sources cited most and those never cited.  The terminal prints it
(``insights/text.py``) or dumps it as JSON, the bot shows it as an embed and a chart.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from index_store.questions import QuestionRecord
from insights.grouping import group_questions

DAY = 86400.0
PERIODS = {"7d": 7, "30d": 30, "all": None}  # what /insights offers; the terminal takes any --days
WHERE = {  # how each way of asking is named in reports
    "slash": "/ask",
    "mention": "mention thread",
    "forum": "forum post",
    "menu": "context menu",
    "terminal": "terminal",
}
EXAMPLES = 3  # wordings kept for each group of unanswered questions


@dataclass(frozen=True)
class SourceInfo:
    id: str
    title: str


def period_start(now: float, days: int | None, keep_days: int) -> float:
    """The first instant a report covers: midnight UTC ``days - 1`` days before today (today and the
    days before it, whole), never earlier than what is kept."""
    kept = now - keep_days * DAY
    if days is None:
        return kept
    today = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(kept, (today - timedelta(days=days - 1)).timestamp())


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")


def _day(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).date().isoformat()


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def summarise(
    space: str,
    records: Sequence[QuestionRecord],
    sources: Iterable[SourceInfo],
    *,
    now: float,
    since: float,
    days: int | None,
    recording: bool,
    keep_days: int,
) -> dict[str, Any]:
    """The report of ``records`` (one space's, asked from ``since`` on) against its ``sources``."""
    records = [r for r in records if since <= r.at <= now + DAY]
    titles = {s.id: s.title for s in sources}
    total = len(records)
    answered = [r for r in records if r.answered]
    unanswered = [r for r in records if not r.answered]
    return {
        "space": space,
        "period": "all" if days is None else f"{days}d",
        "since": iso(since),
        "until": iso(now),
        "recording": recording,
        "kept_days": keep_days,
        "questions": total,
        "answered": len(answered),
        "unanswered": len(unanswered),
        "answered_share": _share(len(answered), total),
        "voted_helpful": sum(1 for r in records if r.helpful),
        "voted_not_helpful": sum(1 for r in records if r.not_helpful),
        "helpful_share": _share(sum(1 for r in records if r.helpful), total),
        "not_helpful_share": _share(sum(1 for r in records if r.not_helpful), total),
        "where": dict(Counter(r.where for r in records).most_common()),
        "per_day": _per_day(records, since, now, days),
        "gaps": _gaps(unanswered),
        "not_helpful": _not_helpful(answered, titles),
        "sources_cited": _cited(answered, titles),
        "sources_never_cited": _never_cited(answered, titles),
    }


def _per_day(records: Sequence[QuestionRecord], since: float, now: float, days: int | None) -> list[dict[str, Any]]:
    first = since if days is not None or not records else max(since, records[0].at)
    asked: Counter[str] = Counter(_day(r.at) for r in records)
    missed: Counter[str] = Counter(_day(r.at) for r in records if not r.answered)
    start = datetime.fromtimestamp(first, UTC).date()
    end = datetime.fromtimestamp(now, UTC).date()
    out = []
    while start <= end:
        day = start.isoformat()
        out.append({"day": day, "questions": asked[day], "unanswered": missed[day]})
        start += timedelta(days=1)
    return out


def _gaps(unanswered: Sequence[QuestionRecord]) -> list[dict[str, Any]]:
    groups = group_questions([r.question for r in unanswered], [r.vector for r in unanswered])
    out = []
    for group in groups:
        members = [unanswered[i] for i in group.members]
        wordings = list(dict.fromkeys(r.question for r in members if r.question != group.example))
        out.append(
            {
                "count": group.count,
                "question": group.example,
                "also": wordings[: EXAMPLES - 1],
                "last_asked": iso(max(r.at for r in members)),
                # the reader's best probability: near the answering threshold, the sources nearly answer
                "confidence": round(max(r.confidence for r in members), 3),
            }
        )
    return out


def _cited_sources(record: QuestionRecord, titles: dict[str, str]) -> list[dict[str, Any]]:
    paragraphs: dict[str, list[int]] = defaultdict(list)
    for source, paragraph in record.citations:
        if paragraph not in paragraphs[source]:
            paragraphs[source].append(paragraph)
    return [{"source": s, "title": titles.get(s, ""), "paragraphs": sorted(p)} for s, p in paragraphs.items()]


def _not_helpful(answered: Sequence[QuestionRecord], titles: dict[str, str]) -> list[dict[str, Any]]:
    voted = sorted((r for r in answered if r.not_helpful), key=lambda r: (-r.not_helpful, -r.at))
    return [
        {
            "question": r.question,
            "asked": iso(r.at),
            "not_helpful": r.not_helpful,
            "helpful": r.helpful,
            "sources": _cited_sources(r, titles),
        }
        for r in voted
    ]


def _cited(answered: Sequence[QuestionRecord], titles: dict[str, str]) -> list[dict[str, Any]]:
    questions: Counter[str] = Counter()
    paragraphs: dict[str, Counter[int]] = defaultdict(Counter)
    for record in answered:
        for source in {s for s, _ in record.citations}:
            questions[source] += 1
        for source, paragraph in set(record.citations):
            paragraphs[source][paragraph] += 1
    return [
        {
            "source": source,
            "title": titles.get(source, ""),
            "removed": source not in titles,
            "questions": count,
            "paragraphs": [[p, n] for p, n in paragraphs[source].most_common(3)],
        }
        for source, count in questions.most_common()
    ]


def _never_cited(answered: Sequence[QuestionRecord], titles: dict[str, str]) -> list[dict[str, Any]]:
    cited = {s for r in answered for s, _ in r.citations}
    return [{"source": s, "title": t} for s, t in sorted(titles.items()) if s not in cited]
