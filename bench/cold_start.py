"""Terminal cold start: ``python -m bot ask "..."`` end to end, and where the time goes.

    python -m bench.cold_start [--runs 3]

Runs the real command (fresh process each time) on a store holding the article,
then, in one more fresh process, times its phases: importing the modules,
opening the store, loading the model, building the lexical index, answering.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import article_config, header
from common.settings import PROJECT_ROOT

PHASES = """
import time
t0 = time.perf_counter()
from bot import cli  # noqa
from citebot.engine import Engine
from common.settings import load
t1 = time.perf_counter()
engine = Engine(load({config!r}))
t2 = time.perf_counter()
engine.embedder.load()
t3 = time.perf_counter()
engine.retriever.lexical()
t4 = time.perf_counter()
engine.ask("why was Loach expelled?")
t5 = time.perf_counter()
print(f"{{t1-t0:.2f}} {{t2-t1:.2f}} {{t3-t2:.2f}} {{t4-t3:.2f}} {{t5-t4:.3f}}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    header("terminal cold start")
    with tempfile.TemporaryDirectory(prefix="citebot-cold-") as tmp:
        config = article_config(Path(tmp))
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "bot", "ask", "--config", str(config), "why was Loach expelled?"],
                cwd=PROJECT_ROOT,
                check=True,
                capture_output=True,
            )
            times.append(time.perf_counter() - start)
        print(
            f"python -m bot ask: median {statistics.median(times):.2f} s over {args.runs} runs (min {min(times):.2f} s)"
        )
        out = subprocess.run(
            [sys.executable, "-c", PHASES.format(config=str(config))],
            cwd=PROJECT_ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        imports, store, model, lexical, answer = out.stdout.split()
        print(
            f"phases: imports {imports} s, open store {store} s, model load {model} s "
            f"(sentence-transformers + torch imports and weights), lexical index {lexical} s, "
            f"first answer {answer} s (loads the sentence splitter)"
        )


if __name__ == "__main__":
    main()
