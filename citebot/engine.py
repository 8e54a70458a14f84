"""The answering engine: question in, cited answer (or abstention) out.

It knows nothing of Discord or terminals; front ends call ``Engine.ask`` or
keep a ``Conversation`` for follow-ups.  Thread-safe: front ends may call it
from worker threads.  An engine answers from the one space its store was opened for
(its BM25 index and caches are that space's).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from citebot.answerer import Answerer, make_answerer
from citebot.evidence import Evidence
from citebot.extractive import ExtractiveAnswerer
from citebot.models import Answer
from citebot.question import understand
from citebot.retrieval import HybridRetriever
from common.settings import Settings
from common.text import is_valid_text, sentence_spans
from index_store.embedding import Embedder
from index_store.store import Store

log = logging.getLogger(__name__)


NOT_TEXT = "the question is not valid text (it holds undecodable bytes or a lone surrogate)"


class QuestionError(ValueError):
    """A question the engine will not take; the message is fit to show a user."""


class StaleIndexError(RuntimeError):
    """The index was built with other model or chunking settings."""


class SentenceVectors:
    """Sentence embeddings, computed when a sentence is first a candidate and kept
    (keyed by the sentence's text, so a replaced source can never reuse a stale one)."""

    def __init__(self, embedder: Embedder, capacity: int = 200_000) -> None:
        self.embedder = embedder
        self.capacity = capacity
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            fresh = self.embedder.embed(missing)
            with self._lock:
                for text, vec in zip(missing, fresh, strict=True):
                    self._cache[text] = vec
                while len(self._cache) > self.capacity:
                    self._cache.popitem(last=False)
        with self._lock:
            if not texts:
                return np.zeros((0, 0), dtype=np.float32)
            return np.stack([self._cache[t] for t in texts])


class Engine:
    def __init__(
        self,
        settings: Settings,
        store: Store | None = None,
        embedder: Embedder | None = None,
        sentence_vectors: SentenceVectors | None = None,
    ) -> None:
        """``sentence_vectors``: a cache to share with the engines of other spaces (it is keyed
        by a sentence's text, so it holds nothing one space could learn another's sources from)."""
        self.settings = settings
        self.store = store or Store.from_settings(settings)
        self.embedder = embedder or Embedder.from_settings(settings.embedding)
        cache_dir = settings.store_path / "cache" / self.store.space
        self.retriever = HybridRetriever(self.store, settings.retrieval, cache_dir=cache_dir)
        self.sentence_vectors = sentence_vectors or SentenceVectors(self.embedder)
        self.extractive = ExtractiveAnswerer(settings.answer, self._source_text, self.sentence_vectors)
        self.answerer: Answerer = make_answerer(settings, self.extractive, self.embedder)
        self._texts: dict[str, str] = {}
        self._texts_generation = ""
        self._lock = threading.Lock()

    @property
    def streams(self) -> bool:
        """Whether answers arrive as drafts first (an LLM backend with streaming on)."""
        return self.answerer is not self.extractive and self.settings.llm.stream

    def warm(self) -> None:
        """Load the model and build the lexical index now rather than on the first question."""
        self.embedder.load()
        self.retriever.lexical()
        sentence_spans("Warm up. The sentence splitter loads now.")

    def check_question(self, question: str) -> str:
        if not is_valid_text(question):
            raise QuestionError(NOT_TEXT)
        question = " ".join(question.split())
        if not question:
            raise QuestionError("the question is empty")
        limit = self.settings.answer.max_question_chars
        if len(question) > limit:
            raise QuestionError(f"the question is {len(question)} characters long; the limit is {limit}")
        return question

    def evidence(self, question: str, history: Sequence[str] = ()) -> Evidence:
        """The understood question and the passages retrieved for it."""
        question = self.check_question(question)
        # One registry read a question: the lexical index, the text cache and the
        # staleness check all follow the store's generation.
        generation = self.store.registry.generation()
        self._follow(generation)
        lexical = self.retriever.lexical(generation)
        understood = understand(
            question, history, turns=self.settings.answer.history_turns, proper_terms=lexical.proper
        )
        vector = self.embedder.embed_one(understood.search_text)
        hits = self.retriever.retrieve(vector, understood.terms + understood.context_terms, lexical)
        return Evidence(understood, vector, hits, lexical)

    def ask(self, question: str, history: Sequence[str] = (), on_text: Callable[[str], None] | None = None) -> Answer:
        """Answer ``question`` (``history``: earlier questions of the conversation).

        With an LLM backend that streams, ``on_text`` receives the unverified draft as it
        grows; the returned answer is the verified one.
        """
        evidence = self.evidence(question, history)
        answer = replace(self.answerer.answer(evidence, on_text), question_vector=evidence.vector)
        log.debug("asked %r -> answered=%s citations=%d", question, answer.answered, len(answer.citations))
        return answer

    def conversation(self) -> Conversation:
        return Conversation(self)

    def _follow(self, generation: str) -> None:
        """Drop cached source texts and re-check the index settings when the store changed."""
        with self._lock:
            if generation == self._texts_generation:
                return
        if self.store.stale:
            raise StaleIndexError(
                "the index was built with other embedding or chunking settings; run: python -m ingest reindex"
            )
        self.store.follow(generation)  # a read-only store catches up with other processes' writes
        with self._lock:
            self._texts.clear()
            self._texts_generation = generation

    def _source_text(self, source_id: str) -> str | None:
        with self._lock:
            if source_id not in self._texts:
                text = self.store.registry.text(source_id)
                if text is None:
                    return None
                if len(self._texts) > 512:
                    self._texts.pop(next(iter(self._texts)))
                self._texts[source_id] = text
            return self._texts[source_id]


class Conversation:
    """Questions asked one after another; follow-ups resolve against earlier ones."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.history: list[str] = []

    def ask(self, question: str, on_text: Callable[[str], None] | None = None) -> Answer:
        answer = self.engine.ask(question, self.history, on_text)
        self.history.append(self.engine.check_question(question))
        return answer
