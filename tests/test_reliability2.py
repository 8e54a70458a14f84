"""Issue #12: the defects an adversarial pass found, one test (or a few) an item.

Each test drives a public entry point (the CLIs, ``Ingestor``, ``Engine``, the
loaders, ``fetch``, the Discord layer) against real stores and files; every
rejection must leave the store exactly as it was, and every test that writes
ends with ``python -m ingest verify --check-only`` reporting a clean store.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

from common.settings import PROJECT_ROOT, load
from ingest.cli import main as ingest_main
from ingest.pipeline import Ingestor


def run(*args: str, stdin: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=timeout,
        check=False,
    )


def assert_verified(config_path: Path) -> dict[str, object]:
    """``python -m ingest verify --check-only`` finds the store clean (run in-process: no model load)."""
    out = io.StringIO()
    with redirect_stdout(out):
        code = ingest_main(["verify", "--check-only", "--json", "--config", str(config_path)])
    report = json.loads(out.getvalue())
    assert code == 0 and report["consistent"], report
    return report


def fresh_settings(directory: Path):  # type: ignore[no-untyped-def]
    directory.mkdir(parents=True)
    (directory / "config.toml").write_text('[store]\npath = "store"\n', encoding="utf-8")
    return load(directory / "config.toml")


# -- 1. a backup must restore whatever text it holds ------------------------------------------
LINE_BREAKS = ["\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


def test_export_import_round_trips_every_unicode_line_break(ingestor, config_path, embedder, tmp_path):
    folder = tmp_path / "odd"
    folder.mkdir()
    for i, brk in enumerate(LINE_BREAKS):
        (folder / f"break-{i}.txt").write_text(
            f"Story {i} begins here.{brk}It goes on after a U+{ord(brk):04X} break.\n\n"
            + f"A second paragraph {i} is long enough that one odd character is not mistaken for binary data. " * 2,
            encoding="utf-8",
        )
    ingestor.add_path(folder)
    texts = {r.id: ingestor.store.registry.text(r.id) for r in ingestor.store.registry.all()}
    assert len(texts) == len(LINE_BREAKS)
    backup = tmp_path / "backup.jsonl"
    assert ingestor.export(backup) == len(LINE_BREAKS)
    assert len(backup.read_text(encoding="utf-8").splitlines()) == len(LINE_BREAKS) + 1
    other = fresh_settings(tmp_path / "other")
    target = Ingestor(other, embedder=embedder)
    outcomes = target.import_backup(backup)
    assert sorted(o.status for o in outcomes) == ["added"] * len(LINE_BREAKS)
    assert {r.id: target.store.registry.text(r.id) for r in target.store.registry.all()} == texts
    target.store.close()
    assert_verified(tmp_path / "other" / "config.toml")
    assert_verified(config_path)
    # a backup written before this fix (raw U+2028 inside a line) is readable too
    raw = tmp_path / "raw.jsonl"
    raw.write_text(backup.read_text(encoding="utf-8").replace("\\u2028", "\u2028"), encoding="utf-8")
    assert "\u2028" in raw.read_text(encoding="utf-8")
    third = Ingestor(fresh_settings(tmp_path / "third"), embedder=embedder)
    assert [o.status for o in third.import_backup(raw)] == ["added"] * len(LINE_BREAKS)
    third.store.close()
    assert_verified(tmp_path / "third" / "config.toml")
