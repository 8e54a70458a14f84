"""Ingest jobs: add, remove and reindex sources, idempotently and crash-safely.

Keyed by content hash: re-adding unchanged content does no work; changed
content replaces that source's chunks.  A source is written as ``pending``
first and marked ``ready`` only when all its chunks are in Chroma, so a crash
leaves nothing half-visible, and the next job finishes what was pending from
the text kept in the registry.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from common.settings import Settings
from index_store.embedding import Embedder
from index_store.registry import PENDING, READY, SourceRecord, now_iso
from index_store.store import Chunk, Store
from ingest.chunking import chunk_text, content_hash
from ingest.loaders import SUPPORTED, LoadedSource, SourceError, load_file

log = logging.getLogger(__name__)

_ID_OK = re.compile(r"^[a-z0-9][a-z0-9._/-]{0,159}$")
T = TypeVar("T")
EXPORT_VERSION = 1
NEAR_DUP_SAMPLE = 64  # chunks compared
NEAR_DUP_SIMILARITY = 0.97  # cosine at which two chunks say the same
NEAR_DUP_SHARE = 0.8  # share of chunks that must match one other source


@dataclass(frozen=True)
class Pending:
    """A loaded source waiting to be written."""

    source_id: str
    loaded: LoadedSource
    origin: str
    added_by: str
    added_at: str | None = None  # kept when importing a backup


@dataclass(frozen=True)
class Outcome:
    source_id: str
    status: str  # added | replaced | unchanged | duplicate | removed | reindexed
    chunks: int
    title: str
    detail: str = ""

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-.")
    return slug or "source"


def validate_id(source_id: str) -> str:
    if not _ID_OK.match(source_id) or ".." in source_id:
        raise SourceError(
            f"invalid source id {source_id!r}: use lower-case letters, digits, '.', '_', '-' and '/' "
            "(at most 160 characters)"
        )
    return source_id


def discover(path: Path) -> list[tuple[Path, str]]:
    """The supported files under ``path`` with the source id each gets."""
    if not path.exists():
        raise SourceError(f"{path}: no such file or directory")
    if path.is_file():
        return [(path, slugify(path.stem))]
    found = []
    for file in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED):
        rel = file.relative_to(path).with_suffix("")
        found.append((file, "/".join(slugify(part) for part in rel.parts)))
    if not found:
        raise SourceError(f"{path}: no supported files ({', '.join(sorted(SUPPORTED))})")
    return found


class Ingestor:
    """Writes sources into one Store with one Embedder."""

    def __init__(self, settings: Settings, store: Store | None = None, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.store = store or Store(settings)
        self.embedder = embedder or Embedder(
            settings.embedding.model, device=settings.embedding.device, batch_size=settings.embedding.batch_size
        )

    # -- public jobs ---------------------------------------------------------
    def add_path(
        self,
        path: Path,
        *,
        source_id: str | None = None,
        id_prefix: str = "",
        added_by: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> list[Outcome]:
        """Add a file or every supported file under a directory.

        Every file is read and checked before anything is written, so one bad
        file changes nothing.
        """
        files = discover(path)
        if source_id is not None and len(files) > 1:
            raise SourceError("--id names one source; it cannot be used with a directory")
        who = added_by or self.settings.ingest.added_by
        pending = []
        for file, default_id in files:
            sid = validate_id(source_id or (id_prefix + default_id))
            loaded = load_file(file, self.settings.ingest.max_bytes)
            pending.append(Pending(sid, loaded, str(file.resolve()), who))
        return self.write(pending, progress=progress)

    def remove(self, source_id: str) -> Outcome:
        record = self.store.registry.get(source_id)
        if record is None:
            raise SourceError(f"no source with id {source_id!r} (see: python -m ingest list)")
        # Registry first: a crash in between leaves only unlisted chunks, which are never
        # searched and which 'verify' deletes; never a removed source coming back.
        self.store.registry.delete(source_id)
        self.store.delete_source_chunks(source_id)
        log.info("removed %s (%d chunks)", source_id, record.chunk_count)
        return Outcome(source_id, "removed", record.chunk_count, record.title)

    def reindex(self, progress: Callable[[int], None] | None = None) -> list[Outcome]:
        """Re-chunk and re-embed every source from its stored text into the current collection."""
        records = self.store.registry.all()

        def prepared() -> Iterator[list[tuple[SourceRecord, list[Chunk]]]]:
            for group in _groups(records, self.settings.ingest.batch_sources):
                items = []
                for record in group:
                    self.store.registry.mark_pending(record.id)
                    self.store.delete_source_chunks(record.id)
                    items.append((record, self._chunks(record, self.store.registry.text(record.id) or "")))
                yield items

        outcomes = [Outcome(r.id, "reindexed", n, r.title) for r, n in self._index(prepared(), progress)]
        self.store.mark_collection_current()
        return outcomes

    def recover(self) -> list[Outcome]:
        """Finish sources a crashed job left pending, from their stored text."""
        stuck = self.store.registry.all(status=PENDING)
        if not stuck:
            return []
        log.warning("finishing %d source(s) left pending by an interrupted job", len(stuck))
        items = []
        for record in stuck:
            self.store.delete_source_chunks(record.id)
            items.append((record, self._chunks(record, self.store.registry.text(record.id) or "")))
        return [Outcome(r.id, "added", n, r.title, "recovered") for r, n in self._index([items], None)]

    def verify(self, repair: bool = True) -> dict[str, object]:
        """Check that registry and Chroma agree; with ``repair``, make them agree.

        Pending sources are finished from their stored text, chunks of unknown
        sources are deleted, and a ready source whose chunks are missing or
        stale is indexed again.
        """
        records = {r.id: r for r in self.store.registry.all()}
        counts: Counter[str] = Counter()
        stale: set[str] = set()
        for chunk in self.store.iter_chunks():
            counts[chunk.source_id] += 1
            record = records.get(chunk.source_id)
            if record is not None and not chunk.id.startswith(f"{record.id}#{record.content_hash[:12]}#"):
                stale.add(record.id)
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
            "consistent": not (pending or orphans or broken),
            "repaired": False,
        }
        if repair and not report["consistent"]:
            for sid in orphans:
                self.store.delete_source_chunks(sid)
            for sid in broken:
                self.store.registry.mark_pending(sid)
            self.recover()
            report["repaired"] = True
        return report

    def export(self, path: Path) -> int:
        """Write every source (metadata and text) to a JSON-lines backup; returns the count."""
        records = self.store.registry.all(status=READY)
        tmp = path.with_name(path.name + ".part")
        with tmp.open("w", encoding="utf-8") as out:
            out.write(json.dumps({"citebot_export": EXPORT_VERSION, "sources": len(records)}) + "\n")
            for r in records:
                row = r.to_json() | {"text": self.store.registry.text(r.id) or ""}
                for key in ("status", "chunk_count"):
                    row.pop(key)
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        tmp.replace(path)
        return len(records)

    def import_backup(self, path: Path, progress: Callable[[int], None] | None = None) -> list[Outcome]:
        """Add every source of a backup made by ``export``, keeping ids and provenance."""
        pending = []
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
            head = json.loads(lines[0]) if lines else {}
            if head.get("citebot_export") != EXPORT_VERSION:
                raise SourceError(f"{path}: not a citebot export (version {EXPORT_VERSION})")
            for number, line in enumerate(lines[1:], start=2):
                row = json.loads(line)
                if content_hash(row["text"]) != row["content_hash"]:
                    raise SourceError(f"{path}:{number}: text does not match its content hash")
                loaded = LoadedSource(title=row["title"], text=row["text"], kind="text")
                pending.append(
                    Pending(validate_id(row["id"]), loaded, row["origin"], row["added_by"], added_at=row["added_at"])
                )
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
            if isinstance(exc, SourceError):
                raise
            raise SourceError(f"{path}: cannot read backup ({exc.__class__.__name__}: {exc})") from None
        return self.write(pending, progress=progress)

    # -- internals -----------------------------------------------------------
    def write(self, pending: Sequence[Pending], progress: Callable[[int], None] | None = None) -> list[Outcome]:
        """Write loaded sources. Everything is checked (limits included) before the first write."""
        outcomes: list[Outcome] = []
        todo: list[tuple[SourceRecord, str, list[Chunk], str]] = []
        seen_hash: dict[str, str] = {}
        for item in pending:
            outcome, record = self._plan(item, seen_hash)
            if outcome is not None:
                outcomes.append(outcome)
                if progress:
                    progress(1)
                continue
            assert record is not None
            existed = self.store.registry.get(record.id) is not None
            chunks = self._checked_chunks(record, item.loaded.text)
            todo.append((record, item.loaded.text, chunks, "replaced" if existed else "added"))
        self._check_source_count(sum(1 for *_, status in todo if status == "added"))
        status = {r.id: st for r, _, _, st in todo}

        def prepared() -> Iterator[list[tuple[SourceRecord, list[Chunk]]]]:
            for group in _groups(todo, self.settings.ingest.batch_sources):
                self.store.registry.begin_many([(record, text) for record, text, _, _ in group])
                self.store.delete_sources_chunks([record.id for record, *_ in group])
                yield [(record, chunks) for record, _, chunks, _ in group]

        for record, count in self._index(prepared(), progress):
            outcomes.append(Outcome(record.id, status[record.id], count, record.title))
        return outcomes

    def _checked_chunks(self, record: SourceRecord, text: str) -> list[Chunk]:
        limit = self.settings.ingest.max_chunks_per_source
        # a cheap bound first, so a huge text is refused without splitting it
        if len(text) > limit * self.settings.chunking.chunk_size * 8:
            raise SourceError(f"{record.id}: too long to index (over {limit:,} chunks)")
        chunks = self._chunks(record, text)
        if len(chunks) > limit:
            raise SourceError(f"{record.id}: {len(chunks):,} chunks is over the limit of {limit:,} a source")
        return chunks

    def _check_source_count(self, new_sources: int) -> None:
        limit = self.settings.ingest.max_sources
        if new_sources and self.store.registry.count() + new_sources > limit:
            raise SourceError(
                f"adding {new_sources:,} sources would pass the limit of {limit:,} sources (ingest.max_sources)"
            )

    def _plan(self, item: Pending, seen_hash: dict[str, str]) -> tuple[Outcome | None, SourceRecord | None]:
        digest = content_hash(item.loaded.text)
        existing = self.store.registry.get(item.source_id)
        if existing and existing.content_hash == digest and existing.status == READY:
            return Outcome(item.source_id, "unchanged", existing.chunk_count, existing.title), None
        twins = [r for r in self.store.registry.by_hash(digest) if r.id != item.source_id]
        twin_id = twins[0].id if twins else seen_hash.get(digest)
        if twin_id is not None:
            return Outcome(item.source_id, "duplicate", 0, item.loaded.title, f"same text as {twin_id}"), None
        seen_hash[digest] = item.source_id
        record = SourceRecord(
            id=item.source_id,
            title=item.loaded.title,
            origin=item.origin,
            content_hash=digest,
            added_by=item.added_by,
            added_at=item.added_at or now_iso(),
            chunk_count=0,
            status=PENDING,
        )
        return None, record

    def _chunks(self, record: SourceRecord, text: str) -> list[Chunk]:
        c = self.settings.chunking
        return [
            Chunk(
                id=f"{record.id}#{record.content_hash[:12]}#{i}",
                text=p.text,
                source_id=record.id,
                title=record.title,
                origin=record.origin,
                paragraph=p.paragraph,
                start=p.start,
                end=p.end,
                added_at=record.added_at,
            )
            for i, p in enumerate(chunk_text(text, c.chunk_size, c.chunk_overlap))
        ]

    def _index(
        self, groups: Iterable[Sequence[tuple[SourceRecord, list[Chunk]]]], progress: Callable[[int], None] | None
    ) -> list[tuple[SourceRecord, int]]:
        """Embed group after group in this thread while a writer thread stores the group before,
        so Chroma's writes overlap the encoder. A group's sources are marked ready together,
        once all their chunks are in."""
        done: list[tuple[SourceRecord, int]] = []
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="chroma-writer") as writer:
            previous: Future[list[tuple[SourceRecord, int]]] | None = None
            for items in groups:
                chunks = [ch for _, chs in items for ch in chs]
                vectors = self.embedder.embed([ch.text for ch in chunks])
                if previous is not None:
                    done += previous.result()
                previous = writer.submit(self._store_group, items, chunks, vectors, progress)
            if previous is not None:
                done += previous.result()
        return done

    def _store_group(
        self,
        items: Sequence[tuple[SourceRecord, list[Chunk]]],
        chunks: list[Chunk],
        vectors: np.ndarray,
        progress: Callable[[int], None] | None,
    ) -> list[tuple[SourceRecord, int]]:
        self.store.add_chunks(chunks, vectors)
        self.store.registry.commit_many([(record.id, len(chs)) for record, chs in items])
        if progress:
            progress(len(items))
        return [(record, len(chs)) for record, chs in items]

    # -- one document, with near-duplicate detection (moderators' adds) -------
    def add_document(
        self,
        loaded: LoadedSource,
        *,
        source_id: str,
        origin: str,
        added_by: str,
        force: bool = False,
        stage: Callable[[str], None] | None = None,
    ) -> Outcome:
        """Add one loaded source; a near-duplicate of a ready source is reported, not added,
        unless ``force``."""
        report = stage or (lambda _msg: None)
        outcome, record = self._plan(Pending(validate_id(source_id), loaded, origin, added_by), {})
        if outcome is not None:
            return outcome
        assert record is not None
        chunks = self._checked_chunks(record, loaded.text)
        existed = self.store.registry.get(record.id) is not None
        self._check_source_count(0 if existed else 1)
        report(f"embedding {len(chunks)} chunks")
        vectors = self.embedder.embed([c.text for c in chunks])
        if not force:
            twin = self.near_duplicate(vectors, record.id)
            if twin is not None:
                return Outcome(record.id, "near-duplicate", 0, record.title, f"nearly the same as {twin}")
        report("writing to the index")
        self.store.registry.begin(record, loaded.text)
        self.store.delete_source_chunks(record.id)
        self.store.add_chunks(chunks, vectors)
        self.store.registry.commit(record.id, len(chunks))
        return Outcome(record.id, "replaced" if existed else "added", len(chunks), record.title)

    def near_duplicate(self, vectors: np.ndarray, own_id: str) -> str | None:
        """The ready source that (nearly) every one of these chunk vectors already matches."""
        if len(vectors) == 0 or self.store.count() == 0:
            return None
        sample = vectors[:NEAR_DUP_SAMPLE]
        found = self.store.collection.query(
            query_embeddings=sample.tolist(), n_results=1, include=["metadatas", "distances"]
        )
        ready = self.store.registry.ready_ids()
        votes: Counter[str] = Counter()
        for metas, dists in zip(found["metadatas"], found["distances"], strict=True):
            if metas and dists and 1.0 - dists[0] >= NEAR_DUP_SIMILARITY:
                sid = str(metas[0]["source_id"])
                if sid != own_id and sid in ready:
                    votes[sid] += 1
        if not votes:
            return None
        twin, count = votes.most_common(1)[0]
        return twin if count >= NEAR_DUP_SHARE * len(sample) else None


def _groups(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
