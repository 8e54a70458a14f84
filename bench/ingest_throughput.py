"""Ingest throughput: the BBC corpus through the real pipeline vs. raw encoding.

    python -m bench.ingest_throughput [--limit N] [--corpus DIR]

Prints chunks/s of ``Ingestor.add_path`` into a fresh embedded store, chunks/s
of ``SentenceTransformer.encode`` on the same chunk texts (same batch size),
their ratio, and the peak RSS of the ingest.
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
        texts = [c.text for c in ingestor.store.iter_chunks()]
        ingestor.store.close()

    print(f"sources: {len(outcomes)}, chunks: {chunks}, mean chunk {sum(map(len, texts)) / len(texts):.0f} chars")
    print(f"pipeline: {elapsed:.1f} s, {chunks / elapsed:.1f} chunks/s (load, split, embed, write, registry)")
    print(f"peak RSS during ingest: {peak:.0f} MB")
    model = embedder.load()
    start = time.perf_counter()
    model.encode(texts, batch_size=settings.embedding.batch_size, normalize_embeddings=True)
    raw = time.perf_counter() - start
    print(f"raw SentenceTransformer.encode: {raw:.1f} s, {len(texts) / raw:.1f} chunks/s")
    print(f"ratio pipeline/raw: {(chunks / elapsed) / (len(texts) / raw):.2f}")


if __name__ == "__main__":
    main()
