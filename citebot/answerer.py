"""One answerer interface, the table of backends, and the fallback policy.

An answerer turns ``Evidence`` (the understood question and its retrieved
passages) into an ``Answer``.  The extractive answerer is the default and
needs no model; an LLM backend (``citebot.llm``) is wrapped in
``FallbackAnswerer``, which owns the one policy for when the model is slow,
unreachable or its reply cannot be verified: the extractive answer is sent
instead, with a note saying why.  When the model says the passages do not
answer, the engine abstains (the model's refusal is not overridden).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from citebot.models import Answer, UnverifiedReply
from common.settings import Settings

if TYPE_CHECKING:
    from citebot.evidence import Evidence
    from index_store.embedding import Embedder

log = logging.getLogger(__name__)

FELL_BACK = "The language model's reply could not be checked against the sources, so these are quoted passages."
TIMED_OUT = "The language model did not answer in time, so these are quoted passages."
UNREACHABLE = "The language model could not be reached, so these are quoted passages."


class Answerer(Protocol):
    """Anything that answers from evidence; ``on_text`` receives drafts of a streamed reply."""

    def answer(self, evidence: Evidence, on_text: Callable[[str], None] | None = None) -> Answer: ...


class FallbackAnswerer:
    """Ask ``primary``; on a timeout, a failure or an unverifiable reply, answer with ``fallback``."""

    def __init__(self, primary: Answerer, fallback: Answerer, timeout: float) -> None:
        self.primary = primary
        self.fallback = fallback
        self.timeout = timeout
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="answerer")

    def answer(self, evidence: Evidence, on_text: Callable[[str], None] | None = None) -> Answer:
        future = self._pool.submit(self.primary.answer, evidence, on_text)
        try:
            return future.result(timeout=self.timeout)
        except FutureTimeout:
            log.warning("the answer backend timed out after %.1f s; answering extractively", self.timeout)
            return self._fall_back(evidence, TIMED_OUT)
        except UnverifiedReply:
            return self._fall_back(evidence, FELL_BACK)
        except Exception as exc:
            log.warning("the answer backend failed (%s); answering extractively", exc)
            return self._fall_back(evidence, UNREACHABLE)

    def _fall_back(self, evidence: Evidence, note: str) -> Answer:
        answer = self.fallback.answer(evidence)
        # an abstention quotes nothing, so it says nothing about quoted passages
        return replace(answer, note=note) if answer.answered else answer


def make_answerer(settings: Settings, extractive: Answerer, embedder: Embedder) -> Answerer:
    """The answerer ``answer.backend`` names: the extractive one, or an LLM backend from
    ``citebot.llm.BACKENDS`` whose replies are verified, falling back to the extractive one."""
    backend = settings.answer.backend
    if backend == "extractive":
        return extractive
    from citebot.llm import BACKENDS, VerifiedLLMAnswerer

    if backend not in BACKENDS:
        raise ValueError(f"unknown answer backend {backend!r}")
    chat = BACKENDS[backend](settings.llm)
    return FallbackAnswerer(VerifiedLLMAnswerer(settings.llm, chat, embedder), extractive, settings.llm.timeout_seconds)
