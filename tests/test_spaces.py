"""Spaces in the store: each space sees only its own sources, chunks, ids, hashes and
generation; stores written before spaces migrate to ``default`` without re-embedding."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from conftest import ARTICLE

from bench.spaces_migration import old_layout
from citebot.engine import Engine
from common.errors import StoreError, UsageError
from common.settings import Settings
from index_store.chroma import chroma_client
from index_store.chroma_registry import ChromaRegistry
from index_store.embedding import Embedder
from index_store.registry import SourceRecord
from index_store.store import Store, collection_name
from ingest.pipeline import Ingestor
from ingest.sources import Sources

QUESTION = "why was Loach expelled?"


def space_ingestor(settings: Settings, embedder: Embedder, space: str) -> Ingestor:
    return Ingestor(settings, store=Store.from_settings(settings, space=space), embedder=embedder)


def test_two_spaces_share_nothing(settings: Settings, embedder: Embedder) -> None:
    a = space_ingestor(settings, embedder, "guild-1")
    b = space_ingestor(settings, embedder, "guild-2")
    [added] = a.add_path(ARTICLE)
    assert added.status == "added"
    assert b.store.registry.all() == [] and b.store.count() == 0
    assert b.store.registry.get(added.source_id) is None
    generation = b.store.registry.generation()
    # the same file in B is B's own source: not a duplicate of A's, not a near-duplicate either
    [again] = b.add_path(ARTICLE)
    assert again.status == "added" and again.source_id == added.source_id
    assert b.store.registry.generation() != generation
    # removing it in B leaves A's untouched
    b.remove(added.source_id)
    assert a.store.registry.get(added.source_id) is not None and a.store.count() == added.chunks
    answer = Engine(settings, store=b.store, embedder=embedder).ask(QUESTION)
    assert not answer.answered and not answer.citations
    assert Engine(settings, store=a.store, embedder=embedder).ask(QUESTION).answered


def test_near_duplicate_check_sees_only_its_space(settings: Settings, embedder: Embedder) -> None:
    a = space_ingestor(settings, embedder, "guild-1")
    b = space_ingestor(settings, embedder, "guild-2")
    a.add_path(ARTICLE)
    sources = Sources(b)
    text = ARTICLE.read_text(encoding="utf-8").replace("Loach, 85,", "Loach, aged 85,")
    incoming = sources.from_text("Loach", text, origin="pasted")
    assert sources.add(incoming, added_by="mod").status == "added"
    # within A the same text is a near-duplicate of A's article
    assert Sources(a).add(incoming, added_by="mod").status == "near-duplicate"


def test_space_names_are_checked(settings: Settings) -> None:
    with pytest.raises(UsageError):
        Store.from_settings(settings, space="../etc")


# -- migration of stores written before spaces --------------------------------------------
def test_an_old_store_migrates_to_default_without_reembedding(settings: Settings, embedder: Embedder) -> None:
    job = space_ingestor(settings, embedder, "default")
    [added] = job.add_path(ARTICLE)
    job.store.close()
    registry = settings.store_path / "registry.sqlite3"
    old_layout(registry)
    # read-only, the old layout reads as the default space and is left as it is
    old = Store.from_settings(settings, read_only=True)
    assert [r.id for r in old.registry.all()] == [added.source_id]
    old.close()
    assert "space" not in {row[1] for row in sqlite3.connect(registry).execute("PRAGMA table_info(sources)")}

    class NoEncoder(Embedder):
        def embed(self, texts):  # type: ignore[no-untyped-def]
            raise AssertionError("migration must not re-embed")

    for _ in range(2):  # the first open migrates; the second finds nothing to do
        store = Store.from_settings(settings)
        assert store.collection_name == collection_name(settings)
        assert [r.id for r in store.registry.all(status="ready")] == [added.source_id]
        assert store.count() == added.chunks
        Ingestor(settings, store=store, embedder=NoEncoder()).recover()
        store.close()
    assert Store.from_settings(settings, space="guild-1").registry.count() == 0
    engine = Engine(settings, store=Store.from_settings(settings, read_only=True), embedder=embedder)
    assert engine.ask(QUESTION).answered


def test_a_failed_migration_leaves_the_old_layout(settings: Settings, embedder: Embedder, monkeypatch) -> None:
    job = space_ingestor(settings, embedder, "default")
    job.add_path(ARTICLE)
    job.store.close()
    registry = settings.store_path / "registry.sqlite3"
    old_layout(registry)
    import index_store.sqlite_registry as module

    # a crash half-way through the script (here: a statement that fails after the first copies)
    monkeypatch.setattr(module, "_MIGRATE", module._MIGRATE.replace("DROP TABLE meta_unspaced;", "SELECT nope;"))
    with pytest.raises(StoreError):
        module.SqliteRegistry(registry)
    monkeypatch.undo()
    assert "space" not in {row[1] for row in sqlite3.connect(registry).execute("PRAGMA table_info(sources)")}
    assert Store.from_settings(settings).registry.count() == 1


def test_a_server_registry_migrates_and_finishes_an_interrupted_move(tmp_path: Path, settings: Settings) -> None:
    client = chroma_client(settings.store, tmp_path, read_only=False)
    col = client.get_or_create_collection("reg", embedding_function=None, metadata={"citebot": "registry"})
    meta = {"title": "T", "origin": "o", "content_hash": "h", "added_by": "me", "added_at": "2024-01-01T00:00:00+00:00"}
    col.add(
        ids=["src:a", "src:b", "meta:collection"],
        embeddings=[[0.0]] * 3,
        metadatas=[
            meta | {"kind": "source", "chunk_count": 3, "status": "ready"},
            meta | {"kind": "source", "chunk_count": 2, "status": "ready", "content_hash": "h2"},
            {"kind": "meta", "value": "chunks-col"},
        ],
        documents=["text a", "text b", ""],
    )
    with pytest.raises(StoreError, match="predates spaces"):
        ChromaRegistry(client, "reg", read_only=True)
    # an interrupted move: 'a' already copied to its new id, its old record not yet deleted
    col.add(
        ids=["src:default:a"],
        embeddings=[[0.0]],
        metadatas=[meta | {"kind": "source", "chunk_count": 3, "status": "ready", "space": "default"}],
        documents=["text a"],
    )
    registry = ChromaRegistry(client, "reg")
    assert sorted(r.id for r in registry.all()) == ["a", "b"]
    assert registry.text("a") == "text a" and registry.get_meta("collection") == "chunks-col"
    assert sorted(col.get(include=[])["ids"]) == sorted(
        ["src:default:a", "src:default:b", "meta:default:collection", "schema:spaces"]
    )
    other = ChromaRegistry(client, "reg", space="guild-1")
    assert other.all() == [] and other.get("a") is None
    other.begin(SourceRecord("a", "B's", "o2", "h", "mod", "2024-01-02T00:00:00+00:00", 0, "pending"), "b text")
    assert registry.get("a") is not None and registry.get("a").title == "T"  # type: ignore[union-attr]
    assert [r.id for r in other.by_hash("h")] == ["a"] and [r.id for r in registry.by_hash("h")] == ["a"]
    assert ChromaRegistry(client, "reg", read_only=True).count() == 2


def test_a_space_is_seeded_once_in_its_life(settings: Settings, embedder: Embedder) -> None:
    job = space_ingestor(settings, embedder, "guild-7")
    [seeded] = job.prepare_space([ARTICLE])
    assert seeded.status == "added" and job.prepare_space([ARTICLE]) == []
    job.remove(seeded.source_id)  # its moderators removed the default source: a restart keeps it removed
    job.store.close()
    again = space_ingestor(settings, embedder, "guild-7")
    assert again.prepare_space([ARTICLE]) == [] and again.store.registry.count() == 0
