"""Issue #20: the defects an adversarial pass found in the terminal commands and the store, one test
(or a few) an item, each at the level a user meets it: the CLIs run as a user runs them, the store
shared with another process, a loopback page server for fetches."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import ARTICLE
from httpserver import Routes, serve
from test_cli import run
from test_reliability2 import assert_verified
from test_sources import allow_loopback

HARBOUR = "The harbour fee is forty pounds a night for a boat under ten metres.\n"


# -- 2. credentials in a URL are refused; secret query values are never shown -----------------------
def test_url_credentials_are_refused_and_secret_query_values_never_shown(config_path: Path, tmp_path: Path):
    allow_loopback(config_path)
    config = str(config_path)
    routes = Routes()
    routes.page("/page.txt?token=abc123&lang=en", HARBOUR, content_type="text/plain; charset=utf-8")
    with serve(routes) as base:
        host = base.removeprefix("http://")
        refused = run("ingest", "add", f"http://alice:s3cret@{host}/page.txt", "--config", config)
        assert refused.returncode == 2 and "cannot carry a user name or password" in refused.stderr
        assert "s3cret" not in refused.stderr + refused.stdout and routes.hits == []

        url = f"{base}/page.txt?token=abc123&lang=en"
        added = run("ingest", "add", url, "--json", "--config", config)
        assert added.returncode == 0, added.stderr
        [outcome] = json.loads(added.stdout)
        assert outcome["status"] == "added" and outcome["source_id"] == "page.txt-lang-en"
        assert routes.hits == ["/page.txt?token=abc123&lang=en"]  # fetched with the real URL
        [listed] = json.loads(run("ingest", "list", "--json", "--config", config).stdout)
        assert listed["origin"] == f"{base}/page.txt?token=REDACTED&lang=en"
        backup = tmp_path / "backup.jsonl"
        assert run("ingest", "export", str(backup), "--config", config).returncode == 0
        refreshed = run("ingest", "refresh", "page.txt-lang-en", "--json", "--config", config)
        assert refreshed.returncode == 0, refreshed.stderr
        assert routes.hits[-1] == "/page.txt?token=abc123&lang=en"  # the secret is kept for fetching again
    asked = run("bot", "ask", "--json", "--config", config, "How much is the harbour fee?")
    assert asked.returncode == 0 and json.loads(asked.stdout)["citations"], asked.stderr
    shown = added.stdout + refreshed.stdout + json.dumps(listed) + backup.read_text(encoding="utf-8") + asked.stdout
    assert "abc123" not in shown and "REDACTED" in asked.stdout
    assert_verified(config_path)


# -- 4. a read-only look at a store made before spaces follows its migration by another process -------
def test_a_read_only_old_store_never_reads_other_spaces_after_a_migration(settings, embedder):
    from bench.spaces_migration import old_layout
    from index_store.registry import PENDING, SourceRecord, now_iso
    from index_store.sqlite_registry import SqliteRegistry
    from index_store.store import Store
    from ingest.pipeline import Ingestor

    job = Ingestor(settings, embedder=embedder)
    [article] = job.add_path(ARTICLE)
    job.store.close()
    path = settings.store_path / "registry.sqlite3"
    old_layout(path)
    reader = Store.from_settings(settings, read_only=True)  # e.g. 'bot ask' on the old store
    generation = reader.registry.generation()
    assert [r.id for r in reader.registry.all()] == [article.source_id]
    # another process opens it to write: the file is migrated, and a server's space gets a source
    writer = SqliteRegistry(path, space="guild-1")
    writer.begin(SourceRecord("riverside", "Riverside", "x", "h" * 64, "mod", now_iso(), 0, PENDING), "Text.")
    writer.commit("riverside", 1)
    writer.close()
    registry = reader.registry
    assert [r.id for r in registry.all()] == [article.source_id] and registry.count() == 1
    assert registry.get("riverside") is None and registry.text("riverside") is None
    assert registry.ready_ids() == {article.source_id} and registry.by_hash("h" * 64) == []
    assert registry.generation() == generation and registry.get_meta("collection") is not None
    reader.close()


# -- 5. a re-sync never brings back a source removed while its page was being fetched ----------------
def test_a_resync_never_writes_a_source_removed_during_its_fetch(ingestor, settings, tmp_path):
    from index_store.kv import open_kv
    from ingest.resync import Resyncer
    from ingest.sources import Sources

    settings.ingest.fetch_allow_hosts = ["127.0.0.1"]
    routes = Routes()
    routes.page("/ferry.html", "<title>Ferry</title><p>The ferry sails at 7am.</p>")
    sources, resyncer = Sources(ingestor), Resyncer(open_kv(settings, "sync"))
    with serve(routes) as base:
        sources.add(sources.from_url(f"{base}/ferry.html", source_id="ferry"), added_by="mo")
        routes.page("/ferry.html", "<title>Ferry</title><p>The ferry now sails at 9am.</p>")
        [record] = resyncer.url_sources(sources)
        checked = resyncer.check(sources, record)  # fetched outside the write lock...
    ingestor.remove("ferry")  # ...while a moderator removed it
    result = resyncer.apply(sources, checked)
    assert result.status == "gone" and "was removed while it was being fetched" in result.detail
    assert ingestor.store.registry.get("ferry") is None and ingestor.store.count() == 0


# -- 9. read-only engines follow the store's generation: new spaces' sources, new vectors -------------
RIVERSIDE = "The Riverside library will open a new reading room on 3 March 2026.\nEntry is free for members.\n"
ADD_TO_TWO_SPACES = """
import sys
from pathlib import Path
from common.settings import load
from index_store.store import Store
from ingest.pipeline import Ingestor
settings = load(sys.argv[1])
for space in ("default", "guild-1"):
    job = Ingestor(settings, store=Store.from_settings(settings, space=space))
    assert [o.status for o in job.add_path(Path(sys.argv[2]))] == ["added"]
    job.store.close()
"""


def test_read_only_engines_see_sources_and_vectors_another_process_adds(config_path, embedder, tmp_path):
    import subprocess
    import sys

    from citebot.engine import Engine
    from common.settings import PROJECT_ROOT, load
    from index_store.store import Store

    assert run("ingest", "add", str(ARTICLE), "--config", str(config_path)).returncode == 0
    settings = load(config_path)
    # 'bot chat' on the default space, and on a space with no sources yet (no collection at all)
    engines = {
        space: Engine(settings, Store.from_settings(settings, space=space, read_only=True), embedder)
        for space in ("default", "guild-1")
    }
    question = "When will the Riverside library open its reading room?"
    assert not any(engine.ask(question).answered for engine in engines.values())
    page = tmp_path / "riverside.txt"
    page.write_text(RIVERSIDE, encoding="utf-8")
    other = [sys.executable, "-c", ADD_TO_TWO_SPACES, str(config_path), str(page)]
    added = subprocess.run(other, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert added.returncode == 0, added.stderr
    for space, engine in engines.items():
        hits = [h for h in engine.evidence(question).hits if h.chunk.source_id == "riverside"]
        assert hits and hits[0].dense_rank is not None, space  # found by the vector search, not BM25 alone
        answer = engine.ask(question)
        assert answer.answered and "3 March 2026" in answer.text, space


# -- 11. a damaged settings or conversations file is named, with the least destructive remedy -------
def test_a_damaged_settings_or_threads_file_is_named_with_its_own_remedy(config_path, tmp_path):
    import os
    import subprocess
    import sys

    from common.settings import PROJECT_ROOT

    config_path.write_text('[store]\npath = "store"\n[ingest]\ndefault_sources = []\n', encoding="utf-8")
    env = os.environ | {"DISCORD_TOKEN": "not-a-token", "CITEBOT_BOT__API_BASE": "http://127.0.0.1:9/api"}
    command = [sys.executable, "-m", "bot", "run", "--config", str(config_path)]
    store = tmp_path / "store"
    store.mkdir()
    for name in ("space-settings.sqlite3", "threads.sqlite3"):
        (store / name).write_bytes(b"this is not a database " * 200)
        out = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=False)
        assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
        [line] = [x for x in out.stderr.splitlines() if x.startswith("error:")]
        assert f"{store / name} is damaged" in line and f"move {name} aside" in line and "not the sources" in line
        assert "registry" not in line and "ingest import" not in line
        (store / name).unlink()


# -- 12. a space name Chroma cannot take is refused up front; verify rebuilds every space ---------------
def test_bad_space_names_are_refused_and_verify_rebuilds_every_space(config_path, tmp_path, capsys):
    import shutil
    import subprocess
    import sys

    from common.settings import PROJECT_ROOT
    from ingest.cli import main as ingest_main

    page = tmp_path / "riverside.txt"
    page.write_text(RIVERSIDE, encoding="utf-8")
    for name in ("guild-", "guild_", "-guild"):
        assert ingest_main(["add", str(page), f"--space={name}", "--config", str(config_path)]) == 2
        refused = capsys.readouterr().err
        assert "is not a space name" in refused and "ending with a letter or digit" in refused
        assert "chroma" not in refused
    assert not (tmp_path / "store").exists()
    other = [sys.executable, "-c", ADD_TO_TWO_SPACES, str(config_path), str(page)]
    assert subprocess.run(other, cwd=PROJECT_ROOT, capture_output=True, timeout=300, check=False).returncode == 0
    chroma = tmp_path / "store" / "chroma"
    with (chroma / "chroma.sqlite3").open("r+b") as f:
        f.write(b"this is not SQLite")
    told = run("ingest", "list", "--config", str(config_path))
    assert told.returncode == 2 and "python -m ingest verify --all-spaces" in told.stderr, told.stderr
    shutil.move(chroma, tmp_path / "chroma.damaged")  # what the message says to do, then its command
    rebuilt = run("ingest", "verify", "--all-spaces", "--config", str(config_path))
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert [line for line in rebuilt.stdout.splitlines() if line.startswith("space")] == [
        "space default: 1 sources, 0 chunks: repaired",
        "space guild-1: 1 sources, 0 chunks: repaired",
    ]
    capsys.readouterr()
    for space in ("default", "guild-1"):  # in this process, which opens the rebuilt index for the first time
        assert ingest_main(["verify", "--check-only", "--space", space, "--json", "--config", str(config_path)]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["consistent"] and report["chunks"] == 2 and report["space"] == space, report
    assert ingest_main(["verify", "--check-only", "--config", str(config_path)]) == 0
    assert "not checked: 1 other space(s) (guild-1); --all-spaces checks every space" in capsys.readouterr().out


# -- 13. an empty store path is an error, not the config's directory -----------------------------------
def test_an_empty_store_path_is_an_error(config_path, monkeypatch, capsys):
    from bot.cli import main as bot_main
    from ingest.cli import main as ingest_main

    monkeypatch.setenv("CITEBOT_STORE__PATH", "")
    assert ingest_main(["list", "--config", str(config_path)]) == 2
    assert bot_main(["ask", "why was Loach expelled?", "--config", str(config_path)]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err.count("store.path: is empty: give the store's directory") == 2, out.err
    monkeypatch.delenv("CITEBOT_STORE__PATH")
    config_path.write_text('[store]\npath = " "\n', encoding="utf-8")
    assert ingest_main(["list", "--config", str(config_path)]) == 2
    assert "store.path: is empty" in capsys.readouterr().err


# -- 14. text that is not valid (lone surrogates, undecodable bytes) is refused per question ------------
def test_questions_that_are_not_valid_text_are_refused_one_by_one(config_path, tmp_path, ingestor):
    import subprocess
    import sys

    from common.settings import PROJECT_ROOT

    def bot(*args: str | bytes, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        command = [sys.executable, "-m", "bot", *args, "--config", str(config_path)]
        return subprocess.run(command, cwd=PROJECT_ROOT, input=stdin, capture_output=True, timeout=300, check=False)

    ingestor.add_path(ARTICLE)  # the store the commands below read, written here: no model load for it
    batch = tmp_path / "qs.jsonl"
    lines = [b'{"q": "why was Loach expelled?"}', b'{"q": "\\ud800"}', b'{"q": "caf\\udcff?"}', b"Who is Ken Loach?"]
    batch.write_bytes(b"\n".join(lines) + b"\n")
    out = bot("ask", "--batch", str(batch))
    assert out.returncode == 1 and b"Traceback" not in out.stderr, out.stderr
    rows = [json.loads(line) for line in out.stdout.decode("utf-8").splitlines()]
    assert [row.get("error", "answered")[:14] for row in rows] == [
        "answered",
        "not valid text",
        "not valid text",
        "answered",
    ]
    assert rows[1]["question"] == "\ud800" and rows[3]["answered"]  # the error row says what it was given

    asked = bot("ask", b"Who is \xff Loach?")
    assert asked.returncode == 2 and b"not valid text" in asked.stderr, asked.stderr
    assert b"TypeError" not in asked.stderr and b"Traceback" not in asked.stderr

    chat = bot("chat", stdin=b"Who is \xff Loach?\nwhy was Loach expelled?\n\n")
    assert chat.returncode == 0 and b"Traceback" not in chat.stderr, chat.stderr
    _greeting, refused, answered, *_ = chat.stdout.decode("utf-8").split("\n? ")
    assert refused.startswith("error: not valid text") and "TypeError" not in refused
    assert "refus" in answered
