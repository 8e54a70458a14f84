"""Keeping registry and index in step: recover, reindex, verify and repair.

Every rewrite here goes through ``Writer.write_jobs`` (``ingest/writer.py``)
with the text the registry already holds.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

from common.errors import UserError
from index_store.registry import PENDING, READY, now_iso
from ingest.chunking import content_hash
from ingest.writer import Job, Outcome, Progress, Writer, groups

log = logging.getLogger(__name__)
SEEDED = "seeded"  # meta key: when a space was given the default sources


def reindex(writer: Writer, progress: Progress | None = None) -> list[Outcome]:
    """Re-chunk and re-embed every source from its stored text into the current collection."""
    store = writer.store
    records = store.registry.all()

    def prepared() -> Iterator[Sequence[Job]]:
        for group in groups(records, writer.settings.ingest.batch_sources):
            yield [Job(record, writer.chunks(record, store.registry.text(record.id) or "")) for record in group]

    outcomes = [Outcome(r.id, "reindexed", n, r.title) for r, n in writer.write_jobs(prepared(), progress)]
    store.mark_collection_current()
    return outcomes


def recover(writer: Writer) -> list[Outcome]:
    """Finish sources a crashed job left pending, from their stored text."""
    store = writer.store
    stuck = store.registry.all(status=PENDING)
    if not stuck:
        return []
    log.warning("finishing %d source(s) left pending by an interrupted job", len(stuck))
    jobs = [Job(record, writer.chunks(record, store.registry.text(record.id) or "")) for record in stuck]
    return [Outcome(r.id, "added", n, r.title, "recovered") for r, n in writer.write_jobs([jobs], None)]


def verify(writer: Writer, repair: bool = True) -> dict[str, object]:
    """Check that registry and Chroma agree; with ``repair``, make them agree.

    Pending sources are finished from their stored text, chunks of unknown
    sources are deleted, and a ready source whose chunks are missing or
    stale is indexed again.  A stored text that no longer matches its hash is
    reported as damaged: the store holds nothing to repair it from.
    """
    store = writer.store
    records = {r.id: r for r in store.registry.all()}
    counts: Counter[str] = Counter()
    stale: set[str] = set()
    for chunk in store.iter_chunks():
        counts[chunk.source_id] += 1
        record = records.get(chunk.source_id)
        if record is not None and not chunk.id.startswith(f"{record.id}#{record.content_hash[:12]}#"):
            stale.add(record.id)
    damaged = sorted(
        sid for sid, r in records.items() if content_hash(store.registry.text(sid) or "") != r.content_hash
    )
    pending = sorted(r.id for r in records.values() if r.status == PENDING)
    orphans = sorted(set(counts) - set(records))
    broken = sorted(
        sid for sid, r in records.items() if r.status == READY and (counts[sid] != r.chunk_count or sid in stale)
    )
    report: dict[str, object] = {
        "sources": len(records),
        "chunks": sum(counts.values()),
        "pending": pending,
        "orphaned_sources": orphans,
        "mismatched": broken,
        # a stored text that no longer matches its hash cannot be repaired from the store itself
        "damaged_texts": damaged,
        "consistent": not (pending or orphans or broken or damaged),
        "repaired": False,
    }
    if repair and not report["consistent"]:
        for sid in orphans:
            store.delete_source_chunks(sid)
        for sid in broken:
            store.registry.mark_pending(sid)
        recover(writer)
        report["repaired"] = not damaged
    return report


def prepare_space(writer: Writer, default_sources: Sequence[Path]) -> list[Outcome]:
    """Make a space ready to answer: finish interrupted writes, reindex if the settings changed,
    and give a new space the default sources, once in its life (sources its moderators remove
    later stay removed). Idempotent; callers serialise it with their other writes."""
    store = writer.store
    recover(writer)
    if store.stale:
        reindex(writer)
    if store.registry.get_meta(SEEDED) is not None:
        return []
    outcomes: list[Outcome] = []
    if store.registry.count() == 0:
        for path in default_sources:
            try:
                outcomes += writer.add_path(path)
            except UserError as exc:  # a missing default file must not make the space unusable
                log.warning("space %s: default source %s not added: %s", store.space, path, exc)
    store.registry.set_meta(SEEDED, now_iso())
    log.info("space %s ready: %d default source(s) added", store.space, len(outcomes))
    return outcomes
