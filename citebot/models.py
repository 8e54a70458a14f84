"""What the engine returns: an answer made of cited passages, or an abstention."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from index_store.store import Chunk

ABSTAIN_TEXT = "The sources I have do not answer that question."


class UnverifiedReply(Exception):
    """An answer backend's reply had no sentence the cited passages support."""


@dataclass(frozen=True)
class Citation:
    n: int
    source: str
    title: str
    origin: str
    paragraph: int
    start: int
    end: int
    quote: str  # exactly the stored source text [start:end]
    score: float
    added_at: str = ""

    @classmethod
    def of(cls, n: int, chunk: Chunk, *, paragraph: int, start: int, end: int, quote: str, score: float) -> Citation:
        """A citation of a span of ``chunk``'s source (provenance comes from the chunk)."""
        return cls(
            n=n,
            source=chunk.source_id,
            title=chunk.title,
            origin=chunk.origin,
            paragraph=paragraph,
            start=start,
            end=end,
            quote=quote,
            score=score,
            added_at=chunk.added_at,
        )

    def to_json(self) -> dict[str, object]:
        return {
            "n": self.n,
            "source": self.source,
            "title": self.title,
            "origin": self.origin,
            "paragraph": self.paragraph,
            "start": self.start,
            "end": self.end,
            "quote": self.quote,
            "score": round(self.score, 4),
            "added_at": self.added_at,
        }


@dataclass(frozen=True)
class Answer:
    question: str
    answered: bool
    text: str
    citations: list[Citation] = field(default_factory=list)
    resolved_question: str = ""  # the question as searched (follow-ups carry their context)
    note: str = ""  # e.g. why an LLM reply was replaced by quoted passages
    # the answerer's probability that its best sentence answers (also when it abstained); 0 when unknown
    confidence: float = 0.0
    # the vector the question was searched with (moderator insights group questions by it); never shown
    question_vector: np.ndarray | None = field(default=None, repr=False, compare=False)

    @classmethod
    def abstain(cls, question: str, resolved: str = "", confidence: float = 0.0) -> Answer:
        return cls(
            question=question,
            answered=False,
            text=ABSTAIN_TEXT,
            citations=[],
            resolved_question=resolved,
            confidence=confidence,
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "question": self.question,
            "answered": self.answered,
            "answer": self.text,
            "citations": [c.to_json() for c in self.citations],
        }
        if self.note:
            out["note"] = self.note
        return out
