"""Answer latency at 10,000 and 100,000 chunks.

    python -m bench.scale_latency [--work DIR] [--sizes 10000 100000]

Ingests the BBC corpus once through the real pipeline, then grows stores of
the requested sizes by adding copies of its sources under distinct ids (their
vectors are copied, not recomputed: this measures answering, not ingest).
Each store is then timed by ``bench.answer_latency`` in a fresh process, so
its peak RSS is that of a bot answering, not of the build.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import ARTICLE, BBC, header, store_settings
from common.logs import setup_logging
from index_store.registry import SourceRecord
from index_store.store import Store


def build_base(directory: Path) -> None:
    from ingest.pipeline import Ingestor

    settings = store_settings(directory)
    ingestor = Ingestor(settings)
    if ingestor.store.registry.count() < 2000:
        print(f"ingesting the BBC corpus into {directory} ...", flush=True)
        ingestor.add_path(ARTICLE)
        ingestor.add_path(BBC, id_prefix="bbc/")
    ingestor.store.close()


def grow(base: Path, target: Path, size: int) -> None:
    """A store of about ``size`` chunks: the article, then BBC sources (copied as often as needed)."""
    src = Store.from_settings(store_settings(base))
    dst = Store.from_settings(store_settings(target))
    if dst.count() >= size * 0.98:
        return
    print(f"growing {target} to {size:,} chunks ...", flush=True)
    records = src.registry.all(status="ready")
    copy = 0
    while dst.count() < size:
        for record in records:
            if dst.count() >= size:
                break
            clone_source(src, dst, record, record.id if copy == 0 else f"copy{copy}/{record.id}")
        copy += 1
    src.close()
    dst.close()


def clone_source(src: Store, dst: Store, record: SourceRecord, sid: str) -> int:
    """Copy one ready source, its chunks and their vectors (nothing is embedded) under the id
    ``sid``; the number of chunks written (0 if ``dst`` has that id already)."""
    if dst.registry.get(sid) is not None:
        return 0
    got = src.collection.get(where={"source_id": record.id}, include=["embeddings", "documents", "metadatas"])
    metas = [dict(m) | {"source_id": sid, "document_id": sid, "ref_doc_id": sid} for m in got["metadatas"]]
    ids = [f"{sid}#{i.split('#', 1)[1]}" for i in got["ids"]]
    clone = SourceRecord(sid, record.title, record.origin, record.content_hash, "bench", record.added_at, 0, "pending")
    dst.registry.begin(clone, src.registry.text(record.id) or "")
    dst.collection.add(ids=ids, embeddings=got["embeddings"], documents=got["documents"], metadatas=metas)
    dst.registry.commit(sid, len(ids))
    return len(ids)


def copy_store_args(parser: argparse.ArgumentParser) -> None:
    """--work and --base, for benchmarks that build stores by copying a base store's vectors."""
    parser.add_argument("--work", type=Path, help="directory for the stores (kept for reuse)")
    parser.add_argument(
        "--base", type=Path, help="an existing store to copy from (DIR/config.toml); default: WORK/base, the BBC corpus"
    )


def work_and_base(args: argparse.Namespace, prefix: str) -> tuple[Path, Path]:
    """The work directory, and the base store (the BBC corpus ingested there once, unless --base)."""
    work: Path = args.work or Path(tempfile.mkdtemp(prefix=prefix))
    if args.base is not None:
        return work, args.base
    build_base(work / "base")
    return work, work / "base"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work", type=Path, help="directory for the stores (kept for reuse)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    setup_logging()
    header("answer latency at scale")
    work = args.work or Path(tempfile.mkdtemp(prefix="citebot-scale-"))
    build_base(work / "base")
    for size in args.sizes:
        target = work / f"s{size}"
        grow(work / "base", target, size)
        print(f"== {size:,} chunks", flush=True)
        subprocess.run([sys.executable, "-m", "bench.answer_latency", "--store", str(target)], check=True)


if __name__ == "__main__":
    main()
