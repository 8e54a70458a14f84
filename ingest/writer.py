"""Writing sources into the store: the one implementation of the write protocol.

Keyed by content hash: re-adding unchanged content does no work; changed
content replaces that source's chunks.  Every write, whatever started it (an
add, an import, a reindex, a recovery, a repair), goes through
``Writer.write_jobs``: the sources are marked ``pending`` (with their new
text), their old chunks are deleted, the new chunks are added, and only then
are the sources marked ``ready``.  A crash leaves nothing half-visible, and
the next job finishes what was pending from the text kept in the registry
(``ingest/maintenance.py``).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TypeVar

import numpy as np

from common.errors import SourceError, UnknownSourceError
from common.settings import Settings
from common.text import passage_sentences
from index_store.embedding import Embedder
from index_store.packed import pack
from index_store.registry import PENDING, READY, SourceRecord, now_iso
from index_store.store import Chunk, Store
from ingest.chunking import chunk_text, content_hash
from ingest.ids import discover, validate_id
from ingest.loaders import LoadedSource, load_file

log = logging.getLogger(__name__)

T = TypeVar("T")
NEAR_DUP_SAMPLE = 64  # chunks compared
NEAR_DUP_SIMILARITY = 0.97  # cosine at which two chunks say the same
NEAR_DUP_SHARE = 0.8  # share of chunks that must match one other source
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Pending:
    """A loaded source waiting to be written."""

    source_id: str
    loaded: LoadedSource
    origin: str
    added_by: str
    added_at: str | None = None  # kept when importing a backup
    named: bool = False  # the id was given on purpose: it may replace a source of another origin


@dataclass(frozen=True)
class Outcome:
    source_id: str
    status: str  # added | replaced | unchanged | duplicate | near-duplicate | removed | reindexed | skipped
    chunks: int
    title: str
    detail: str = ""

    def to_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Job:
    """One source about to be (re)written."""

    record: SourceRecord
    chunks: list[Chunk]
    text: str | None = None  # its new text; None: the registry holds its text already
    vectors: np.ndarray | None = None  # its chunks' vectors, when already embedded


class Writer:
    """Writes sources into one Store with one Embedder."""

    def __init__(self, settings: Settings, store: Store | None = None, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.store = store or Store.from_settings(settings)
        self.embedder = embedder or Embedder.from_settings(settings.embedding)

    # -- public jobs ---------------------------------------------------------
    def add_path(
        self,
        path: Path,
        *,
        source_id: str | None = None,
        id_prefix: str = "",
        added_by: str | None = None,
        progress: Progress | None = None,
    ) -> list[Outcome]:
        """Add a file or every supported file under a directory.

        Every file is read and checked before anything is written, so one bad
        file changes nothing.
        """
        skipped: list[tuple[Path, str]] = []
        files = discover(path, skipped)
        if source_id is not None and len(files) > 1:
            raise SourceError("--id names one source; it cannot be used with a directory")
        who = added_by or self.settings.ingest.added_by
        pending = []
        for file, default_id in files:
            sid = validate_id(source_id or (id_prefix + default_id))
            loaded = load_file(file, self.settings.ingest.max_bytes)
            pending.append(Pending(sid, loaded, str(file.resolve()), who, named=source_id is not None))
        outside = "not read: a symlink to outside the directory"
        return self.write(pending, progress=progress) + [
            Outcome(id_prefix + sid, "skipped", 0, file.name, outside) for file, sid in skipped
        ]

    def remove(self, source_id: str) -> Outcome:
        record = self.store.registry.get(source_id)
        if record is None:
            raise UnknownSourceError(source_id)
        # Registry first: a crash in between leaves only unlisted chunks, which are never
        # searched and which 'verify' deletes; never a removed source coming back.
        self.store.registry.delete(source_id)
        self.store.delete_source_chunks(source_id)
        log.info("removed %s (%d chunks)", source_id, record.chunk_count)
        return Outcome(source_id, "removed", record.chunk_count, record.title)

    def write(self, pending: Sequence[Pending], progress: Progress | None = None) -> list[Outcome]:
        """Write loaded sources. Everything is checked (limits included) before the first write."""
        outcomes: list[Outcome] = []
        todo: list[tuple[Job, str]] = []
        seen_hash: dict[str, str] = {}
        origins: dict[str, str] = {}
        for item in pending:
            if item.source_id in origins:
                raise SourceError(
                    f"two sources would get the id {item.source_id!r} ({origins[item.source_id]} and {item.origin}); "
                    "nothing was written"
                )
            origins[item.source_id] = item.origin
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
            todo.append((Job(record, chunks, text=item.loaded.text), "replaced" if existed else "added"))
        self._check_source_count(sum(1 for _, status in todo if status == "added"))
        status = {job.record.id: st for job, st in todo}
        jobs = [job for job, _ in todo]
        for record, count in self.write_jobs(groups(jobs, self.settings.ingest.batch_sources), progress):
            outcomes.append(Outcome(record.id, status[record.id], count, record.title))
        return outcomes

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
        self.write_jobs([[Job(record, chunks, text=loaded.text, vectors=vectors)]], None)
        return Outcome(record.id, "replaced" if existed else "added", len(chunks), record.title)

    def near_duplicate(self, vectors: np.ndarray, own_id: str) -> str | None:
        """The ready source that (nearly) every one of these chunk vectors already matches."""
        sample = vectors[:NEAR_DUP_SAMPLE]
        nearest = self.store.nearest_sources(sample)
        if not any(nearest):
            return None
        ready = self.store.registry.ready_ids()
        votes: Counter[str] = Counter()
        for found in nearest:
            if found is not None and found[1] >= NEAR_DUP_SIMILARITY:
                sid = found[0]
                if sid != own_id and sid in ready:
                    votes[sid] += 1
        if not votes:
            return None
        twin, count = votes.most_common(1)[0]
        return twin if count >= NEAR_DUP_SHARE * len(sample) else None

    # -- the write protocol ----------------------------------------------------
    def write_jobs(self, groups: Iterable[Sequence[Job]], progress: Progress | None) -> list[tuple[SourceRecord, int]]:
        """Write group after group: pending -> delete old chunks -> add new chunks -> ready.

        Each group is embedded in this thread while a writer thread stores the group before,
        so Chroma's writes overlap the encoder. A group's sources are marked ready together,
        once all their chunks are in.
        """
        done: list[tuple[SourceRecord, int]] = []
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="chroma-writer") as chroma_writer:
            previous: Future[list[tuple[SourceRecord, int]]] | None = None
            for group in groups:
                self._begin(group)
                chunks, vectors = self._embedded(group)
                if previous is not None:
                    done += previous.result()
                previous = chroma_writer.submit(self._store_group, group, chunks, vectors, progress)
            if previous is not None:
                done += previous.result()
        return done

    def _begin(self, group: Sequence[Job]) -> None:
        """Mark the group's sources pending (storing any new text), then drop their old chunks."""
        fresh = [(job.record, job.text) for job in group if job.text is not None]
        if fresh:
            self.store.registry.begin_many(fresh)
        for job in group:
            if job.text is None and job.record.status != PENDING:
                self.store.registry.mark_pending(job.record.id)
        self.store.delete_sources_chunks([job.record.id for job in group])

    def _embedded(self, group: Sequence[Job]) -> tuple[list[Chunk], np.ndarray]:
        """The group's chunks, each carrying its sentences' vectors, and the chunks' vectors.

        Chunks and sentences go to the encoder in one call; storing sentence vectors at ingest
        means answering never encodes a sentence (``citebot.evidence.candidates``).
        """
        chunks = [ch for job in group for ch in job.chunks]
        given = [job.vectors for job in group]
        have_chunks = all(v is not None for v in given) and bool(chunks)
        sentences = self._sentences(group)
        texts = [t for per_chunk in sentences for t in per_chunk]
        if not have_chunks:
            texts = [ch.text for ch in chunks] + texts
        encoded = self.embedder.embed(texts)
        if have_chunks:
            vectors = np.concatenate([v for v in given if v is not None])
        else:
            vectors, encoded = encoded[: len(chunks)], encoded[len(chunks) :]
        out, at = [], 0
        for chunk, per_chunk in zip(chunks, sentences, strict=True):
            out.append(replace(chunk, sentence_vectors=pack(encoded[at : at + len(per_chunk)])))
            at += len(per_chunk)
        return out, vectors

    def _sentences(self, group: Sequence[Job]) -> list[list[str]]:
        """Each chunk's sentences, split as the answerer splits them."""
        out = []
        for job in group:
            text = job.text if job.text is not None else self.store.registry.text(job.record.id) or ""
            for ch in job.chunks:
                out.append([text[sp.start : sp.end] for sp in passage_sentences(text, ch.start, ch.end)])
        return out

    def _store_group(
        self, group: Sequence[Job], chunks: list[Chunk], vectors: np.ndarray, progress: Progress | None
    ) -> list[tuple[SourceRecord, int]]:
        self.store.add_chunks(chunks, vectors)
        self.store.registry.commit_many([(job.record.id, len(job.chunks)) for job in group])
        if progress:
            progress(len(group))
        return [(job.record, len(job.chunks)) for job in group]

    # -- planning and limits -----------------------------------------------------
    def _checked_chunks(self, record: SourceRecord, text: str) -> list[Chunk]:
        limit = self.settings.ingest.max_chunks_per_source
        # a cheap bound first, so a huge text is refused without splitting it
        if len(text) > limit * self.settings.chunking.chunk_size * 8:
            raise SourceError(f"{record.id}: too long to index (over {limit:,} chunks)")
        chunks = self.chunks(record, text)
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
        if existing and existing.origin != item.origin and not item.named:
            raise SourceError(
                f"the id {item.source_id!r} is already used by another source ({existing.origin}); "
                "give this one another id, or name that id on purpose to replace it"
            )
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

    def chunks(self, record: SourceRecord, text: str) -> list[Chunk]:
        """The chunks of a source's stored text; their ids carry the content hash."""
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


def groups(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
