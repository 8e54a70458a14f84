"""Ingest jobs against a real Chroma store in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ARTICLE

from common.errors import SourceError
from index_store.registry import PENDING, SourceRecord, now_iso
from index_store.store import Store, collection_name
from ingest.pipeline import Ingestor


def snapshot(store: Store) -> tuple[int, list[tuple[str, str, int]], list[str]]:
    records = [(r.id, r.content_hash, r.chunk_count) for r in store.registry.all()]
    return store.count(), records, sorted(c.id for c in store.iter_chunks())


def test_add_records_source_and_chunks(ingestor):
    [outcome] = ingestor.add_path(ARTICLE, added_by="mod")
    assert (outcome.status, outcome.source_id, outcome.chunks) == ("added", "ken-loach-expelled", 12)
    record = ingestor.store.registry.get("ken-loach-expelled")
    assert record.status == "ready" and record.added_by == "mod" and record.chunk_count == 12
    assert record.origin == str(ARTICLE.resolve())
    assert ingestor.store.registry.text("ken-loach-expelled") == ARTICLE.read_text(encoding="utf-8").strip()
    chunks = list(ingestor.store.iter_chunks())
    assert len(chunks) == 12 and {c.paragraph for c in chunks} == set(range(1, 13))


def test_readding_unchanged_content_does_no_work(ingestor, monkeypatch):
    ingestor.add_path(ARTICLE)
    before = snapshot(ingestor.store)
    generation = ingestor.store.registry.generation()

    def no_embedding(texts):
        raise AssertionError("unchanged content was embedded again")

    monkeypatch.setattr(ingestor.embedder, "embed", no_embedding)
    [outcome] = ingestor.add_path(ARTICLE)
    assert outcome.status == "unchanged"
    assert snapshot(ingestor.store) == before
    assert ingestor.store.registry.generation() == generation


def test_changed_content_replaces_the_sources_chunks(ingestor, tmp_path):
    src = tmp_path / "note.txt"
    src.write_text("Alpha beta gamma is a phrase.\nDelta epsilon is another.\n", encoding="utf-8")
    ingestor.add_path(src)
    old_ids = set(ingestor.store.chunk_ids("note"))
    src.write_text("Completely new text about zebras.\n", encoding="utf-8")
    [outcome] = ingestor.add_path(src)
    assert outcome.status == "replaced" and outcome.chunks == 1
    new_ids = set(ingestor.store.chunk_ids("note"))
    assert new_ids and not (new_ids & old_ids)
    assert [c.text for c in ingestor.store.iter_chunks()] == ["Completely new text about zebras."]


def test_same_text_under_another_name_is_a_duplicate(ingestor, tmp_path):
    ingestor.add_path(ARTICLE)
    copy = tmp_path / "copy.txt"
    copy.write_text(ARTICLE.read_text(encoding="utf-8"), encoding="utf-8")
    [outcome] = ingestor.add_path(copy)
    assert outcome.status == "duplicate" and "ken-loach-expelled" in outcome.detail
    assert ingestor.store.registry.get("copy") is None


def test_remove_deletes_chunks_and_registry_entry(ingestor, tmp_path):
    other = tmp_path / "other.txt"
    other.write_text("Something else entirely.\n", encoding="utf-8")
    ingestor.add_path(ARTICLE)
    ingestor.add_path(other)
    outcome = ingestor.remove("ken-loach-expelled")
    assert outcome.status == "removed" and outcome.chunks == 12
    assert ingestor.store.registry.get("ken-loach-expelled") is None
    assert ingestor.store.chunk_ids("ken-loach-expelled") == []
    assert ingestor.store.count() == 1


def test_remove_unknown_source_is_a_clear_error(ingestor):
    with pytest.raises(SourceError, match="no source with id 'nope'"):
        ingestor.remove("nope")


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("evil.exe", b"MZ\x90\x00", "unsupported file type"),
        ("blob.txt", b"\x00\x01\x02binary\x00", "binary"),
        ("latin1.txt", "caf\xe9".encode("latin-1"), "not valid UTF-8"),
        ("empty.txt", b"", "empty"),
        ("blank.md", b"  \n\n \n", "empty"),
    ],
)
def test_bad_files_are_refused_and_change_nothing(ingestor, tmp_path, name, data, message):
    ingestor.add_path(ARTICLE)
    before = snapshot(ingestor.store)
    bad = tmp_path / name
    bad.write_bytes(data)
    with pytest.raises(SourceError, match=message):
        ingestor.add_path(bad)
    assert snapshot(ingestor.store) == before


def test_oversized_file_is_refused(settings, embedder, tmp_path):
    settings.ingest.max_bytes = 100
    job = Ingestor(settings, embedder=embedder)
    big = tmp_path / "big.txt"
    big.write_text("word " * 100, encoding="utf-8")
    with pytest.raises(SourceError, match="over the limit"):
        job.add_path(big)
    assert job.store.count() == 0


def test_directory_with_one_bad_file_changes_nothing(ingestor, tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "good.txt").write_text("A good source.\n", encoding="utf-8")
    (folder / "bad.txt").write_bytes(b"\xff\xfe\x00\x00")
    with pytest.raises(SourceError):
        ingestor.add_path(folder)
    assert ingestor.store.count() == 0 and ingestor.store.registry.count() == 0


def test_directory_ids_follow_relative_paths(ingestor, tmp_path):
    folder = tmp_path / "news"
    (folder / "tech").mkdir(parents=True)
    (folder / "tech" / "Big Story.txt").write_text("Chips got faster.\n", encoding="utf-8")
    (folder / "sport.md").write_text("# Match\n\nThe home side won.\n", encoding="utf-8")
    outcomes = ingestor.add_path(folder, id_prefix="bbc/")
    assert sorted(o.source_id for o in outcomes) == ["bbc/sport", "bbc/tech/big-story"]
    assert ingestor.store.registry.get("bbc/sport").title == "Match"


def test_html_scripts_and_styles_never_become_text(ingestor, tmp_path):
    page = tmp_path / "page.html"
    page.write_text(
        "<html><head><title>Vote news</title><style>p{color:red}</style></head><body>"
        "<script>alert('pwned')</script><h1>Vote</h1><p>The council voted to build a library.</p>"
        "</body></html>",
        encoding="utf-8",
    )
    ingestor.add_path(page)
    text = ingestor.store.registry.text("page")
    assert "library" in text and "alert" not in text and "color" not in text
    assert ingestor.store.registry.get("page").title == "Vote news"


def test_interrupted_source_is_finished_from_stored_text(ingestor):
    text = "Recovered sources are finished later.\nEach paragraph is indexed."
    record = SourceRecord("crashed", "Crashed", "test", "0" * 64, "cli", now_iso(), 0, PENDING)
    ingestor.store.registry.begin(record, text)
    assert ingestor.store.registry.ready_ids() == set()
    [outcome] = ingestor.recover()
    assert outcome.source_id == "crashed" and outcome.chunks == 2
    assert ingestor.store.registry.get("crashed").status == "ready"


def test_collection_name_encodes_model_and_chunking(settings):
    first = collection_name(settings)
    settings.chunking.chunk_size = 256
    assert collection_name(settings) != first
    assert "all-minilm-l6-v2" in first


def test_chunking_change_marks_store_stale_and_reindex_rebuilds(ingestor, settings, embedder, config_path: Path):
    ingestor.add_path(ARTICLE)
    ingestor.store.close()
    settings.chunking.chunk_size = 64
    job = Ingestor(settings, embedder=embedder)
    assert job.store.stale and job.store.count() == 0
    outcomes = job.reindex()
    assert [o.status for o in outcomes] == ["reindexed"]
    assert not job.store.stale and job.store.count() >= 12
    job.store.close()


def test_collection_is_readable_through_llama_index(ingestor, embedder):
    from llama_index.core.vector_stores.types import VectorStoreQuery

    ingestor.add_path(ARTICLE)
    vectors = ingestor.store.vectors  # llama-index's ChromaVectorStore over our collection
    query = embedder.embed_one("why was Loach expelled?").tolist()
    result = vectors.query(VectorStoreQuery(query_embedding=query, similarity_top_k=3))
    assert len(result.nodes) == 3
    top = result.nodes[0]
    assert top.metadata["source_id"] == "ken-loach-expelled" and "refus" in top.get_content()
    vectors.delete("ken-loach-expelled")  # by ref_doc_id, as llama-index deletes a document
    assert ingestor.store.count() == 0


def test_read_only_store_creates_and_writes_nothing(ingestor, settings, tmp_path):
    elsewhere = settings.model_copy(update={"base_dir": tmp_path / "elsewhere"})
    empty = Store.from_settings(elsewhere, read_only=True)
    assert empty.count() == 0 and empty.registry.all() == [] and list(empty.iter_chunks()) == []
    assert not (tmp_path / "elsewhere").exists()

    ingestor.add_path(ARTICLE)
    generation = ingestor.store.registry.generation()
    names = sorted(c.name for c in ingestor.store._client.list_collections())
    other = settings.model_copy(deep=True)
    other.chunking.chunk_size = 64  # a configuration whose collection does not exist yet
    view = Store.from_settings(other, read_only=True)
    assert view.stale and view.count() == 0 and view.chunk_ids("ken-loach-expelled") == []
    assert [r.id for r in view.registry.all()] == ["ken-loach-expelled"]
    view.close()
    assert sorted(c.name for c in ingestor.store._client.list_collections()) == names
    assert ingestor.store.registry.generation() == generation
