"""Bot start-up and event-loop health, against a local fake Discord (REST + gateway).

    python -m bench.discord_bench [--concurrent 50]

Launches ``python -m bot run`` as a user would (unmodified discord.py client),
pointed at ``bench/fake_discord.py`` on loopback, and prints:
- start-up: launch to gateway READY with commands synced, and to the first answer
  (the model loads in the background; the first question waits for it);
- event-loop health: N /ask interactions sent at once, answers per second, latency,
  and the largest gap between gateway heartbeats (sent every 100 ms by
  discord.py's keep-alive, which needs the event loop) beyond their interval.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import article_config, header, percentile
from bench.fake_discord import FakeDiscord
from common.settings import PROJECT_ROOT


def heartbeat_lag_ms(beats: list[float], start: float, end: float, interval: float) -> float:
    inside = [b for b in beats if start <= b <= end]
    gaps = [b - a for a, b in itertools.pairwise(inside)]
    return max(0.0, (max(gaps) - interval) * 1000) if gaps else float("nan")


async def run(concurrent: int) -> None:
    fake = FakeDiscord(heartbeat_ms=100)
    api = await fake.start()
    with tempfile.TemporaryDirectory(prefix="citebot-dbench-") as tmp:
        config = article_config(Path(tmp), "[bot]\ncooldown_seconds = 0\n")
        env = os.environ | {
            "DISCORD_TOKEN": "fake-token",
            "CITEBOT_BOT__API_BASE": api,
            "CITEBOT_BOT__GATEWAY_URL": f"ws://127.0.0.1:{fake.port}/",
        }
        launched = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--config",
            str(config),
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            await asyncio.wait_for(asyncio.gather(fake.ready.wait(), fake.synced.wait()), 120)
            online = max(fake.ready_at or 0, fake.synced_at or 0) - launched
            first = await fake.ask("why was Loach expelled?")
            await asyncio.wait_for(fake.answered[first].wait(), 120)
            first_answer = time.monotonic() - launched
            startup_lag = heartbeat_lag_ms(fake.heartbeats, fake.ready_at or 0, time.monotonic(), 0.1)
            print(f"start-up: online (READY + commands synced) {online:.2f} s after launch")
            print(f"start-up: first answer {first_answer:.2f} s after launch (includes the model load)")
            print(f"start-up: largest heartbeat delay while the model loaded: {startup_lag:.0f} ms")

            await asyncio.sleep(1.0)
            questions = [
                "why was Loach expelled?",
                "Who is Ken Loach?",
                "What films has Loach made?",
                "Who directed the film Titanic?",
                "Which groups were expelled from Labour last month?",
            ]
            sent = time.monotonic()
            tokens = await asyncio.gather(*(fake.ask(questions[i % len(questions)]) for i in range(concurrent)))
            await asyncio.wait_for(asyncio.gather(*(fake.answered[t].wait() for t in tokens)), 300)
            done = time.monotonic()
            answered_at = {r.token: r.at for r in fake.replies if r.payload.get("embeds")}
            latencies = [answered_at[t] - sent for t in tokens]
            deferred = [fake.callbacks[t] - sent for t in tokens]
            lag = heartbeat_lag_ms(fake.heartbeats, sent, done, 0.1)
            rate = concurrent / (done - sent)
            print(f"{concurrent} concurrent /ask: all answered in {done - sent:.2f} s, {rate:.1f} answers/s")
            print(f"  deferred within: max {max(deferred) * 1000:.0f} ms (Discord allows 3 s)")
            print(f"  answer latency: median {percentile(latencies, 50):.2f} s, p95 {percentile(latencies, 95):.2f} s")
            print(f"  event-loop health: largest heartbeat delay {lag:.0f} ms beyond the 100 ms interval")
        finally:
            if proc.returncode is None:
                proc.terminate()
            _, err = await proc.communicate()
            if proc.returncode not in (0, -15) and err:
                print(f"bot exited with {proc.returncode}:\n{err.decode()[-3000:]}")
            await fake.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concurrent", type=int, default=50)
    args = parser.parse_args()
    header("Discord start-up and event-loop health")
    asyncio.run(run(args.concurrent))


if __name__ == "__main__":
    main()
