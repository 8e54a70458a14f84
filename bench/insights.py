"""Moderators' insights: the time to summarise 10,000 recorded questions, and what recording
adds to an answer.

    python -m bench.insights                 # 10,000 questions
    python -m bench.insights --records 50000

The recorded questions are real ones (the public question sets of ../shared/eval and questions
made from BBC headlines), embedded by the bundled model as the engine embeds them, asked with a
skewed popularity (some questions asked often, most once or twice), about a third unanswered,
one in ten voted, citing 40 sources.  The summary is timed end to end: reading every record of
the space from the SQLite file, grouping the unanswered ones by meaning, counting sources and
days.  A worst case follows: 10,000 questions all unanswered and all different (random vectors,
so no two group).  Recording is timed on real answers of the engine (question vector included)
written into the same file, one at a time as the bot writes them.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.answer_latency import questions
from bench.common import ARTICLE, header, percentile, store_settings, summary_ms
from common.logs import setup_logging

if TYPE_CHECKING:
    from index_store.questions import QuestionLog
    from insights.recorder import Insights

SPACE = "guild-1"
DAY = 86400.0


def fill(log: QuestionLog, pool: list[str], vectors: np.ndarray, count: int, *, now: float, rng: random.Random) -> None:
    """``count`` records drawn from ``pool``: a few questions asked often, most rarely; a third of
    the distinct questions unanswered; one in ten voted; answers citing 1-3 of 40 sources."""
    from index_store.questions import QuestionRecord

    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(pool))]
    missing = set(rng.sample(range(len(pool)), len(pool) // 3))
    for n, i in enumerate(rng.choices(range(len(pool)), weights=weights, k=count)):
        answered = i not in missing
        cited = tuple((f"source-{rng.randrange(40)}", rng.randint(1, 12)) for _ in range(rng.randint(1, 3)))
        log.add(
            QuestionRecord(
                id=f"q{n}",
                space=SPACE,
                at=now - rng.random() * 30 * DAY,
                where=rng.choice(["slash", "mention", "forum", "menu"]),
                question=pool[i],
                answered=answered,
                confidence=rng.random(),
                citations=cited if answered else (),
                helpful=int(rng.random() < 0.07),
                not_helpful=int(rng.random() < 0.03),
                vector=vectors[i],
            )
        )


def fill_worst(log: QuestionLog, count: int, dim: int, now: float) -> None:
    """``count`` unanswered questions, all different: random vectors, so no two group."""
    from index_store.questions import QuestionRecord

    noise = np.random.default_rng(21).normal(size=(count, dim)).astype(np.float32)
    for n, vector in enumerate(noise):
        log.add(QuestionRecord(f"w{n}", SPACE, now - n, "slash", f"question {n}?", False, 0.1, vector=vector))


def time_report(insights: Insights, label: str, repeat: int) -> dict[str, Any]:
    from insights.report import SourceInfo

    sources = [SourceInfo(f"source-{i}", f"Source {i}") for i in range(60)]
    times: list[float] = []
    report: dict[str, Any] = {}
    for _ in range(repeat):
        t0 = time.perf_counter()
        report = insights.report(SPACE, sources, days=None)
        times.append(time.perf_counter() - t0)
    print(
        f"{label}: median {statistics.median(times):.2f} s, max {max(times):.2f} s over {repeat} "
        f"({report['questions']} questions, {report['unanswered']} unanswered in {len(report['gaps'])} groups)"
    )
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--pool", type=int, default=2_000, help="distinct questions the records are drawn from")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    setup_logging()
    header("insights: summary of recorded questions, recording overhead")

    from citebot.engine import Engine
    from index_store.questions import SqliteQuestionLog
    from ingest.pipeline import Ingestor
    from insights.chart import chart_png
    from insights.recorder import Insights

    with tempfile.TemporaryDirectory(prefix="citebot-bench-") as tmp:
        settings = store_settings(Path(tmp))
        ingestor = Ingestor(settings)
        ingestor.add_path(ARTICLE)
        pool = list(dict.fromkeys(questions(args.pool * 2)))[: args.pool]
        start = time.perf_counter()
        vectors = ingestor.embedder.embed(pool)
        print(f"{len(pool)} distinct questions embedded in {time.perf_counter() - start:.1f} s (set-up, not timed)")

        now = time.time()
        log = SqliteQuestionLog(settings.store_path / "questions.sqlite3")
        insights = Insights(log, keep_days=lambda: 90, clock=lambda: now)
        fill(log, pool, vectors, args.records, now=now, rng=random.Random(21))
        report = time_report(insights, f"summary of {args.records:,} recorded questions", args.repeat)
        t0 = time.perf_counter()
        png = chart_png(report["per_day"])
        print(f"chart of {len(report['per_day'])} days: {time.perf_counter() - t0:.2f} s, {len(png):,} bytes PNG")
        log.clear(SPACE)
        fill_worst(log, args.records, vectors.shape[1], now)
        time_report(insights, f"worst case, {args.records:,} different unanswered questions", args.repeat)

        engine = Engine(settings, store=ingestor.store, embedder=ingestor.embedder)
        answers = [engine.ask(q) for q in pool[:50]]
        answer_times = []
        for q in pool[50:250]:
            t0 = time.perf_counter()
            engine.ask(q)
            answer_times.append(time.perf_counter() - t0)
        record_times = []
        for n in range(1_000):
            t0 = time.perf_counter()
            insights.record(SPACE, answers[n % len(answers)], "slash")
            record_times.append(time.perf_counter() - t0)
        ms = [t * 1000 for t in record_times]
        print(
            f"recording one answer (SQLite, {log.count(SPACE):,} rows): median {statistics.median(ms):.2f} ms, "
            f"p95 {percentile(ms, 95):.2f} ms, max {max(ms):.1f} ms over {len(ms)}"
        )
        print(
            f"for comparison, answering: {summary_ms(answer_times)}; recording adds "
            f"{percentile(record_times, 50) / percentile(answer_times, 50) * 100:.1f}% at the median"
        )
        ingestor.store.close()


if __name__ == "__main__":
    main()
