"""Memory and first-question latency of a bot serving 1,000 servers, with open spaces bounded or not.

    python -m bench.open_spaces [--work DIR] [--spaces 1000] [--capacity 64]

Builds a store of ``--spaces`` servers' spaces, each holding the bundled article (ingested once,
then copied with its vectors: nothing is re-embedded), then, in a fresh process for each setting of
``bot.max_open_spaces`` (``--capacity`` and, for comparison, as many as there are spaces: every
space stays open, as before the bound), asks one question in every server in turn through the
bot's own path (``CitebotBot.answer``: the server's space opened on first use, under a lease) and
reports the resident memory as it goes and each server's first-question latency (opening its space
included).  A second round asks every server again: with the bound, each of those spaces was
closed and opens again.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ARTICLE, header, peak_rss_mb, rss_mb, store_settings, summary_ms
from bench.scale_latency import clone_source
from common.logs import setup_logging
from common.spaces import guild_space
from index_store.registry import now_iso
from index_store.store import Store

QUESTION = "why was Loach expelled?"


def build(directory: Path, spaces: int) -> None:
    """``spaces`` servers' spaces holding the article (marked seeded, as the bot leaves them)."""
    from ingest.maintenance import SEEDED
    from ingest.pipeline import Ingestor

    settings = store_settings(directory)
    if (directory / "built").exists():
        return
    print(f"building {spaces} spaces in {directory} ...", flush=True)
    started = time.perf_counter()
    base = Ingestor(settings)
    [record] = [r for r in base.store.registry.all() if r.id == "ken-loach-expelled"] or [
        base.store.registry.get(base.add_path(ARTICLE)[0].source_id)
    ]
    assert record is not None
    base.store.registry.set_meta(SEEDED, now_iso())
    for i in range(spaces):
        space = Store.from_settings(settings, space=guild_space(i))
        clone_source(base.store, space, record, record.id)
        space.registry.set_meta(SEEDED, now_iso())
        space.close()
    base.store.close()
    (directory / "built").touch()
    print(f"built in {time.perf_counter() - started:.0f} s", flush=True)


async def time_bot(directory: Path, spaces: int, capacity: int, torch_threads: int) -> None:
    """One question in every server, twice over, through the bot (run in its own process)."""
    from bot.discord_app import build_bot

    if torch_threads:
        import torch

        torch.set_num_threads(torch_threads)

    settings = store_settings(directory)
    settings.bot.max_open_spaces = capacity
    bot = build_bot(settings)
    bot.spaces.default.engine.warm()
    start_rss = rss_mb()
    print(f"== max_open_spaces = {capacity}: model loaded, {start_rss:,.0f} MB resident", flush=True)
    for round_ in ("first", "second"):
        latencies: list[float] = []
        answered = 0
        for i in range(spaces):
            t0 = time.perf_counter()
            answered += (await bot.answer(i, QUESTION)).answered
            latencies.append(time.perf_counter() - t0)
            if round_ == "first" and (i + 1) in (10, 100, 500, spaces):
                open_now = len(bot.spaces.open_names()) - 1
                print(f"after {i + 1:>5} servers: {rss_mb():,.0f} MB resident, {open_now} spaces open", flush=True)
        open_now = len(bot.spaces.open_names()) - 1
        print(f"{round_} question in each server: {summary_ms(latencies)} ({answered} answered)")
        print(f"  mean {statistics.fmean(latencies) * 1000:.1f} ms; servers' spaces open: {open_now}")
    grown = rss_mb() - start_rss
    print(f"resident now {rss_mb():,.0f} MB ({grown:+,.0f} MB since the model loaded); peak {peak_rss_mb():,.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work", type=Path, help="directory for the store (kept for reuse)")
    parser.add_argument("--spaces", type=int, default=1000)
    parser.add_argument("--capacity", type=int, default=None, help="bot.max_open_spaces (default: the setting's)")
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=1,
        help="torch threads (default 1: on a busy 2-core host torch's thread pool stalls for up to a second a "
        "question, which would hide what opening a space costs; 0: torch's default, as the bot runs)",
    )
    parser.add_argument("--time", type=int, help=argparse.SUPPRESS)  # internal: time one capacity
    args = parser.parse_args()
    setup_logging()
    work = args.work or Path(tempfile.mkdtemp(prefix="citebot-open-spaces-"))
    if args.time is not None:
        asyncio.run(time_bot(work, args.spaces, args.time, args.torch_threads))
        return
    header("open spaces: memory and first-question latency")
    build(work, args.spaces)
    capacity = args.capacity or store_settings(work).bot.max_open_spaces
    for setting in (capacity, args.spaces):
        command = [sys.executable, "-m", "bench.open_spaces", "--work", str(work), "--spaces", str(args.spaces)]
        subprocess.run([*command, "--torch-threads", str(args.torch_threads), "--time", str(setting)], check=True)


if __name__ == "__main__":
    main()
