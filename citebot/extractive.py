"""The grounded extractive answerer: replies made only of cited source sentences.

No language model is involved, so nothing can be invented.  Every sentence of
the retrieved passages is a candidate (``citebot.evidence``); the learned
ranker (``citebot.decision``) gives each the probability that it answers the
question.  The best one is quoted only when every name, number and quoted
phrase of the question is in it or beside it, and the learned abstainer
(``citebot.abstention``) judges the question answered by it; otherwise the
answerer abstains and cites nothing.  An answer quotes the best sentence and
any other that comes close to it, in reading order, each with a numbered
citation; a sentence that leans on the one before it ("The latter two groups
...", an attribution line) brings that one along.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from citebot.abstention import Abstainer, load_abstainer, question_row
from citebot.decision import DecisionModel, load_model
from citebot.evidence import NUMBER_TYPES, Candidate, Evidence, attribution_after, candidates, featurize
from citebot.models import Answer, Citation
from citebot.question import PRONOUNS, Question
from common.settings import AnswerSettings
from common.text import Span, fold, next_sentence, paragraph_spans, previous_sentence, terms

# Openers that make a sentence lean on the one before it: the pronouns, and connectives.
_LEANS_BACK = PRONOUNS | {"such", "both", "also", "however", "but", "meanwhile"}
# The ranker's probability at which its best sentence is answered whatever the abstainer says:
# more likely than not to answer.  Not tuned: the abstainer learned from few short and follow-up
# questions ("What films has he made?") and under-rates them; the ranker does not.
RANKER_SURE = 0.5
# A sentence continuing a quoted one ("The groups are: ...") joins unless it is plainly unrelated.
ELABORATION_FLOOR = 0.05
_EXPLETIVE = re.compile(r"(it|there)\s+(is|was|are|were|has been|had been|seems|appears|remains)\b", re.I)


class ExtractiveAnswerer:
    def __init__(
        self,
        settings: AnswerSettings,
        source_text: Callable[[str], str | None],
        sentence_vectors: Callable[[list[str]], np.ndarray],
        model: DecisionModel | None = None,
        abstainer: Abstainer | None = None,
    ) -> None:
        self.settings = settings
        self.source_text = source_text
        self.sentence_vectors = sentence_vectors
        # the learned parameters (small JSON files, read once a process); tests may swap them
        self.model = model if model is not None else load_model()
        self.abstainer = abstainer if abstainer is not None else load_abstainer()

    @property
    def threshold(self) -> float:
        """The probability a further sentence must reach to be quoted beside the best one
        (and, when ``answer.min_score`` is set, the best one to answer at all)."""
        configured = self.settings.min_score
        return self.model.threshold if configured is None else configured

    def answers(self, question: Question, scored: list[Candidate], best: Candidate) -> bool:
        """Whether quoting ``best`` (a ``quotable`` candidate, the best of ``scored``) answers.

        With ``answer.min_score`` set: when the best sentence's probability reaches it.
        Otherwise when the ranker holds the best sentence more likely than not to answer
        (``RANKER_SURE``), or the abstainer, which reads the question as a whole (the ranker's
        best and runner-up, the best sentence's evidence, how the question reads) and was
        trained for exactly this decision, judges it answered; or when a "how old is X?"
        question's best sentence gives X's age the way news does ("Loach, 85, ...",
        ``evidence.states_age``): the public sets hold next to no age questions to learn from.
        """
        if self.settings.min_score is not None:
            return best.score >= self.settings.min_score
        if sure(best):
            return True
        abstainer = self.abstainer
        return abstainer.probability(question_row(question, scored, self.model.features)) >= abstainer.threshold

    def answer(self, evidence: Evidence, on_text: Callable[[str], None] | None = None) -> Answer:
        return self.decide(evidence.question, self.candidates(evidence))

    def decide(self, question: Question, scored: list[Candidate]) -> Answer:
        """The reply from scored candidates: the best and those close to it, or an abstention."""
        if not scored:
            return Answer.abstain(question.raw, question.search_text)
        best = max(scored, key=lambda c: c.score)
        if not quotable(question, best) or not self.answers(question, scored, best):
            return Answer.abstain(question.raw, question.search_text, confidence=best.score)
        return replace(self.quote(question, scored), confidence=best.score)

    def quote(self, question: Question, scored: list[Candidate]) -> Answer:
        """The answer that quotes the best sentence and those close to it, whatever its odds."""
        best = max(scored, key=lambda c: c.score)
        return self._compose(question, self._select(scored, best))

    # -- scoring -------------------------------------------------------------
    def candidates(self, evidence: Evidence) -> list[Candidate]:
        """Every candidate sentence with its features and probability of answering."""
        cands = self.featurized(evidence)
        self.score(cands)
        return cands

    def featurized(self, evidence: Evidence) -> list[Candidate]:
        """Every candidate sentence with its features (not yet scored)."""
        cands = candidates(evidence.hits, self.source_text)
        if not cands:
            return []
        fresh = [c for c in cands if c.vector is None]  # stores written before ingest kept sentence vectors
        if fresh:
            for cand, vec in zip(fresh, self.sentence_vectors([c.text for c in fresh]), strict=True):
                cand.vector = vec
        featurize(evidence, cands, self.source_text)
        return cands

    def score(self, cands: list[Candidate]) -> None:
        if not cands:
            return
        probs = self.model.probabilities(np.array([[c.features[f] for f in self.model.features] for c in cands]))
        for cand, p in zip(cands, probs, strict=True):
            cand.score = float(p)

    # -- selection -----------------------------------------------------------
    def _select(self, scored: list[Candidate], best: Candidate) -> list[Candidate]:
        """The best sentence, and others that come close to it (at most ``max_sentences``)."""
        floor = max(self.threshold, self.model.relative * best.score)
        chosen = [best]
        seen = {fold(best.text).lower()}
        for cand in sorted(scored, key=lambda c: c.score, reverse=True):
            if len(chosen) >= self.settings.max_sentences or cand.score < floor:
                break
            key = fold(cand.text).lower()
            if key in seen or any(_overlaps(cand, c) for c in chosen):
                continue
            seen.add(key)
            chosen.append(cand)
        return self._elaborate(scored, chosen, floor)

    def _elaborate(self, scored: list[Candidate], chosen: list[Candidate], floor: float) -> list[Candidate]:
        """Add a next sentence that continues a chosen one ("The groups are: ...") and is itself
        likely to answer."""
        by_place = {(c.source_id, c.span.start): c for c in scored}
        for cand in list(chosen):
            if len(chosen) >= self.settings.max_sentences:
                break
            full = self.source_text(cand.source_id) or ""
            follower = next_sentence(full, cand.span)
            if follower is None:
                continue
            nxt = by_place.get((cand.source_id, follower.start))
            if nxt is None or nxt in chosen or nxt.score < ELABORATION_FLOOR:
                continue
            if _depends_on_previous(nxt.text, cand.text):
                chosen.append(nxt)
        return chosen

    def _compose(self, question: Question, chosen: list[Candidate]) -> Answer:
        # group by source (best source first), reading order inside a source
        order: dict[str, float] = {}
        for cand in chosen:
            order[cand.source_id] = max(order.get(cand.source_id, 0.0), cand.score)
        spans: list[tuple[Candidate, Span]] = []
        for sid in sorted(order, key=lambda k: order[k], reverse=True):
            full = self.source_text(sid) or ""
            mine = sorted((c for c in chosen if c.source_id == sid), key=lambda c: c.span.start)
            for cand in mine:
                for span in _with_context(full, cand.span):
                    if not any(c.source_id == sid and _span_overlap(span, other) for c, other in spans):
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
        return Answer(question.raw, True, " ".join(parts), citations, resolved_question=question.search_text)


def sure(best: Candidate) -> bool:
    """Answered whatever the abstainer says: the ranker holds the sentence more likely than
    not to answer, or it gives the age a "how old is X?" question asks (``evidence.states_age``)."""
    return best.score >= RANKER_SURE or bool(best.features.get("states_age"))


def quotable(question: Question, best: Candidate) -> bool:
    """Whether the best sentence may be quoted at all (no model overrules this):

    * every name, number and quoted phrase of the question is in it, in the sentences either
      side of it or in its source's title.  A question about "the Palme d'Or" is not answered
      by a sentence that never mentions it, nor one about the "Leon Theatre" by a sentence
      about the Summer Theatre.  When the best sentence misses an anchor, a lesser one that
      has it is not quoted instead: the closest passages not holding it is the sign that the
      sources do not answer;
    * some word of the question, or of the questions it follows, is in the passages found:
      "where can i get free nitro" shares nothing with a page about mooring permits;
    * it holds a number next to one of the question's words when the question asks how many,
      how much, how old or how long ("Loach, 85" for "How old is Loach?"; "The four small
      left-wing groups" does not say how many members Labour has);
    * it and its neighbours do not say the opposite of what is asked ("opened" for "When was
      the library closed?", "most" for "least"; ``citebot.opposites``);
    * a question asking what is *not* so ("What can not be restated as ...?") is answered only
      beside a sentence saying something is not so, outright or implied ("refusing to",
      "banned"): a sentence about what is so does not answer it.
    """
    f = best.features
    anchored = f.get("anc_win", 1.0) >= 1.0 and not f.get("anc_any_missing")
    grounded = f.get("miss_idf", 0.0) < 1.0 - 1e-9 or f.get("cov_hist", 0.0) > 0.0
    typed = question.answer_type not in NUMBER_TYPES or bool(f.get("m_num_near"))
    return anchored and grounded and typed and not f.get("contradicted") and not f.get("negation_unmet")


def _overlaps(a: Candidate, b: Candidate) -> bool:
    return a.source_id == b.source_id and _span_overlap(a.span, b.span)


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
    if first in _LEANS_BACK:
        return True
    if first == "the" and len(words) > 1:
        if words[1].lower() in _LEANS_BACK:
            return True
        head = terms(" ".join(words[1:3]))
        return bool(head) and bool(set(head) & set(terms(previous)))
    return False


def _with_context(text: str, span: Span) -> list[Span]:
    """A quoted span with the sentence it leans on, and the line crediting it if it is a quotation."""
    spans = _with_antecedent(text, span)
    credit = attribution_after(text, spans[-1])
    return [*spans, credit] if credit is not None else spans


def _with_antecedent(text: str, span: Span) -> list[Span]:
    prev = previous_sentence(text, span)
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
            sid = cand.source_id
            if sid == last_cand.source_id and last.end <= span.start:
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
