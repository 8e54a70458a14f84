"""Every kind of source through ingest/sources.py: URLs from the terminal (fetched safely,
allowlisted loopback only), refresh, and the cached source list the bot's autocomplete reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ARTICLE
from httpserver import Routes, serve
from test_cli import run

from ingest.loaders import CONTENT_TYPES, KINDS, SUPPORTED
from ingest.sources import Sources

FERRY = "<html><title>Ferry</title><body><p>The new ferry sails daily at 7am.</p></body></html>"
FERRY_LATER = "<html><title>Ferry</title><body><p>The ferry now sails at 9am.</p></body></html>"


def allow_loopback(config_path: Path) -> None:
    text = config_path.read_text(encoding="utf-8")
    config_path.write_text(text + '\n[ingest]\nfetch_allow_hosts = ["127.0.0.1"]\n', encoding="utf-8")


def test_url_source_is_added_and_refreshed_from_the_terminal(config_path: Path):
    routes = Routes()
    routes.page("/news/ferry.html", FERRY)
    with serve(routes) as base:
        url = f"{base}/news/ferry.html"
        refused = run("ingest", "add", url, "--config", str(config_path))
        assert refused.returncode == 2 and "non-public address" in refused.stderr and routes.hits == []

        allow_loopback(config_path)
        added = run("ingest", "add", url, "--json", "--config", str(config_path))
        assert added.returncode == 0, added.stderr
        [outcome] = json.loads(added.stdout)
        assert (outcome["status"], outcome["source_id"], outcome["title"]) == ("added", "ferry.html", "Ferry")
        [listed] = json.loads(run("ingest", "list", "--json", "--config", str(config_path)).stdout)
        assert listed["origin"] == url and listed["added_by"] == "cli"

        same = run("ingest", "refresh", "ferry.html", "--json", "--config", str(config_path))
        assert same.returncode == 0, same.stderr
        assert json.loads(same.stdout)[0]["status"] == "unchanged"
        routes.page("/news/ferry.html", FERRY_LATER)
        changed = run("ingest", "refresh", "ferry.html", "--json", "--added-by", "ops", "--config", str(config_path))
        assert changed.returncode == 0, changed.stderr
        assert json.loads(changed.stdout)[0]["status"] == "replaced"
    asked = run("bot", "ask", "--json", "--config", str(config_path), "When does the ferry sail?")
    assert "9am" in json.loads(asked.stdout)["answer"]


def test_refresh_needs_a_url_source(config_path: Path):
    assert run("ingest", "add", str(ARTICLE), "--config", str(config_path)).returncode == 0
    out = run("ingest", "refresh", "ken-loach-expelled", "--config", str(config_path))
    assert out.returncode == 2 and "not added from a URL" in out.stderr
    missing = run("ingest", "refresh", "nope", "--config", str(config_path))
    assert missing.returncode == 2 and "no source with id 'nope'" in missing.stderr


def test_one_table_of_kinds_serves_files_uploads_and_urls(ingestor):
    assert {SUPPORTED[s] for k in KINDS for s in k.suffixes} == {k.name for k in KINDS}
    assert CONTENT_TYPES["text/html"] == "html" and SUPPORTED[".md"] == "markdown"
    sources = Sources(ingestor)
    with pytest.raises(ValueError, match=r"unsupported file type '\.exe'"):
        sources.check_upload("../../tool.exe", 10, 1000)
    incoming = sources.from_upload(
        "notes/Town Hall.md", b"# Town hall\n\nIt reopens in June.\n", limit=1000, origin="t"
    )
    assert incoming.source_id == "town-hall"
    outcome = sources.add(incoming, added_by="mod")
    assert (outcome.status, outcome.title) == ("added", "Town hall")
    pasted = sources.add(sources.from_text("Harbour news", "  The harbour opens.\r\n", origin="t"), added_by="mod")
    assert pasted.source_id == "harbour-news" and ingestor.store.registry.text("harbour-news") == "  The harbour opens."


def test_source_list_is_read_again_only_when_the_store_changed(ingestor, monkeypatch):
    sources = Sources(ingestor)
    registry = ingestor.store.registry
    reads = []
    real_all = registry.all
    monkeypatch.setattr(registry, "all", lambda *a, **k: reads.append(1) or real_all(*a, **k))
    assert sources.records() == [] and sources.records() == []
    assert len(reads) == 1
    ingestor.add_path(ARTICLE)
    assert [r.id for r in sources.records()] == ["ken-loach-expelled"]
    assert [r.id for r in sources.records()] == ["ken-loach-expelled"]
    assert len(reads) == 2
