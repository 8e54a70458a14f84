"""Shared helpers for the benchmarks: temporary stores, memory readings, reporting."""

from __future__ import annotations

import platform
import resource
import shlex
import statistics
import sys
from pathlib import Path

from common.settings import PROJECT_ROOT, Settings, load

SHARED = PROJECT_ROOT.parent / "shared"
BBC = SHARED / "corpora" / "bbc-news" / "news"
ARTICLE = PROJECT_ROOT / "sources" / "ken-loach-expelled.txt"


def store_settings(directory: Path) -> Settings:
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "config.toml"
    if not config.exists():
        config.write_text('[store]\npath = "store"\n', encoding="utf-8")
    return load(config)


def article_config(directory: Path, extra: str = "") -> Path:
    """A config for a store in ``directory`` holding the bundled article, ingested by the real CLI
    (and given to every Discord server's space as its default source)."""
    import subprocess
    import sys

    config = directory / "config.toml"
    seed = f"[ingest]\ndefault_sources = [{str(ARTICLE)!r}]\n"
    config.write_text('[store]\npath = "store"\n' + seed + extra, encoding="utf-8")
    subprocess.run(
        [sys.executable, "-m", "ingest", "add", str(ARTICLE), "--config", str(config)],
        cwd=PROJECT_ROOT,
        check=True,
        capture_output=True,
    )
    return config


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """Resident set size of this process now, in MB (Linux)."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"median {statistics.median(ms):.1f} ms, p95 {percentile(ms, 95):.1f} ms, max {max(ms):.1f} ms over {len(ms)}"
    )


def header(title: str) -> None:
    import os

    print(f"# {title}")
    print(f"command: {shlex.join([Path(sys.executable).name, *sys.argv])}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
