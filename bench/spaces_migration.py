"""Migrating a store written before spaces: its time, and that nothing is re-embedded.

    python -m bench.spaces_migration [--work DIR] [--chunks 15000]

Builds a store of about ``--chunks`` chunks from the BBC corpus (vectors copied, see
``bench.scale_latency``), turns its registry back into the layout every store had before
spaces (``old_layout``), then times the first writable open, which migrates it (every source
to ``default``; the chunks stay in their collection).  The same number of source records is
also migrated in a Chroma-kept registry (server mode's), on an embedded Chroma client.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from bench.common import header, store_settings
from bench.scale_latency import copy_store_args, grow, work_and_base
from common.logs import setup_logging
from index_store.store import Store

_OLD_LAYOUT = """
CREATE TABLE old_sources (id TEXT PRIMARY KEY, title TEXT NOT NULL, origin TEXT NOT NULL,
    content_hash TEXT NOT NULL, added_by TEXT NOT NULL, added_at TEXT NOT NULL,
    chunk_count INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('pending', 'ready')), text TEXT NOT NULL);
INSERT INTO old_sources SELECT id, title, origin, content_hash, added_by, added_at, chunk_count, status, text
    FROM sources;
CREATE TABLE old_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO old_meta SELECT key, value FROM meta;
DROP TABLE sources; DROP TABLE meta;
ALTER TABLE old_sources RENAME TO sources; ALTER TABLE old_meta RENAME TO meta;
CREATE INDEX sources_hash ON sources (content_hash);
"""


def old_layout(registry: Path) -> None:
    """Turn a registry holding one space into the layout of stores written before spaces."""
    db = sqlite3.connect(registry)
    db.executescript(_OLD_LAYOUT)
    db.commit()
    db.close()


def migrate_embedded(source: Path, target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    settings = store_settings(target)
    old_layout(settings.store_path / "registry.sqlite3")
    before = Store.from_settings(settings, read_only=True)  # reads the old layout, changes nothing
    vectors = before.collection.get(limit=50, include=["embeddings"])
    before.close()
    start = time.perf_counter()
    store = Store.from_settings(settings)
    took = time.perf_counter() - start
    sources, chunks = store.registry.count(), store.count()
    after = store.embeddings(vectors["ids"])
    same = all((after[i] == v).all() for i, v in zip(vectors["ids"], vectors["embeddings"], strict=True))
    store.close()
    start = time.perf_counter()
    Store.from_settings(settings).close()
    again = time.perf_counter() - start
    print(f"embedded: {sources:,} sources, {chunks:,} chunks migrated in {took * 1000:.0f} ms")
    print(f"          chunks left in their collection, vectors unchanged (a sample of 50): {same}")
    print(f"          an open with nothing to migrate: {again * 1000:.0f} ms")


def migrate_chroma_registry(records: int, directory: Path) -> None:
    from index_store.chroma import chroma_client
    from index_store.chroma_registry import ChromaRegistry

    settings = store_settings(directory)
    client = chroma_client(settings.store, directory, read_only=False)
    col = client.get_or_create_collection("reg", embedding_function=None, metadata={"citebot": "registry"})
    meta = {"kind": "source", "title": "T", "origin": "o", "added_by": "b", "added_at": "2024-01-01T00:00:00+00:00"}
    for i in range(0, records, 1000):
        batch = range(i, min(records, i + 1000))
        col.add(
            ids=[f"src:bbc/{n}" for n in batch],
            embeddings=[[0.0]] * len(batch),
            metadatas=[meta | {"content_hash": str(n), "chunk_count": 7, "status": "ready"} for n in batch],
            documents=["text " * 400] * len(batch),
        )
    start = time.perf_counter()
    registry = ChromaRegistry(client, "reg")
    took = time.perf_counter() - start
    print(f"chroma registry (server mode's): {registry.count():,} source records migrated in {took * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    copy_store_args(parser)
    parser.add_argument("--chunks", type=int, default=15_000)
    args = parser.parse_args()
    setup_logging()
    header("migrating a store to spaces")
    work, base = work_and_base(args, "citebot-migrate-")
    built = work / f"s{args.chunks}"
    grow(base, built, args.chunks)
    migrate_embedded(built, work / f"migrated{args.chunks}")
    sources = Store.from_settings(store_settings(built), read_only=True).registry.count()
    with tempfile.TemporaryDirectory(prefix="citebot-chroma-registry-") as tmp:
        migrate_chroma_registry(sources, Path(tmp))


if __name__ == "__main__":
    main()
