"""Scale-out: the same commands against a real Chroma server (``chroma run``) on loopback."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ARTICLE

from citebot.engine import Engine
from common.settings import PROJECT_ROOT, load
from index_store.chroma_registry import ChromaRegistry
from index_store.registry import PENDING, SourceRecord, now_iso
from index_store.sqlite_registry import SqliteRegistry

CHROMA = Path(sys.executable).parent / "chroma"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory) -> Iterator[int]:
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    proc = subprocess.Popen(
        [str(CHROMA), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).read()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("chroma run did not start") from None
            time.sleep(0.2)
    yield port
    proc.terminate()
    proc.wait(timeout=30)


def server_config(directory: Path, port: int, prefix: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "config.toml"
    config.write_text(
        f'[store]\nmode = "server"\nhost = "127.0.0.1"\nport = {port}\npath = "local"\n'
        f'collection_prefix = "{prefix}"\n',
        encoding="utf-8",
    )
    return config


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=False
    )


def test_ingest_process_and_engine_share_the_server(chroma_server, tmp_path, embedder):
    ingest_host = server_config(tmp_path / "ingest-host", chroma_server, "shared")
    bot_host = server_config(tmp_path / "bot-host", chroma_server, "shared")
    added = cli("ingest", "add", str(ARTICLE), "--json", "--config", str(ingest_host))
    assert added.returncode == 0, added.stderr
    # another host, with no local state of its own, sees the source and answers from it
    listed = json.loads(cli("ingest", "list", "--json", "--config", str(bot_host)).stdout)
    assert [(s["id"], s["chunk_count"]) for s in listed] == [("ken-loach-expelled", 12)]
    engine = Engine(load(bot_host), embedder=embedder)
    answer = engine.ask("why was Loach expelled?")
    assert answer.answered and {c.paragraph for c in answer.citations} & {1, 4}
    assert not (tmp_path / "bot-host" / "local" / "registry.sqlite3").exists()
    # a later change by the ingest process is seen by the running engine
    removed = cli("ingest", "remove", "ken-loach-expelled", "--config", str(ingest_host))
    assert removed.returncode == 0, removed.stderr
    assert not engine.ask("why was Loach expelled?").answered


def test_ask_command_against_the_server(chroma_server, tmp_path):
    config = server_config(tmp_path / "host", chroma_server, "askcli")
    assert cli("ingest", "add", str(ARTICLE), "--config", str(config)).returncode == 0
    out = cli("bot", "ask", "--json", "--config", str(config), "What films has Loach made?")
    assert out.returncode == 0, out.stderr
    assert "Kes" in json.loads(out.stdout)["answer"]


@pytest.fixture(params=["sqlite", "chroma"])
def registry(request, tmp_path, chroma_server):
    if request.param == "sqlite":
        reg = SqliteRegistry(tmp_path / "registry.sqlite3")
    else:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        client = chromadb.HttpClient(
            host="127.0.0.1", port=chroma_server, settings=ChromaSettings(anonymized_telemetry=False)
        )
        reg = ChromaRegistry(client, f"reg-{tmp_path.name[-20:]}".replace("_", "-"))
    yield reg
    reg.close()


def test_registry_contract(registry):
    record = SourceRecord("a/b", "Title", "origin", "h" * 64, "mod", now_iso(), 0, PENDING)
    start = registry.generation()
    registry.begin(record, "Body text.")
    after_begin = registry.generation()
    assert after_begin != start
    assert registry.get("a/b").status == "pending" and registry.ready_ids() == set()
    registry.commit("a/b", 3)
    assert registry.get("a/b").chunk_count == 3 and registry.ready_ids() == {"a/b"}
    assert registry.generation() != after_begin
    assert [r.id for r in registry.by_hash("h" * 64)] == ["a/b"]
    assert registry.text("a/b") == "Body text." and registry.count() == 1
    assert registry.spaces() == ["default"]
    assert [r.id for r in registry.all(status="ready")] == ["a/b"] and registry.all(status="pending") == []
    registry.set_meta("collection", "c1")
    assert registry.get_meta("collection") == "c1" and registry.count() == 1
    # a source's note: not a change of the sources (the generation stays), and it goes with the source
    generation = registry.generation()
    registry.set_note("a/b", {"fetch_url": "http://x/?token=t"})
    assert registry.note("a/b") == {"fetch_url": "http://x/?token=t"} and registry.generation() == generation
    assert registry.count() == 1 and [r.id for r in registry.all()] == ["a/b"]
    registry.delete("a/b")
    assert registry.get("a/b") is None and registry.count() == 0 and registry.text("a/b") is None
    assert registry.note("a/b") == {}


def test_read_only_look_at_an_empty_server_creates_nothing(chroma_server, tmp_path):
    import chromadb

    from index_store.store import Store

    client = chromadb.HttpClient(host="127.0.0.1", port=chroma_server)
    before = sorted(c.name for c in client.list_collections())
    view = Store.from_settings(load(server_config(tmp_path / "host", chroma_server, "untouched")), read_only=True)
    assert view.registry.all() == [] and view.registry.generation() == "0" and view.count() == 0
    listed = cli("ingest", "list", "--json", "--config", str(tmp_path / "host" / "config.toml"))
    assert listed.returncode == 0 and json.loads(listed.stdout) == []
    assert sorted(c.name for c in client.list_collections()) == before


def test_two_bot_hosts_share_server_settings_and_conversations(chroma_server, tmp_path):
    from index_store.kv import open_kv
    from index_store.space_settings import SpaceSettingsStore
    from index_store.threads import ThreadHistories

    hosts = [load(server_config(tmp_path / name, chroma_server, "shared-spaces")) for name in ("one", "two")]
    first, second = (SpaceSettingsStore(open_kv(s, "space-settings"), lambda s=s: s.bot) for s in hosts)
    assert second.get("guild-1").moderators_channel is None
    first.update("guild-1", {"moderators_channel": 42, "cooldown_seconds": 3})
    assert second.get("guild-1").moderators_channel == 42 and second.get("guild-1").cooldown_seconds == 3
    assert second.get("guild-2").moderators_channel is None  # another server keeps the defaults
    second.update("guild-1", {}, clear=("cooldown_seconds",))
    assert first.get("guild-1").cooldown_seconds == hosts[0].bot.cooldown_seconds

    one, two = (ThreadHistories(open_kv(s, "threads"), turns=lambda: 2, max_age_hours=lambda: 1) for s in hosts)
    one.record("guild-1", 7, [], "Who leads the Labour Party?")
    two.record("guild-1", 7, two.get("guild-1", 7) or [], "When did he become leader?")
    assert one.get("guild-1", 7) == ["Who leads the Labour Party?", "When did he become leader?"]
    assert not (tmp_path / "two" / "local").exists()


def test_spaces_are_apart_on_the_server(chroma_server, tmp_path, embedder):
    from index_store.store import Store

    config = server_config(tmp_path / "host", chroma_server, "spaces")
    added = cli("ingest", "add", str(ARTICLE), "--space", "guild-1", "--config", str(config))
    assert added.returncode == 0, added.stderr
    listed = cli("ingest", "list", "--json", "--space", "guild-2", "--config", str(config))
    assert listed.returncode == 0 and json.loads(listed.stdout) == []
    settings = load(config)
    ones = Store.from_settings(settings, space="guild-1", read_only=True)
    twos = Store.from_settings(settings, space="guild-2")
    assert ones.collection_name != twos.collection_name and twos.count() == 0
    assert twos.registry.get("ken-loach-expelled") is None and twos.registry.ready_ids() == set()
    assert Engine(settings, store=ones, embedder=embedder).ask("why was Loach expelled?").answered
    assert not Engine(settings, store=twos, embedder=embedder).ask("why was Loach expelled?").answered


@pytest.fixture(params=["sqlite", "chroma"])
def question_log(request, tmp_path, chroma_server):
    """The question record of moderators' insights: a SQLite file embedded, the Chroma server's
    collection in server mode (#21)."""
    from index_store.questions import open_question_log

    if request.param == "sqlite":
        config = tmp_path / "config.toml"
        config.write_text('[store]\npath = "store"\n', encoding="utf-8")
    else:
        config = server_config(tmp_path / "host", chroma_server, f"q{tmp_path.name[-12:]}".replace("_", "-"))
    log = open_question_log(load(config))
    yield log
    log.close()


def test_question_log_contract(question_log):
    import numpy as np

    from index_store.questions import QuestionRecord

    assert question_log.read("guild-1") == [] and question_log.count("guild-1") == 0  # nothing yet: empty
    vector = np.linspace(-1, 1, 384, dtype=np.float32)
    cited = (("ken-loach-expelled", 4), ("ken-loach-expelled", 1))
    for n, (space, at) in enumerate([("guild-1", 100.0), ("guild-1", 200.0), ("guild-2", 150.0)]):
        question_log.add(
            QuestionRecord(f"r{n}", space, at, "slash", f"question {n}?", n == 0, 0.5, cited, vector=vector)
        )
    assert [r.id for r in question_log.read("guild-1")] == ["r0", "r1"]
    assert [r.id for r in question_log.read("guild-1", since=150.0)] == ["r1"]
    first = question_log.read("guild-1")[0]
    assert (first.where, first.question, first.answered, first.confidence, first.citations) == (
        "slash", "question 0?", True, 0.5, cited,
    )  # fmt: skip
    assert np.allclose(first.vector, vector, atol=1e-3)
    assert question_log.vote("guild-1", "r0", False) and question_log.vote("guild-1", "r0", True)
    assert not question_log.vote("guild-2", "r0", True)  # another space's record: untouched
    assert (question_log.read("guild-1")[0].helpful, question_log.read("guild-1")[0].not_helpful) == (1, 1)
    assert question_log.prune(before=160.0) == 2  # both spaces
    assert [r.id for r in question_log.read("guild-1")] == ["r1"] and question_log.count("guild-2") == 0
    assert question_log.clear("guild-1") == 1 and question_log.read("guild-1") == []
