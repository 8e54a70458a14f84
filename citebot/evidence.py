"""Evidence for an answer: the candidate sentences of the retrieved passages, and
what speaks for each one as an answer to the question.

Each sentence of a retrieved passage becomes a ``Candidate`` with a vector of
named features: its own meaning against the question (sentence embeddings),
its neighbours' and its passage's, the question's terms and anchors it
contains, whether it holds what the question asks for (a date for "when", a
number for "how many", a new name for "who"), and how it ranks against the
other candidates.  ``citebot.decision`` turns the features into a probability;
the weights are learned (``python -m evals.train``), not set by hand.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from citebot.question import Question
from citebot.retrieval import Hit, LexicalIndex
from common.text import Span, paragraph_spans, sentence_spans, terms

FEATURES = (
    "s_cos",  # the sentence's similarity to the question
    "s_cos_gap",  # ... minus the best candidate's
    "s_cos_top",  # 1 for the most similar sentence
    "q_max_cos",  # the best sentence similarity (question-level)
    "nb_cos",  # the best similarity of a neighbouring sentence
    "c_dense",  # the passage's similarity to the question
    "c_dense_gap",  # ... minus the best passage's
    "c_rank",  # 1 / fused rank of the passage
    "c_lex",  # 1 / BM25 rank of the passage (0 when BM25 did not find it)
    "cov_sent",  # IDF-weighted share of the question's terms in the sentence
    "cov_sent_gap",  # ... minus the best candidate's
    "cov_ctx",  # ... in the sentence, its neighbours, passage and title
    "cov_hist",  # share of earlier questions' terms (follow-ups) in the context
    "miss_idf",  # IDF-weighted share of question terms found nowhere in the retrieved passages
    "anc_n",  # number of anchors (names, numbers, quotes) in the question, capped
    "anc_sent",  # share of anchors in the sentence (1 when there are none)
    "anc_ctx",  # share of anchors in the sentence's context
    "anc_any_missing",  # 1 when an anchor is nowhere in the retrieved passages
    "novel",  # share of the sentence's terms the question does not use
    "s_len",  # log length of the sentence in terms
    "q_len",  # log length of the question in terms
    "t_when",
    "t_num",
    "t_who",
    "t_where",
    "t_why",
    "t_yesno",
    "t_what",
    "has_date",
    "has_num",
    "has_name",
    "has_cause",
    "m_when",  # type match: a "when" question and a sentence with a date
    "m_num",
    "m_who",
    "m_where",
    "m_why",
    "cos_x_cov",  # interactions
    "cos_x_anc",
    "miss_max",  # the rarest question term the sentence lacks (IDF, scaled to the rarest term there is)
    "miss_n",  # question terms the sentence and its neighbours lack, capped
    "bigram",  # share of the question's adjacent term pairs that stand together in the sentence
    "neg_mismatch",  # one of question and sentence is negated, the other not
    "q_neg",  # the question is negated ("What is not ...")
)

_DATE = re.compile(
    r"\b(1[0-9]\d\d|20\d\d|\d{1,2}(?:st|nd|rd|th) century|\d0s|january|february|march|april|may|june|july|"
    r"august|september|october|november|december|monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"yesterday|today|tomorrow|last (?:week|month|year)|next (?:week|month|year)|centur(?:y|ies)|decade)\b",
    re.I,
)
_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|"
    r"thousand|million|billion|dozen|several|many|few|half|single|both)\b",
    re.I,
)
_CAUSE = re.compile(
    r"\b(because|since|due to|owing to|as a result|reason|grounds|for (?:allegedly|refusing|his|her|their)|after|"
    r"so that|in order to|led to|caused|over (?:his|her|their)|centers on|centres on|refus\w*)\b",
    re.I,
)
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-zA-Z'’-]+(?:\s+[A-Z][a-zA-Z'’-]+)*")

_NEGATION = re.compile(r"\b(not|never|no|none|nobody|nothing|neither|nor|without|n't|cannot|fail\w*|unable)\b", re.I)

_NUM_TYPES = {"how_many", "how_much", "how_old", "how_long"}


@dataclass
class Candidate:
    """A sentence of a retrieved passage, and the evidence that it answers."""

    hit: Hit
    span: Span
    text: str
    vector: np.ndarray | None = None
    features: dict[str, float] = field(default_factory=dict)
    score: float = 0.0  # the decision model's probability that this sentence answers

    @property
    def source_id(self) -> str:
        return self.hit.chunk.source_id

    def row(self) -> list[float]:
        return [self.features[name] for name in FEATURES]


def passage_sentences(text: str, start: int, end: int) -> list[Span]:
    """Sentence spans of a passage; fragments of under three words join the sentence before."""
    spans: list[Span] = []
    for span in sentence_spans(text, start, end):
        words = len(text[span.start : span.end].split())
        if spans and words < 3 and "\n" not in text[spans[-1].end : span.start]:
            spans[-1] = Span(spans[-1].start, span.end)
        else:
            spans.append(span)
    return spans


def candidates(hits: Sequence[Hit], source_text: Callable[[str], str | None]) -> list[Candidate]:
    """Every sentence of the retrieved passages once (the best-ranked passage holding it wins);
    passages whose stored text and index disagree are skipped: never quote what cannot be verified."""
    out: dict[tuple[str, int, int], Candidate] = {}
    for hit in hits:
        full = source_text(hit.chunk.source_id) or ""
        if full[hit.chunk.start : hit.chunk.end] != hit.chunk.text:
            continue
        for span in passage_sentences(full, hit.chunk.start, hit.chunk.end):
            key = (hit.chunk.source_id, span.start, span.end)
            if key not in out:
                out[key] = Candidate(hit, span, full[span.start : span.end])
    return list(out.values())


def _matches(term: str, vocab: set[str]) -> bool:
    if term in vocab:
        return True
    if len(term) < 5:
        return False
    return any(len(v) >= 5 and (v.startswith(term) or term.startswith(v)) for v in vocab)


def _share(wanted: Sequence[str], found: set[str], weight: Callable[[str], float]) -> float:
    wanted = list(dict.fromkeys(wanted))
    total = sum(weight(t) for t in wanted)
    if total <= 0:
        return 1.0
    return sum(weight(t) for t in wanted if _matches(t, found)) / total


def _has_name(text: str, question_terms: set[str]) -> bool:
    """A capitalised name in the sentence that the question does not already give."""
    for match in _NAME.finditer(text):
        if not set(terms(match.group(0))) <= question_terms:
            return True
    return False


def featurize(
    question: Question,
    qvec: np.ndarray,
    cands: list[Candidate],
    hits: Sequence[Hit],
    lexical: LexicalIndex,
    source_text: Callable[[str], str | None],
) -> None:
    """Fill in every candidate's features (each candidate's ``vector`` must be set)."""
    if not cands:
        return
    idf = lexical.idf
    q_terms = set(question.terms)
    hist_terms = [t for t in question.context_terms if t not in q_terms]
    rank_of = {id(h): i for i, h in enumerate(hits, start=1)}
    lex_rank = {h.chunk.id: h.lexical_rank for h in hits}
    best_dense = max((h.dense or 0.0) for h in hits) if hits else 0.0

    sims = np.array([float(c.vector @ qvec) for c in cands]) if cands else np.zeros(0)  # type: ignore[operator]
    by_place = {(c.source_id, c.span.start): i for i, c in enumerate(cands)}
    sent_terms = [set(terms(c.text)) for c in cands]

    # context of each sentence: its neighbours in the passage, the passage and the title
    ctx_terms: list[set[str]] = []
    nb_cos: list[float] = []
    for i, c in enumerate(cands):
        full = source_text(c.source_id) or ""
        ctx = set(terms(c.hit.chunk.text)) | set(terms(c.hit.chunk.title)) | sent_terms[i]
        para = next((p for p in paragraph_spans(full) if p.start <= c.span.start < p.end), None)
        best_nb = 0.0
        if para is not None:
            ctx |= set(terms(full[para.start : para.end]))
            spans = passage_sentences(full, para.start, para.end)
            for j, s in enumerate(spans):
                if s.start == c.span.start:
                    for nb in (spans[j - 1] if j > 0 else None, spans[j + 1] if j + 1 < len(spans) else None):
                        k = by_place.get((c.source_id, nb.start)) if nb is not None else None
                        if k is not None:
                            best_nb = max(best_nb, float(sims[k]))
        ctx_terms.append(ctx)
        nb_cos.append(best_nb)

    everything: set[str] = set().union(*ctx_terms)
    anchors = question.anchors
    anc_missing = any(not _matches(a, everything) for a in anchors)
    miss = 1.0 - _share(question.terms, everything, idf) if question.terms else 0.0
    covs = [_share(question.terms, st, idf) if question.terms else 0.0 for st in sent_terms]
    max_cov = max(covs)
    max_cos = float(sims.max())
    top = int(sims.argmax())
    kind = question.answer_type
    t_when = float(kind == "when")
    t_num = float(kind in _NUM_TYPES)
    t_who = float(kind == "who")
    t_where = float(kind == "where")
    t_why = float(kind == "why")
    t_yesno = float(kind in ("yes_no", "choice"))
    t_what = float(kind in ("what", "which", "how"))
    q_len = math.log1p(len(question.terms))
    max_idf = max(1e-9, idf("\x00"))  # a term no passage has: the largest IDF there is
    q_list = list(dict.fromkeys(question.terms))
    q_pairs = [(a, b) for a, b in zip(question.terms, question.terms[1:], strict=False) if a != b]
    q_neg = bool(_NEGATION.search(question.text))

    for i, c in enumerate(cands):
        st = sent_terms[i]
        has_date = float(bool(_DATE.search(c.text)))
        has_num = float(bool(_NUMBER.search(c.text)))
        has_name = float(_has_name(c.text, q_terms))
        has_cause = float(bool(_CAUSE.search(c.text)))
        anc_sent = _share(anchors, st, lambda _t: 1.0)
        cos = float(sims[i])
        missing = [t for t in q_list if not _matches(t, st)]
        s_list = terms(c.text)
        s_pairs = set(zip(s_list, s_list[1:], strict=False))
        c.features = {
            "s_cos": cos,
            "s_cos_gap": cos - max_cos,
            "s_cos_top": float(i == top),
            "q_max_cos": max_cos,
            "nb_cos": nb_cos[i],
            "c_dense": c.hit.dense or 0.0,
            "c_dense_gap": (c.hit.dense or 0.0) - best_dense,
            "c_rank": 1.0 / rank_of.get(id(c.hit), len(hits) + 1),
            "c_lex": 1.0 / lex_rank[c.hit.chunk.id] if lex_rank.get(c.hit.chunk.id) else 0.0,
            "cov_sent": covs[i],
            "cov_sent_gap": covs[i] - max_cov,
            "cov_ctx": _share(question.terms, ctx_terms[i], idf) if question.terms else 0.0,
            "cov_hist": _share(hist_terms, ctx_terms[i], idf) if hist_terms else 0.0,
            "miss_idf": miss,
            "anc_n": float(min(len(anchors), 4)),
            "anc_sent": anc_sent,
            "anc_ctx": _share(anchors, ctx_terms[i], lambda _t: 1.0),
            "anc_any_missing": float(anc_missing),
            "novel": (len(st - q_terms) / len(st)) if st else 0.0,
            "s_len": math.log1p(len(st)),
            "q_len": q_len,
            "t_when": t_when,
            "t_num": t_num,
            "t_who": t_who,
            "t_where": t_where,
            "t_why": t_why,
            "t_yesno": t_yesno,
            "t_what": t_what,
            "has_date": has_date,
            "has_num": has_num,
            "has_name": has_name,
            "has_cause": has_cause,
            "m_when": t_when * has_date,
            "m_num": t_num * has_num,
            "m_who": t_who * has_name,
            "m_where": t_where * has_name,
            "m_why": t_why * has_cause,
            "cos_x_cov": cos * covs[i],
            "cos_x_anc": cos * anc_sent,
            "miss_max": max((idf(t) for t in missing), default=0.0) / max_idf,
            "miss_n": float(min(5, sum(1 for t in missing if not _matches(t, ctx_terms[i])))),
            "bigram": (sum(1 for p in q_pairs if p in s_pairs) / len(q_pairs)) if q_pairs else 0.0,
            "neg_mismatch": float(q_neg != bool(_NEGATION.search(c.text))),
            "q_neg": float(q_neg),
        }
