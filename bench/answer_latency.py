"""Answer latency of the full path (embed question, hybrid retrieval, composition).

    python -m bench.answer_latency                      # the article store
    python -m bench.answer_latency --store DIR          # an existing store (DIR/config.toml)

Times every question of ../shared/eval plus questions made from BBC headlines,
after the model is loaded and the lexical index built (those are reported too).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bench.common import ARTICLE, BBC, SHARED, header, peak_rss_mb, store_settings, summary_ms
from common.logs import setup_logging


def questions(limit: int) -> list[str]:
    qs = []
    for path in sorted((SHARED / "eval").glob("*.jsonl")):
        qs += [json.loads(line)["q"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for path in sorted(BBC.rglob("*.txt")):
        if len(qs) >= limit:
            break
        title = path.read_text(encoding="utf-8").splitlines()[0].strip()
        qs.append(f"What happened: {title}?")
    return qs[:limit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", type=Path, help="directory holding config.toml of an existing store")
    parser.add_argument("--questions", type=int, default=200)
    args = parser.parse_args()
    setup_logging()
    header("answer latency")

    from citebot.engine import Engine
    from ingest.pipeline import Ingestor

    with tempfile.TemporaryDirectory(prefix="citebot-bench-") as tmp:
        settings = store_settings(args.store or Path(tmp))
        if args.store is None:
            Ingestor(settings).add_path(ARTICLE)
        engine = Engine(settings)
        start = time.perf_counter()
        engine.embedder.load()
        load = time.perf_counter() - start
        start = time.perf_counter()
        lexical = engine.retriever.lexical()
        build = time.perf_counter() - start
        print(f"store: {engine.store.count()} chunks in {engine.store.registry.count()} sources")
        print(f"model load {load:.2f} s; lexical index build {build:.2f} s ({len(lexical.chunks)} chunks)")
        qs = questions(args.questions)
        engine.ask(qs[0])  # first-call warm-up of torch kernels
        times = []
        answered = 0
        for q in qs:
            t0 = time.perf_counter()
            answer = engine.ask(q)
            times.append(time.perf_counter() - t0)
            answered += answer.answered
        print(f"answer path: {summary_ms(times)} ({answered} answered, {len(qs) - answered} abstained)")
        print(f"peak RSS: {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
