"""The grounded extractive answerer: replies made only of cited source sentences.

No language model is involved, so nothing can be invented.  Every sentence of
the retrieved passages is scored against the question by

* the dense similarity of its passage to the question (all-MiniLM-L6-v2),
* how much of the question's content it covers: IDF-weighted stemmed terms,
  found in the sentence (full weight), elsewhere in its passage or in its
  source's title (half weight), and
* whether it holds the kind of thing the question asks for (a date for
  "when", a number for "how many").

The best sentences form the reply, each with a numbered citation; a sentence
that leans on the one before it ("The latter two groups ...") brings that one
along.  When even the best sentence scores below ``min_score`` the answerer
abstains and cites nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from citebot.models import Answer, Citation
from citebot.retrieval import Hit, LexicalIndex
from common.settings import AnswerSettings
from common.text import Span, fold, paragraph_spans, sentence_spans, terms

W_DENSE, W_COVER, W_TYPE = 0.5, 0.5, 0.1
W_DEFINITION = 0.25  # "Who is X?": a sentence that defines X ("X, 85, is ...", "X is a ...")
CONTEXT_WEIGHT = 0.5  # a term found in the passage or title rather than the sentence
HISTORY_WEIGHT = 0.3  # terms of earlier questions in a follow-up
ELABORATION_SHARE = 0.5  # a continuing sentence joins when it scores this share of the best

_DATE = re.compile(
    r"\b(1[5-9]\d\d|20\d\d|january|february|march|april|may|june|july|august|september|october|"
    r"november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|monday|tuesday|wednesday|"
    r"thursday|friday|saturday|sunday|yesterday|today|tomorrow|last (?:week|month|year)|"
    r"next (?:week|month|year))\b",
    re.I,
)
_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|million|billion)\b", re.I
)
_ASKS_DATE = re.compile(r"\bwhen\b|\bwhat (year|date|month|day|time)\b|\bhow long ago\b", re.I)
_ASKS_NUMBER = re.compile(
    r"\bhow (many|much|long|old|far|big|large|high|low)\b|\bwhat (level|rate|price|percentage|percent|"
    r"proportion|figure|amount|number|value|sum|cost|total|share|age)\b|\bat what\b",
    re.I,
)
_ANAPHORA = frozenset(
    [
        "he",
        "she",
        "it",
        "they",
        "this",
        "these",
        "those",
        "that",
        "his",
        "her",
        "its",
        "their",
        "them",
        "such",
        "both",
        "also",
        "however",
        "but",
        "meanwhile",
        "latter",
        "former",
        "there",
    ]
)


_EXPLETIVE = re.compile(r"(it|there)\s+(is|was|are|were|has been|had been|seems|appears|remains)\b", re.I)


_ASKS_DEFINITION = re.compile(r"^\s*(?:who|what)\s+(?:is|was|are|were)\s+(?P<subject>[^?]+?)\s*\??\s*$", re.I)


def definition_subject(question: str) -> str | None:
    """X in "Who is X?" / "What was X?" (a question asking what something is)."""
    match = _ASKS_DEFINITION.match(question)
    return match.group("subject") if match else None


def defines(text: str, subject: str) -> bool:
    """Whether ``text`` says what ``subject`` is: the subject's head word followed by a copula
    or an apposition ("Loach, 85, is", "Loach is a", "Corbyn, who")."""
    words = re.findall(r"[A-Za-z][\w'-]*", subject)
    if not words:
        return False
    head = re.escape(words[-1])
    pattern = rf"\b{head}\b(?:,\s*\d+,|\s+(?:is|was|are|were|has been)\b|,\s+(?:a|an|the|who|which)\b)"
    return re.search(pattern, text, re.I) is not None


def expected_type(question: str) -> str | None:
    if definition_subject(question):
        return "definition"
    if _ASKS_DATE.search(question):
        return "date"
    if _ASKS_NUMBER.search(question):
        return "number"
    return None


def has_type(text: str, kind: str | None) -> bool:
    if kind == "date":
        return bool(_DATE.search(text))
    if kind == "number":
        return bool(_NUMBER.search(text))
    return False


@dataclass(frozen=True)
class Query:
    text: str
    vector: np.ndarray
    terms: list[str]
    context_terms: list[str]
    expects: str | None
    subject: str | None = None  # for definition questions


@dataclass
class Candidate:
    hit: Hit
    span: Span
    text: str
    dense: float
    coverage: float
    typed: bool
    bonus: float = W_TYPE

    @property
    def score(self) -> float:
        return W_DENSE * self.dense + W_COVER * self.coverage + (self.bonus if self.typed else 0.0)


def _matches(term: str, vocab: set[str]) -> bool:
    if term in vocab:
        return True
    if len(term) < 5:
        return False
    return any(len(v) >= 5 and (v.startswith(term) or term.startswith(v)) for v in vocab)


def coverage(query: Query, sentence: set[str], context: set[str], idf: Callable[[str], float]) -> float:
    """IDF-weighted share of the question's terms found in the sentence (or, for less, its context)."""
    weighted = [(t, 1.0) for t in dict.fromkeys(query.terms)]
    weighted += [(t, HISTORY_WEIGHT) for t in dict.fromkeys(query.context_terms) if t not in query.terms]
    total = sum(idf(t) * w for t, w in weighted)
    if total <= 0:
        return 0.0
    got = 0.0
    for t, w in weighted:
        if _matches(t, sentence):
            got += idf(t) * w
        elif _matches(t, context):
            got += idf(t) * w * CONTEXT_WEIGHT
    return got / total


class ExtractiveAnswerer:
    def __init__(self, settings: AnswerSettings, source_text: Callable[[str], str | None]) -> None:
        self.settings = settings
        self.source_text = source_text

    def answer(self, question: str, query: Query, hits: Sequence[Hit], lexical: LexicalIndex) -> Answer:
        candidates = self.candidates(query, hits, lexical)
        if not candidates:
            return Answer.abstain(question, query.text)
        best = max(candidates, key=lambda c: c.score)
        if best.score < self.settings.min_score:
            return Answer.abstain(question, query.text)
        chosen = self._select(candidates, best)
        return self._compose(question, query, chosen)

    # -- scoring -------------------------------------------------------------
    def candidates(self, query: Query, hits: Sequence[Hit], lexical: LexicalIndex) -> list[Candidate]:
        out = []
        for hit in hits:
            full = self.source_text(hit.chunk.source_id) or ""
            if full[hit.chunk.start : hit.chunk.end] != hit.chunk.text:
                continue  # stored text and index disagree: never quote what we cannot verify
            context = set(terms(hit.chunk.text)) | set(terms(hit.chunk.title))
            dense = hit.dense if hit.dense is not None else 0.0
            for span in _sentences(full, hit.chunk.start, hit.chunk.end):
                text = full[span.start : span.end]
                cov = coverage(query, set(terms(text)), context, lexical.idf)
                if query.expects == "definition" and query.subject:
                    out.append(Candidate(hit, span, text, dense, cov, defines(text, query.subject), W_DEFINITION))
                else:
                    out.append(Candidate(hit, span, text, dense, cov, has_type(text, query.expects)))
        return out

    # -- selection -----------------------------------------------------------
    def _select(self, candidates: list[Candidate], best: Candidate) -> list[Candidate]:
        s = self.settings
        chosen = [best]
        seen = {fold(best.text).lower()}
        for cand in sorted(candidates, key=lambda c: c.score, reverse=True):
            if len(chosen) >= s.max_sentences:
                break
            if cand.score < max(s.min_score, s.relative_cutoff * best.score):
                break
            key = fold(cand.text).lower()
            if key in seen or any(_overlaps(cand, c) for c in chosen):
                continue
            seen.add(key)
            chosen.append(cand)
        return self._elaborate(candidates, chosen, best)

    def _elaborate(self, candidates: list[Candidate], chosen: list[Candidate], best: Candidate) -> list[Candidate]:
        """Add a relevant next sentence that continues a chosen one ("The groups are: ...")."""
        by_place = {(c.hit.chunk.source_id, c.span.start): c for c in candidates}
        for cand in list(chosen):
            if len(chosen) >= self.settings.max_sentences:
                break
            full = self.source_text(cand.hit.chunk.source_id) or ""
            follower = _next_sentence(full, cand.span)
            if follower is None:
                continue
            nxt = by_place.get((cand.hit.chunk.source_id, follower.start))
            if nxt is None or nxt in chosen or nxt.score < ELABORATION_SHARE * best.score:
                continue
            if _depends_on_previous(nxt.text, cand.text):
                chosen.append(nxt)
        return chosen

    def _compose(self, question: str, query: Query, chosen: list[Candidate]) -> Answer:
        # group by source (best source first), document order inside a source
        order: dict[str, float] = {}
        for cand in chosen:
            sid = cand.hit.chunk.source_id
            order[sid] = max(order.get(sid, 0.0), cand.score)
        spans: list[tuple[Candidate, Span]] = []
        for sid in sorted(order, key=lambda k: order[k], reverse=True):
            full = self.source_text(sid) or ""
            mine = sorted((c for c in chosen if c.hit.chunk.source_id == sid), key=lambda c: c.span.start)
            for cand in mine:
                for span in _with_antecedent(full, cand.span):
                    if not any(_span_overlap(span, other) for _, other in spans):
                        spans.append((cand, span))
        spans = _merge_adjacent(spans, lambda sid: self.source_text(sid) or "")
        citations = []
        parts = []
        for n, (cand, span) in enumerate(spans, start=1):
            chunk = cand.hit.chunk
            full = self.source_text(chunk.source_id) or ""
            quote = full[span.start : span.end]
            citations.append(
                Citation.of(
                    n,
                    chunk,
                    paragraph=_paragraph_of(full, span.start),
                    start=span.start,
                    end=span.end,
                    quote=quote,
                    score=cand.score,
                )
            )
            parts.append(f"{quote} [{n}]")
        return Answer(question, True, " ".join(parts), citations, resolved_question=query.text)


def _sentences(text: str, start: int, end: int) -> list[Span]:
    """Sentence spans of a passage; fragments of under three words join the sentence before."""
    spans: list[Span] = []
    for span in sentence_spans(text, start, end):
        words = len(text[span.start : span.end].split())
        if spans and words < 3 and "\n" not in text[spans[-1].end : span.start]:
            spans[-1] = Span(spans[-1].start, span.end)
        else:
            spans.append(span)
    return spans


def _overlaps(a: Candidate, b: Candidate) -> bool:
    return a.hit.chunk.source_id == b.hit.chunk.source_id and _span_overlap(a.span, b.span)


def _span_overlap(a: Span, b: Span) -> bool:
    return a.start < b.end and b.start < a.end


def _depends_on_previous(sentence: str, previous: str) -> bool:
    """Whether a sentence cannot stand alone: it opens by pointing back at the one before."""
    stripped = sentence.lstrip("'\"\u2018\u201c ")
    if stripped[:1] in "\u2014\u2013-":
        return True  # an attribution line such as "— Ken Loach (@KenLoachSixteen) ..."
    words = re.findall(r"[A-Za-z]+", stripped)
    if not words:
        return False
    if _EXPLETIVE.match(stripped):
        return False  # "It is worth noting ...", "There were ..." point at nothing
    first = words[0].lower()
    if first in _ANAPHORA:
        return True
    if first == "the" and len(words) > 1:
        if words[1].lower() in _ANAPHORA:
            return True
        head = terms(" ".join(words[1:3]))
        return bool(head) and bool(set(head) & set(terms(previous)))
    return False


def _previous_sentence(text: str, span: Span) -> Span | None:
    """The sentence just before ``span`` in the same or the previous paragraph."""
    paragraphs = paragraph_spans(text)
    for i, para in enumerate(paragraphs):
        if para.start <= span.start < para.end:
            before = [s for s in _sentences(text, para.start, para.end) if s.end <= span.start]
            if before:
                return before[-1]
            if i > 0:
                prev = _sentences(text, paragraphs[i - 1].start, paragraphs[i - 1].end)
                return prev[-1] if prev else None
    return None


def _next_sentence(text: str, span: Span) -> Span | None:
    """The sentence just after ``span`` in the same or the next paragraph."""
    paragraphs = paragraph_spans(text)
    for i, para in enumerate(paragraphs):
        if para.start <= span.start < para.end:
            after = [s for s in _sentences(text, para.start, para.end) if s.start >= span.end]
            if after:
                return after[0]
            if i + 1 < len(paragraphs):
                nxt = _sentences(text, paragraphs[i + 1].start, paragraphs[i + 1].end)
                return nxt[0] if nxt else None
    return None


def _with_antecedent(text: str, span: Span) -> list[Span]:
    prev = _previous_sentence(text, span)
    if prev is None or not _depends_on_previous(text[span.start : span.end], text[prev.start : prev.end]):
        return [span]
    if text[span.start : span.end].lstrip()[:1] in "\u2014\u2013-":
        # an attribution line credits the whole quotation before it
        para = next(p for p in paragraph_spans(text) if p.start <= prev.start < p.end)
        prev = Span(para.start, prev.end)
    return [prev, span]


def _merge_adjacent(spans: list[tuple[Candidate, Span]], text_of: Callable[[str], str]) -> list[tuple[Candidate, Span]]:
    """Join spans of one paragraph separated only by white space into one citation."""
    merged: list[tuple[Candidate, Span]] = []
    for cand, span in spans:
        if merged:
            last_cand, last = merged[-1]
            sid = cand.hit.chunk.source_id
            if sid == last_cand.hit.chunk.source_id and last.end <= span.start:
                gap = text_of(sid)[last.end : span.start]
                if not gap.strip() and "\n" not in gap:
                    best = cand if cand.score > last_cand.score else last_cand
                    merged[-1] = (best, Span(last.start, span.end))
                    continue
        merged.append((cand, span))
    return merged


def _paragraph_of(text: str, offset: int) -> int:
    for number, para in enumerate(paragraph_spans(text), start=1):
        if para.start <= offset < para.end:
            return number
    return 0
