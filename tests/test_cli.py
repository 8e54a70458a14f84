"""The terminal front ends, run as a user runs them (subprocesses, real model)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import ARTICLE

from common.settings import PROJECT_ROOT


def run(*args: str, stdin: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``python -m ARGS`` from the project root, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=timeout,
        check=False,
    )


def test_ingest_then_ask_json_conversation(config_path: Path):
    added = run("ingest", "add", str(ARTICLE), "--json", "--config", str(config_path))
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)[0]["status"] == "added"
    listed = json.loads(run("ingest", "list", "--json", "--config", str(config_path)).stdout)
    assert [s["id"] for s in listed] == ["ken-loach-expelled"]

    asked = run(
        "bot", "ask", "--json", "--config", str(config_path),
        "why was Loach expelled?", "Who leads the Labour Party?", "When did he become leader?",
    )  # fmt: skip
    assert asked.returncode == 0, asked.stderr
    first, _, follow_up = [json.loads(line) for line in asked.stdout.splitlines()]
    assert set(first) == {"question", "answered", "answer", "citations"}
    assert first["answered"] and "refus" in first["answer"]
    citation = first["citations"][0]
    keys = {"n", "source", "title", "origin", "paragraph", "start", "end", "quote", "score"}
    assert keys <= set(citation)
    paragraphs = ARTICLE.read_text(encoding="utf-8").splitlines()
    assert citation["quote"] in paragraphs[citation["paragraph"] - 1]
    assert "April 2020" in follow_up["answer"]


def test_batch_answers_each_line_as_its_own_conversation(config_path: Path, tmp_path: Path):
    assert run("ingest", "add", str(ARTICLE), "--config", str(config_path)).returncode == 0
    batch = tmp_path / "qs.jsonl"
    batch.write_text(
        '{"q": "Who is Ken Loach?"}\nWho directed the film Titanic?\n\n{"q": "When did he become leader?"}\n',
        encoding="utf-8",
    )
    out = run("bot", "ask", "--batch", str(batch), "--config", str(config_path))
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["question"] for r in rows] == [
        "Who is Ken Loach?",
        "Who directed the film Titanic?",
        "When did he become leader?",
    ]
    assert rows[0]["answered"] and not rows[1]["answered"] and rows[1]["citations"] == []


def test_malformed_batch_file_is_a_one_line_usage_error(config_path: Path, tmp_path: Path):
    batch = tmp_path / "qs.jsonl"
    batch.write_text('{"question": "Who is Ken Loach?"}\n', encoding="utf-8")
    out = run("bot", "ask", "--batch", str(batch), "--config", str(config_path))
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.strip() == f"error: {batch}:1: a JSON line needs a 'q' field"


def test_read_only_commands_leave_a_missing_store_missing(config_path: Path, tmp_path: Path):
    # A store that is not there is one clear line (issue #12.9: a mistyped store.path is not an
    # empty store, and an empty backup of it is no backup), and it stays missing.
    listed = run("ingest", "list", "--json", "--config", str(config_path))
    assert listed.returncode == 2 and "no store at" in json.loads(listed.stdout.splitlines()[0])["error"]
    exported = run("ingest", "export", str(tmp_path / "backup.jsonl"), "--config", str(config_path))
    assert exported.returncode == 2 and "no store at" in exported.stderr
    assert not (tmp_path / "store").exists() and not (tmp_path / "backup.jsonl").exists()


def test_library_debug_lines_stay_out_of_the_terminal():
    code = (
        "import logging; from common.logs import setup_logging; setup_logging(); "
        "noisy = logging.getLogger('bm25s'); noisy.setLevel(logging.DEBUG); "  # what bm25s does when imported
        "noisy.debug('Building index from tokens'); logging.getLogger('citebot').warning('kept')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0 and "Building index" not in out.stderr and "kept" in out.stderr


def test_unsupported_file_is_one_line_error_and_store_unchanged(config_path: Path, tmp_path: Path):
    assert run("ingest", "add", str(ARTICLE), "--config", str(config_path)).returncode == 0
    bad = tmp_path / "photo.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0")
    out = run("ingest", "add", str(bad), "--config", str(config_path))
    assert out.returncode != 0
    assert out.stderr.strip().count("\n") == 0 and "unsupported file type" in out.stderr
    unreadable = run("ingest", "add", str(tmp_path / "missing.txt"), "--config", str(config_path))
    assert unreadable.returncode != 0 and "no such file" in unreadable.stderr
    listed = json.loads(run("ingest", "list", "--json", "--config", str(config_path)).stdout)
    assert [(s["id"], s["chunk_count"]) for s in listed] == [("ken-loach-expelled", 12)]


def test_remove_via_cli(config_path: Path):
    assert run("ingest", "add", str(ARTICLE), "--config", str(config_path)).returncode == 0
    out = run("ingest", "remove", "ken-loach-expelled", "--json", "--config", str(config_path))
    assert out.returncode == 0 and json.loads(out.stdout)[0]["status"] == "removed"
    again = run("ingest", "remove", "ken-loach-expelled", "--config", str(config_path))
    assert again.returncode != 0 and "no source with id" in again.stderr


def test_invalid_config_is_a_clear_error(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[store]\nbogus = 1\n", encoding="utf-8")
    out = run("bot", "ask", "hello?", "--config", str(bad))
    assert out.returncode == 2
    assert "store.bogus" in out.stderr and "Traceback" not in out.stderr


def test_main_job_ingests_default_source_then_chats(config_path: Path):
    config_path.write_text(
        config_path.read_text(encoding="utf-8") + f'\n[ingest]\ndefault_sources = ["{ARTICLE}"]\n', encoding="utf-8"
    )
    out = run("bot", "--config", str(config_path), stdin="why was Loach expelled?\n\n")
    assert out.returncode == 0, out.stderr
    assert "added: ken-loach-expelled" in out.stderr
    assert "refus" in out.stdout and "paragraph" in out.stdout


def test_bot_run_without_token_is_a_one_line_error(config_path: Path):
    out = run("bot", "run", "--config", str(config_path))
    assert out.returncode == 2
    assert out.stderr.strip() == "error: DISCORD_TOKEN is not set (the bot's token comes only from the environment)"


def test_second_writer_on_an_embedded_store_is_refused(config_path: Path):
    from common.settings import load
    from index_store.lock import StoreLock

    with StoreLock(load(config_path).store_path, "the Discord bot"):
        out = run("ingest", "add", str(ARTICLE), "--config", str(config_path))
        assert out.returncode == 2
        assert "in use by the Discord bot (pid" in out.stderr and "/source add" in out.stderr
        listed = run("ingest", "list", "--json", "--config", str(config_path))
        assert listed.returncode == 0 and json.loads(listed.stdout) == []
    assert run("ingest", "add", str(ARTICLE), "--config", str(config_path)).returncode == 0
