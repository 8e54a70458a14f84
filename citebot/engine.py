"""The answering engine: question in, cited answer (or abstention) out.

It knows nothing of Discord or terminals; front ends call ``Engine.ask`` or
keep a ``Conversation`` for follow-ups.  Thread-safe: front ends may call it
from worker threads.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from citebot.extractive import ExtractiveAnswerer, Query, definition_subject, expected_type
from citebot.models import Answer
from citebot.retrieval import HybridRetriever
from common.settings import Settings
from common.text import sentence_spans, terms
from index_store.embedding import Embedder
from index_store.store import Store

if TYPE_CHECKING:
    from citebot.llm import VerifiedLLMAnswerer

log = logging.getLogger(__name__)

_REFERS_BACK = re.compile(
    r"\b(he|him|his|she|her|hers|they|them|their|theirs|it|its|this|that|these|those|there|latter|former)\b",
    re.I,
)


class QuestionError(ValueError):
    """A question the engine will not take; the message is fit to show a user."""


class StaleIndexError(RuntimeError):
    """The index was built with other model or chunking settings."""


def is_follow_up(question: str) -> bool:
    """A question that points back at an earlier one ("When did he ...")."""
    return bool(_REFERS_BACK.search(question)) or len(terms(question)) <= 1


def context_for(question: str, history: Sequence[str], turns: int) -> list[str]:
    """The earlier questions a follow-up leans on: the last one, and further back while
    each of those is itself a follow-up (at most ``turns``)."""
    if not turns or not history or not is_follow_up(question):
        return []
    earlier = [history[-1]]
    for previous in reversed(history[:-1]):
        if len(earlier) >= turns or not is_follow_up(earlier[0]):
            break
        earlier.insert(0, previous)
    return earlier


class Engine:
    def __init__(self, settings: Settings, store: Store | None = None, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.store = store or Store.from_settings(settings)
        self.embedder = embedder or Embedder.from_settings(settings.embedding)
        self.retriever = HybridRetriever(self.store, settings.retrieval, cache_dir=settings.store_path / "cache")
        self.answerer = ExtractiveAnswerer(settings.answer, self._source_text)
        self.llm: VerifiedLLMAnswerer | None = None
        if settings.answer.backend != "extractive":
            from citebot.llm import VerifiedLLMAnswerer, make_backend

            self.llm = VerifiedLLMAnswerer(
                settings.llm, make_backend(settings.answer.backend, settings.llm), self.embedder
            )
        self._texts: dict[str, str] = {}
        self._texts_generation = ""
        self._lock = threading.Lock()

    def warm(self) -> None:
        """Load the model and build the lexical index now rather than on the first question."""
        self.embedder.load()
        self.retriever.lexical()
        sentence_spans("Warm up. The sentence splitter loads now.")

    def check_question(self, question: str) -> str:
        question = " ".join(question.split())
        if not question:
            raise QuestionError("the question is empty")
        limit = self.settings.answer.max_question_chars
        if len(question) > limit:
            raise QuestionError(f"the question is {len(question)} characters long; the limit is {limit}")
        return question

    def ask(self, question: str, history: Sequence[str] = (), on_text: Callable[[str], None] | None = None) -> Answer:
        """Answer ``question`` (``history``: earlier questions of the conversation).

        With an LLM backend that streams, ``on_text`` receives the unverified draft as it
        grows; the returned answer is the verified one.
        """
        question = self.check_question(question)
        # One registry read a question: the lexical index, the text cache and the
        # staleness check all follow the store's generation.
        generation = self.store.registry.generation()
        self._follow(generation)
        query = self._query(question, history)
        lexical = self.retriever.lexical(generation)
        hits = self.retriever.retrieve(query.vector, query.terms + query.context_terms, lexical)

        def extractive() -> Answer:
            return self.answerer.answer(question, query, hits, lexical)

        if self.llm is None:
            answer = extractive()
        else:
            answer = replace(self.llm.answer(query.text, hits, extractive, on_text), question=question)
        log.debug("asked %r -> answered=%s citations=%d", question, answer.answered, len(answer.citations))
        return answer

    def conversation(self) -> Conversation:
        return Conversation(self)

    def _query(self, question: str, history: Sequence[str]) -> Query:
        earlier = context_for(question, history, self.settings.answer.history_turns)
        context: list[str] = []
        text = question
        if earlier:
            text = " ".join([*earlier, question])
            context = terms(" ".join(earlier))
        vector = self.embedder.embed_one(text)
        return Query(
            text=text,
            vector=vector,
            terms=terms(question),
            context_terms=context,
            expects=expected_type(question),
            subject=definition_subject(question),
        )

    def _follow(self, generation: str) -> None:
        """Drop cached source texts and re-check the index settings when the store changed."""
        with self._lock:
            if generation == self._texts_generation:
                return
        if self.store.stale:
            raise StaleIndexError(
                "the index was built with other embedding or chunking settings; run: python -m ingest reindex"
            )
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

    def ask(self, question: str) -> Answer:
        answer = self.engine.ask(question, self.history)
        self.history.append(self.engine.check_question(question))
        return answer
