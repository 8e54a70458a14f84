"""Answer latency with many spaces, and with one big space (#10 targets).

    python -m bench.spaces_latency [--work DIR] [--spaces 100] [--per-space 1000] [--big 100000]

Targets: p95 <= 60 ms for a question in one of 100 spaces of 1,000 chunks, and p95 <= 150 ms in
one space of 100,000 chunks (model loaded, lexical index built; both reported apart).

Ingests the BBC corpus once (``bench.scale_latency.build_base``), then builds the stores by
copying its sources with their vectors (nothing is re-embedded): the many-spaces store gives
space ``sNNN`` about ``--per-space`` chunks, each space a different slice of the corpus; the
big store grows the default space to ``--big`` chunks.  Each store is timed in a fresh process
(``--time``), answering questions in turn across ``--timed-spaces`` of its spaces, each with
its own engine, as a bot serving several servers does.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from bench.common import header, peak_rss_mb, store_settings, summary_ms
from bench.scale_latency import clone_source, copy_store_args, grow, work_and_base
from common.logs import setup_logging
from common.spaces import DEFAULT_SPACE
from index_store.store import Store


def space_names(count: int) -> list[str]:
    return [f"s{i:03d}" for i in range(count)]


def build_many(base: Path, target: Path, spaces: int, per_space: int) -> None:
    """``spaces`` spaces of about ``per_space`` chunks each, in one store."""
    settings = store_settings(target)
    src = Store.from_settings(store_settings(base))
    records = src.registry.all(status="ready")
    print(f"building {spaces} spaces of {per_space:,} chunks in {target} ...", flush=True)
    start = time.perf_counter()
    at = 0
    for name in space_names(spaces):
        dst = Store.from_settings(settings, space=name)
        while dst.count() < per_space:
            record = records[at % len(records)]
            clone_source(src, dst, record, record.id if at < len(records) else f"copy{at // len(records)}/{record.id}")
            at += 1
        dst.close()
    src.close()
    print(f"built in {time.perf_counter() - start:.0f} s", flush=True)


def time_store(directory: Path, spaces: list[str], count: int, torch_threads: int) -> None:
    """Time ``count`` questions asked in turn across ``spaces`` of one store (run in its own process)."""
    if torch_threads:
        import torch

        torch.set_num_threads(torch_threads)
    from bench.answer_latency import questions
    from citebot.engine import Engine
    from index_store.embedding import Embedder

    settings = store_settings(directory)
    embedder = Embedder.from_settings(settings.embedding)
    embedder.load()
    first = Engine(settings, store=Store.from_settings(settings, space=spaces[0]), embedder=embedder)
    # as in the bot (bot/spaces.py): the spaces share one sentence-vector cache
    engines = [first] + [
        Engine(settings, Store.from_settings(settings, space=s), embedder, sentence_vectors=first.sentence_vectors)
        for s in spaces[1:]
    ]
    start = time.perf_counter()
    for engine in engines:
        engine.retriever.lexical()
    build = (time.perf_counter() - start) / len(engines)
    chunks = [e.store.count() for e in engines]
    print(f"timed spaces: {len(engines)} of {min(chunks):,}-{max(chunks):,} chunks; lexical build {build:.2f} s each")
    qs = questions(count)
    for engine in engines:
        engine.ask(qs[0])  # first-call warm-up
    times, retrieval = [], []
    answered = 0
    for i, q in enumerate(qs):
        engine = engines[i % len(engines)]
        t0 = time.perf_counter()
        engine.evidence(q)  # what spaces change: encode the question, dense + BM25 search in one space
        t1 = time.perf_counter()
        answered += engine.ask(q).answered
        retrieval.append(t1 - t0)
        times.append(time.perf_counter() - t1)
    print(f"retrieval (question encoded, dense + BM25): {summary_ms(retrieval)}")
    print(f"answer path: {summary_ms(times)} ({answered} answered)")
    again = []
    for i, q in enumerate(qs):
        t0 = time.perf_counter()
        engines[i % len(engines)].ask(q)
        again.append(time.perf_counter() - t0)
    print(f"answer path, asked again (candidate sentences' vectors cached): {summary_ms(again)}")
    print(f"peak RSS: {peak_rss_mb():.0f} MB", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    copy_store_args(parser)
    parser.add_argument("--spaces", type=int, default=100)
    parser.add_argument("--per-space", type=int, default=1000)
    parser.add_argument("--big", type=int, default=100_000, help="chunks of the one-space store (0: skip)")
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--timed-spaces", type=int, default=10, help="spaces of the many-spaces store asked in turn")
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=0,
        help="torch threads while timing (0: torch's default); 1 avoids stalls of torch's thread pool on a busy host",
    )
    parser.add_argument("--time", type=Path, help=argparse.SUPPRESS)  # internal: time one store
    parser.add_argument("--space", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    setup_logging()
    if args.time is not None:
        time_store(args.time, args.space, args.questions, args.torch_threads)
        return
    header("answer latency with spaces")
    work, base = work_and_base(args, "citebot-spaces-")
    runs: list[tuple[str, Path, list[str]]] = []
    if args.spaces:
        many = work / f"many{args.spaces}x{args.per_space}"
        if not (many / "built").exists():
            build_many(base, many, args.spaces, args.per_space)
            (many / "built").touch()
        step = max(1, args.spaces // args.timed_spaces)
        timed = space_names(args.spaces)[::step][: args.timed_spaces]
        runs.append((f"{args.spaces} spaces x {args.per_space:,} chunks", many, timed))
    if args.big:
        big = work / f"big{args.big}"
        grow(base, big, args.big)
        runs.append((f"1 space x {args.big:,} chunks", big, [DEFAULT_SPACE]))
    for label, directory, spaces in runs:
        print(f"== {label}", flush=True)
        command = [sys.executable, "-m", "bench.spaces_latency", "--time", str(directory)]
        options = ["--questions", str(args.questions), "--torch-threads", str(args.torch_threads)]
        subprocess.run([*command, *options, "--space", *spaces], check=True)


if __name__ == "__main__":
    main()
