"""The store that ingest and the answering engine share: Chroma plus the source registry.

Vectors are written with Chroma's own ``collection.add`` in a layout
llama-index's ``ChromaVectorStore`` reads (``Store.vectors``; see
``add_chunks``).  Chroma runs embedded on local disk by default, or as a
client of a Chroma server (``chroma run``) for scale-out.  Chroma's own
embedding function is never used: every vector is computed by our encoder
and passed in.

A store takes plain values (its settings section, a path, a collection name);
``Store.from_settings`` derives them from the whole configuration.  Opened
``read_only``, it creates nothing and writes nothing: a missing collection or
registry reads as empty.

A store is opened for one space (``common/spaces.py``): its chunks live in a Chroma
collection of their own (``space_collection``; the ``default`` space keeps the collection
name stores had before spaces, so they migrate without re-embedding), and its registry
sees only that space's rows.  One collection a space, rather than a ``where`` filter on
a shared one, was chosen by measurement: ``python -m bench.spaces_layout``.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from common.errors import StoreError
from common.settings import Settings, StoreSettings
from common.spaces import DEFAULT_SPACE, check_space
from index_store import packed
from index_store.chroma import chroma_client, open_collection
from index_store.chroma_registry import ChromaRegistry
from index_store.embedding import model_slug
from index_store.registry import Registry
from index_store.sqlite_registry import SqliteRegistry

if TYPE_CHECKING:
    from llama_index.vector_stores.chroma import ChromaVectorStore

log = logging.getLogger(__name__)

CHUNKING_VERSION = 1  # bump when the way text is split changes
_WRITTEN: set[str] = set()  # embedded stores this process has written to (never reopened, see _refresh)
_REFRESH_LOCK = threading.Lock()


@dataclass(frozen=True)
class Chunk:
    """One retrievable passage and where it sits in its source's stored text."""

    id: str
    text: str
    source_id: str
    title: str
    origin: str
    paragraph: int
    start: int
    end: int
    added_at: str
    # its sentences' vectors (index_store.packed), when ingest stored them; not kept by full scans
    sentence_vectors: str = field(default="", repr=False, compare=False)

    def metadata(self) -> dict[str, Any]:
        extra = {packed.KEY: self.sentence_vectors} if self.sentence_vectors else {}
        return extra | {
            "source_id": self.source_id,
            "title": self.title,
            "origin": self.origin,
            "paragraph": self.paragraph,
            "start": self.start,
            "end": self.end,
            "added_at": self.added_at,
        }

    @classmethod
    def from_stored(cls, chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
        return cls(
            id=chunk_id,
            text=text,
            source_id=str(meta["source_id"]),
            title=str(meta["title"]),
            origin=str(meta["origin"]),
            paragraph=int(meta["paragraph"]),
            start=int(meta["start"]),
            end=int(meta["end"]),
            added_at=str(meta["added_at"]),
            sentence_vectors=str(meta.get(packed.KEY) or ""),
        )


def collection_name(settings: Settings) -> str:
    """Encodes model and chunking, so vectors of two settings never share a collection."""
    c = settings.chunking
    key = f"{settings.embedding.model}|{c.chunk_size}|{c.chunk_overlap}|v{CHUNKING_VERSION}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:8]
    slug = model_slug(settings.embedding.model)
    return f"{settings.store.collection_prefix}-{slug}-c{c.chunk_size}o{c.chunk_overlap}-{digest}"[:63]


def space_collection(base: str, space: str) -> str:
    """The collection of one space's chunks: ``base`` itself for the default space."""
    return base if space == DEFAULT_SPACE else f"{base}--{check_space(space)}"


_NOTHING: dict[str, list[Any]] = {"ids": [], "documents": [], "metadatas": [], "embeddings": []}


def check_exists(settings: Settings, *, must_exist: bool = True) -> None:
    """A store that is not there (a mistyped store.path, for a command that only reads) or whose
    registry was deleted is an error, never a new empty store that answers nothing."""
    if settings.store.mode == "server":
        return
    root = settings.store_path
    if (root / "registry.sqlite3").is_file() or not ((must_exist and not root.exists()) or (root / "chroma").exists()):
        return
    if (root / "chroma").exists():
        raise StoreError(
            f"the source registry {root / 'registry.sqlite3'} is missing; restore the store from a backup: "
            f"move {root} aside, then run python -m ingest import BACKUP_FILE"
        )
    raise StoreError(f"no store at {root} (check store.path in the config); python -m ingest add creates one")


class Store:
    """Registry and vector index of one configuration.

    An embedded store whose index cannot be opened, or whose registry lists no sources beside
    an index that holds chunks (a deleted or emptied registry), is a ``StoreError`` naming the
    file and the way to recover, unless ``accept_empty_registry``.
    """

    def __init__(
        self,
        config: StoreSettings,
        path: Path,
        *,
        collection: str,
        embedding_model: str,
        space: str = DEFAULT_SPACE,
        read_only: bool = False,
        accept_empty_registry: bool = False,
    ) -> None:
        self.config = config
        self.path = path
        self.space = check_space(space)
        self.collection_name = space_collection(collection, space)
        self.read_only = read_only
        self._meta = {"hnsw:space": "cosine", "embedding_model": embedding_model}
        self.registry: Registry
        if config.mode == "server":
            self._client = chroma_client(config, path, read_only)
            self.registry = ChromaRegistry(
                self._client, f"{config.collection_prefix}-registry", space=space, read_only=read_only
            )
            self.collection = open_collection(self._client, self.collection_name, self._meta, read_only)
        else:
            self.registry = SqliteRegistry(path / "registry.sqlite3", space=space, read_only=read_only)
            self._open_embedded(accept_empty_registry)
        self._vectors: ChromaVectorStore | None = None
        self._followed: str | None = None  # the registry generation this store last caught up with
        if not read_only and self.registry.get_meta("collection") is None:
            self.mark_collection_current()

    def _open_embedded(self, accept_empty_registry: bool) -> None:
        try:
            self._client = chroma_client(self.config, self.path, self.read_only)
            self.collection = open_collection(self._client, self.collection_name, self._meta, self.read_only)
        except Exception as exc:  # chromadb raises its own errors (InternalError, ...) for a damaged file
            self.registry.close()
            index = self.path / "chroma"
            first = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0][:200]
            raise StoreError(
                f"the vector index {index / 'chroma.sqlite3'} cannot be opened ({first}); the registry keeps "
                f"every source's text, so move {index} aside and run python -m ingest verify --all-spaces to "
                "rebuild it (every space's vectors)"
            ) from None
        if not accept_empty_registry and self.registry.count() == 0 and (chunks := self.count()) > 0:
            self.registry.close()
            raise StoreError(
                f"the source registry {self.path / 'registry.sqlite3'} lists no sources but the index "
                f"holds {chunks:,} chunks: the registry was deleted or emptied. Restore the store from a backup "
                f"(move {self.path} aside, then python -m ingest import BACKUP_FILE), or, to drop "
                "those chunks, run python -m ingest verify --accept-empty-registry"
            )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        space: str = DEFAULT_SPACE,
        read_only: bool = False,
        accept_empty_registry: bool = False,
    ) -> Store:
        """One space of the store a configuration describes (its collection name encodes model
        and chunking)."""
        return cls(
            settings.store,
            settings.store_path,
            collection=collection_name(settings),
            embedding_model=settings.embedding.model,
            space=space,
            read_only=read_only,
            accept_empty_registry=accept_empty_registry,
        )

    def _refresh(self) -> bool:
        """Reopen an embedded Chroma, so its in-memory vector index sees what other processes wrote.

        Only in a process that never wrote to this store: two open clients writing one directory
        would corrupt it, and a writer holds the store's lock, so no other process changes it."""
        if self.config.mode == "server" or str(self.path) in _WRITTEN:
            return False
        with _REFRESH_LOCK:
            if self._client is not None:
                try:
                    from chromadb.api.shared_system_client import SharedSystemClient

                    SharedSystemClient._identifier_to_system.pop(self._client._identifier, None)
                except (ImportError, AttributeError):
                    return False
            self._client = chroma_client(self.config, self.path, self.read_only)
            self.collection = open_collection(self._client, self.collection_name, self._meta, self.read_only)
            self._vectors = None
        log.info("reopened the vector index to see changes made by another process")
        return True

    def follow(self, generation: str) -> None:
        """Catch up with what other processes wrote, when the registry's ``generation`` says that
        something changed (readers call this once a question).

        Only a read-only store needs to: a writer holds the store's lock, or shares a Chroma
        server, and so sees its own writes.  Read-only, a space's collection that did not exist
        when the store was opened is looked for again, and an embedded index is reopened: it keeps
        in memory the vectors it loaded, and would answer from them alone (new sources reaching
        answers through BM25 only)."""
        if not self.read_only or generation == self._followed:
            return
        first, self._followed = self._followed is None, generation
        if self.collection is None:
            with _REFRESH_LOCK:
                if self._client is None:
                    self._client = chroma_client(self.config, self.path, read_only=True)
                self.collection = open_collection(self._client, self.collection_name, self._meta, True)
                self._vectors = None
        elif not first:
            self._refresh()

    def mark_collection_current(self) -> None:
        """Record that the registry's sources are indexed in this configuration's collection."""
        self.registry.set_meta("collection", self.collection_name)

    @property
    def stale(self) -> bool:
        """The sources were indexed with another model or chunking: run ``python -m ingest reindex``."""
        indexed_in = self.registry.get_meta("collection")
        return indexed_in not in (None, self.collection_name) and self.registry.count() > 0

    @property
    def vectors(self) -> ChromaVectorStore:
        if self._vectors is None:
            from llama_index.vector_stores.chroma import ChromaVectorStore

            self._vectors = ChromaVectorStore(chroma_collection=self.collection)
        return self._vectors

    def close(self) -> None:
        self.registry.close()

    def _get(self, **query: Any) -> Any:
        return _NOTHING if self.collection is None else self.collection.get(**query)

    # -- writes --------------------------------------------------------------
    def add_chunks(self, chunks: Sequence[Chunk], embeddings: np.ndarray) -> None:
        """Write chunks and their vectors in one Chroma call.

        Written with ``collection.add`` rather than ``ChromaVectorStore.add``: the latter
        serialises every node to JSON (``_node_content``), which doubled the cost of a write
        and cost a tenth of ingest throughput. The layout stays readable by llama-index:
        text as the document, flat metadata, and ``document_id``/``ref_doc_id`` naming the
        source, so ``ChromaVectorStore`` can query, fetch and delete by source
        (tests/test_ingest.py checks this).
        """
        if not chunks:
            return
        _WRITTEN.add(str(self.path))
        self.collection.add(
            ids=[c.id for c in chunks],
            embeddings=np.asarray(embeddings, dtype=np.float32),
            documents=[c.text for c in chunks],
            metadatas=[c.metadata() | {"document_id": c.source_id, "ref_doc_id": c.source_id} for c in chunks],
        )

    def delete_source_chunks(self, source_id: str) -> None:
        _WRITTEN.add(str(self.path))
        self.collection.delete(where={"source_id": source_id})

    def delete_sources_chunks(self, source_ids: Sequence[str]) -> None:
        if source_ids:
            _WRITTEN.add(str(self.path))
            self.collection.delete(where={"source_id": {"$in": list(source_ids)}})

    # -- reads ---------------------------------------------------------------
    def chunk_ids(self, source_id: str) -> list[str]:
        return list(self._get(where={"source_id": source_id}, include=[])["ids"])

    def count(self) -> int:
        return 0 if self.collection is None else int(self.collection.count())

    def query(self, embedding: np.ndarray, k: int) -> list[tuple[Chunk, float]]:
        """The k nearest chunks with their cosine similarity, best first.

        An embedded Chroma keeps its vector index in memory: when another process removes or
        replaces a source, that index still returns the old chunks, whose rows are gone. Such
        hits are skipped and the query asked again for more, so they never reach an answer.
        """
        if k <= 0 or self.count() == 0:
            return []
        want, refreshed = k, False
        out: list[tuple[Chunk, float]] = []
        for _ in range(3):
            result = self.collection.query(
                query_embeddings=[embedding.tolist()],
                n_results=want,
                include=["documents", "metadatas", "distances"],
            )
            out, gone = [], 0
            for cid, text, meta, dist in zip(
                result["ids"][0], result["documents"][0], result["metadatas"][0], result["distances"][0], strict=True
            ):
                chunk = _stored_chunk(cid, text, meta)
                if chunk is None:
                    gone += 1
                else:
                    out.append((chunk, 1.0 - float(dist)))
            if not gone:
                break
            log.info("skipped %d chunk(s) removed by another process", gone)
            if not refreshed and self._refresh():
                refreshed = True
                continue
            if len(out) >= k or len(result["ids"][0]) < want:
                break
            want = want * 2 + gone
        return out[:k]

    def embeddings(self, ids: Sequence[str]) -> dict[str, tuple[np.ndarray, str]]:
        """Stored vectors of the given chunk ids, each with its packed sentence vectors ("" if none)."""
        if not ids:
            return {}
        got = self._get(ids=list(ids), include=["embeddings", "metadatas"])
        return {
            cid: (np.asarray(vec, dtype=np.float32), str((meta or {}).get(packed.KEY) or ""))
            for cid, vec, meta in zip(got["ids"], got["embeddings"], got["metadatas"], strict=True)
        }

    def iter_chunks(self, page: int = 5000) -> Iterator[Chunk]:
        """Every stored chunk, paged so memory stays flat."""
        offset = 0
        while True:
            batch = self._get(include=["documents", "metadatas"], limit=page, offset=offset)
            ids = batch["ids"]
            if not ids:
                return
            for cid, text, meta in zip(ids, batch["documents"], batch["metadatas"], strict=True):
                chunk = _stored_chunk(cid, text, meta)
                if chunk is not None:
                    yield replace(chunk, sentence_vectors="") if chunk.sentence_vectors else chunk
            offset += len(ids)

    def nearest_sources(self, vectors: np.ndarray) -> list[tuple[str, float] | None]:
        """For each vector, the source of its nearest chunk and their cosine similarity (None: no chunk)."""
        if len(vectors) == 0 or self.count() == 0:
            return [None] * len(vectors)
        found = self.collection.query(
            query_embeddings=np.asarray(vectors).tolist(), n_results=1, include=["metadatas", "distances"]
        )
        out: list[tuple[str, float] | None] = []
        for metas, dists in zip(found["metadatas"], found["distances"], strict=True):
            out.append((str(metas[0]["source_id"]), 1.0 - float(dists[0])) if metas and dists else None)
        return out


def _stored_chunk(chunk_id: str, text: str | None, meta: Any) -> Chunk | None:
    """The chunk of a stored row, or None when its row is gone (removed by another process)."""
    if text is None or not meta:
        return None
    try:
        return Chunk.from_stored(chunk_id, text, dict(meta))
    except (KeyError, TypeError, ValueError):
        return None
