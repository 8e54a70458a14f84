"""Hybrid retrieval: dense search in Chroma plus BM25, fused by reciprocal rank.

The BM25 index lives in memory and is rebuilt only when the registry's
generation changes (a source added, replaced or removed), never per question.
Only chunks of ``ready`` sources are ever returned.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import pickle
import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from common.settings import RetrievalSettings
from common.text import terms
from index_store.store import Chunk, Store

log = logging.getLogger(__name__)

CACHE_VERSION = 4  # bump when LexicalIndex changes shape or what it holds (4: names counted by stem)


@dataclass
class Hit:
    chunk: Chunk
    fused: float = 0.0
    dense: float | None = None
    lexical: float | None = None
    dense_rank: int | None = None
    lexical_rank: int | None = None


def rrf(rankings: list[list[str]], k: int) -> dict[str, float]:
    """Reciprocal-rank fusion: sum over rankings of 1 / (k + rank), rank from 1."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank)
    return scores


@dataclass
class LexicalIndex:
    """BM25 over chunk terms (bm25s), plus document frequencies for term weighting."""

    chunks: list[Chunk]
    generation: str
    df: Counter[str] = field(default_factory=Counter)
    proper: frozenset[str] = frozenset()  # terms the sources spell as names (mostly capitalised mid-sentence)
    _bm25: object | None = None

    @classmethod
    def build(cls, chunks: list[Chunk], generation: str) -> LexicalIndex:
        import bm25s

        tokenized = [terms(c.text) for c in chunks]
        df: Counter[str] = Counter()
        for toks in tokenized:
            df.update(set(toks))
        index = cls(chunks=chunks, generation=generation, df=df, proper=proper_terms(c.text for c in chunks))
        if chunks:
            bm25 = bm25s.BM25()
            bm25.index(tokenized, show_progress=False)
            index._bm25 = bm25
        return index

    def idf(self, term: str) -> float:
        n = max(1, len(self.chunks))
        return math.log(1.0 + (n - self.df.get(term, 0) + 0.5) / (self.df.get(term, 0) + 0.5))

    def search(self, query_terms: list[str], k: int) -> list[tuple[Chunk, float]]:
        if self._bm25 is None:
            return []
        vocab = self._bm25.vocab_dict  # type: ignore[attr-defined]
        known = [t for t in query_terms if t in vocab]
        if not known:
            return []
        k = min(k, len(self.chunks))
        docs, scores = self._bm25.retrieve([known], k=k, show_progress=False, n_threads=1)  # type: ignore[attr-defined]
        return [(self.chunks[int(d)], float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]


_MID_CAPITAL = re.compile(r"(?<=[a-z0-9,;:] )[A-Z][a-zA-Z'-]+")
_LOWER_WORD = re.compile(r"(?<![\w'-])[a-z][a-z'-]+")


def proper_terms(texts: Iterable[str]) -> frozenset[str]:
    """Stemmed terms written capitalised inside sentences more often than in lower case:
    the names of the sources ("Loach", "Starmer"), so a lower-case question can name them too.
    Counted by stem, not word form: "Levels" capitalised in a few headings does not make
    "level" a name when "level" and "levels" are everywhere in lower case."""
    capital: Counter[str] = Counter()
    lower: Counter[str] = Counter()
    for text in texts:
        capital.update(w.lower() for w in _MID_CAPITAL.findall(text))
        lower.update(_LOWER_WORD.findall(text))
    by_stem_capital, by_stem_lower = _by_stem(capital), _by_stem(lower)
    return frozenset(s for s, n in by_stem_capital.items() if n > by_stem_lower.get(s, 0))


def _by_stem(counts: Counter[str]) -> Counter[str]:
    """Word counts summed by stem (words that are stop words or split into several terms drop)."""
    words = list(counts)
    stems = terms(" ".join(words))
    if len(stems) == len(words):
        pairs = [(w, [s]) for w, s in zip(words, stems, strict=True)]
    else:  # stop words or split tokens: stem one by one
        pairs = [(w, terms(w)) for w in words]
    out: Counter[str] = Counter()
    for word, stemmed in pairs:
        if len(stemmed) == 1:
            out[stemmed[0]] += counts[word]
    return out


class HybridRetriever:
    CACHE_MIN_CHUNKS = 5000  # smaller stores rebuild faster than a cache loads

    def __init__(self, store: Store, settings: RetrievalSettings, cache_dir: Path | None = None) -> None:
        self.store = store
        self.settings = settings
        self.cache_dir = cache_dir
        self._lexical: LexicalIndex | None = None
        self._lock = threading.Lock()

    def lexical(self, generation: str | None = None) -> LexicalIndex:
        """The BM25 index of the ready sources, rebuilt only when the store changed.

        A large index is also kept on disk, keyed by the store's generation, so a restart
        loads it instead of reading every chunk back from Chroma.
        """
        if generation is None:
            generation = self.store.registry.generation()
        with self._lock:
            if self._lexical is None or self._lexical.generation != generation:
                self._lexical = self._load(generation) or self._build(generation)
            return self._lexical

    def _build(self, generation: str) -> LexicalIndex:
        ready = self.store.registry.ready_ids()
        chunks = [c for c in self.store.iter_chunks() if c.source_id in ready]
        index = LexicalIndex.build(chunks, generation)
        log.info("lexical index built: %d chunks (generation %s)", len(chunks), generation)
        if self.cache_dir is not None and len(chunks) >= self.CACHE_MIN_CHUNKS:
            self._save(index)
        return index

    def _cache_file(self, generation: str) -> Path | None:
        if self.cache_dir is None:
            return None
        key = hashlib.sha256(f"{self.store.collection_name}|{generation}|v{CACHE_VERSION}".encode()).hexdigest()[:16]
        return self.cache_dir / f"lexical-{key}.pickle"

    def _load(self, generation: str) -> LexicalIndex | None:
        path = self._cache_file(generation)
        if path is None or not path.exists():
            return None
        try:
            with path.open("rb") as f:
                index = pickle.load(f)  # our own file, written by _save below
        except Exception:
            log.warning("ignoring an unreadable lexical index cache %s", path)
            return None
        if not isinstance(index, LexicalIndex) or index.generation != generation:
            return None
        log.info("lexical index loaded from %s: %d chunks", path, len(index.chunks))
        return index

    def _save(self, index: LexicalIndex) -> None:
        path = self._cache_file(index.generation)
        assert path is not None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.part")
            with tmp.open("wb") as f:
                pickle.dump(index, f, protocol=pickle.HIGHEST_PROTOCOL)
            tmp.replace(path)
            for old in path.parent.glob("lexical-*.pickle"):
                if old != path:
                    old.unlink(missing_ok=True)
        except OSError:
            log.warning("could not cache the lexical index in %s", path.parent, exc_info=True)

    def retrieve(
        self, query_vector: np.ndarray, query_terms: list[str], lexical: LexicalIndex | None = None
    ) -> list[Hit]:
        s = self.settings
        lexical = lexical or self.lexical()
        ready = {c.source_id for c in lexical.chunks}
        dense = [(c, score) for c, score in self.store.query(query_vector, s.dense_k) if c.source_id in ready]
        sparse = lexical.search(query_terms, s.lexical_k)
        hits: dict[str, Hit] = {}
        for rank, (chunk, score) in enumerate(dense, start=1):
            hits[chunk.id] = Hit(chunk, dense=score, dense_rank=rank)
        for rank, (chunk, score) in enumerate(sparse, start=1):
            hit = hits.setdefault(chunk.id, Hit(chunk))
            hit.lexical, hit.lexical_rank = score, rank
        fused = rrf([[c.id for c, _ in dense], [c.id for c, _ in sparse]], s.rrf_k)
        for key, value in fused.items():
            hits[key].fused = value
        ranked = sorted(hits.values(), key=lambda h: h.fused, reverse=True)[: s.top_k]
        missing = [h.chunk.id for h in ranked if h.dense is None]
        try:
            vectors = self.store.embeddings(missing)
        except Exception:  # a vector index another process changed under us: rank without them
            log.warning("could not read %d stored vectors; the store may have been changed elsewhere", len(missing))
            vectors = {}
        for hit in ranked:
            if hit.dense is None and hit.chunk.id in vectors:
                vector, sentences = vectors[hit.chunk.id]
                hit.dense = float(vector @ query_vector)
                if sentences:  # the lexical index keeps chunks without their sentence vectors
                    hit.chunk = replace(hit.chunk, sentence_vectors=sentences)
        return ranked
