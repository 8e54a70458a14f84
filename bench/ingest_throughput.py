"""Ingest throughput: the BBC corpus through the real pipeline vs. raw encoding.

    python -m bench.ingest_throughput [--limit N] [--corpus DIR]

Prints the rate of ``Ingestor.write`` into a fresh embedded store and of
``SentenceTransformer.encode`` on everything the ingest embeds (each chunk and
each of its sentences, whose vectors are stored beside it), same batch size,
their ratio, and the peak RSS of the ingest. The target (#9) is measured on
400 articles: ``--limit 400``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.common import BBC, header, peak_rss_mb, store_settings
from common.logs import setup_logging


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=BBC)
    parser.add_argument("--limit", type=int, default=0, help="only the first N files (0: all)")
    args = parser.parse_args()
    setup_logging()
    header("ingest throughput")

    from common.text import passage_sentences
    from index_store.embedding import Embedder
    from ingest.ids import discover
    from ingest.loaders import load_file
    from ingest.pipeline import Ingestor
    from ingest.writer import Pending

    with tempfile.TemporaryDirectory(prefix="citebot-bench-") as tmp:
        settings = store_settings(Path(tmp))
        embedder = Embedder.from_settings(settings.embedding)
        embedder.load()
        ingestor = Ingestor(settings, embedder=embedder)
        files = discover(args.corpus)
        if args.limit:
            files = files[: args.limit]
        start = time.perf_counter()
        pending = [Pending(sid, load_file(f, settings.ingest.max_bytes), str(f), "bench") for f, sid in files]
        outcomes = ingestor.write(pending)
        elapsed = time.perf_counter() - start
        peak = peak_rss_mb()
        chunks = sum(o.chunks for o in outcomes)
        texts = []
        for c in ingestor.store.iter_chunks():
            full = ingestor.store.registry.text(c.source_id) or ""
            texts.append(c.text)
            texts += [full[s.start : s.end] for s in passage_sentences(full, c.start, c.end)]
        ingestor.store.close()

    print(f"sources: {len(outcomes)}, chunks: {chunks}, texts embedded (chunks and sentences): {len(texts)}")
    print(f"pipeline: {elapsed:.1f} s, {len(texts) / elapsed:.1f} texts/s (load, split, embed, write, registry)")
    print(f"peak RSS during ingest: {peak:.0f} MB")
    model = embedder.load()
    start = time.perf_counter()
    model.encode(texts, batch_size=settings.embedding.batch_size, normalize_embeddings=True)
    raw = time.perf_counter() - start
    print(f"raw SentenceTransformer.encode: {raw:.1f} s, {len(texts) / raw:.1f} texts/s")
    print(f"ratio pipeline/raw: {raw / elapsed:.2f}")


if __name__ == "__main__":
    main()
