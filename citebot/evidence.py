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

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from citebot.opposites import contradicted, opposable
from citebot.question import Question
from citebot.retrieval import Hit, LexicalIndex
from common.text import Span, fold, next_sentence, paragraph_spans, passage_sentences, previous_sentence, terms
from index_store.packed import unpack

FEATURES = (
    "s_cos",  # the sentence's similarity to the question (sentence embeddings)
    "s_cos_gap",  # ... minus the best candidate's
    "c_dense",  # the passage's similarity to the question
    "cov_sent",  # IDF-weighted share of the question's terms in the sentence
    "cov_sent_gap",  # ... minus the best candidate's
    "cov_ctx",  # ... in the sentence, its passage, paragraph and title
    "cov_hist",  # share of earlier questions' terms (follow-ups) in the context
    "miss_idf",  # IDF-weighted share of question terms found nowhere in the retrieved passages
    "anc_sent",  # share of anchors (names, numbers, quotes) in the sentence (1 when there are none)
    "anc_ctx",  # share of anchors in the sentence's context
    "anc_any_missing",  # 1 when an anchor is nowhere in the retrieved passages (or their neighbours)
    "cov_win",  # share of the question's terms in the sentence and the sentences either side of it
    "anc_win",  # share of anchors there, or in the title of its source (what the whole page is about)
    "miss_win",  # the rarest question term missing there: its IDF over the question's highest
    "bigram",  # share of the question's adjacent term pairs adjacent in the sentence too
    "m_when",  # type match: a "when" question and a sentence with a date
    "m_num",  # a "how many/much/old/long" question and a number
    "m_num_near",  # ... and a number next to one of the question's words ("Loach, 85"; not "four groups" for members)
    "m_when_near",  # a "when" question and a date next to one of its words ("leadership in April 2020")
    "m_who",  # a "who" question and a name the question does not give
    "m_where",  # a "where" question and such a name
    "m_why",  # a "why" question and a cause ("because", "the reason", "for refusing")
    "has_date",
    "has_num",
    "has_name",
    "q_neg",  # the question is negated ("What is not ...")
    "neg_mismatch",  # one of question and sentence is negated, the other not
    "cos_x_cov",  # interactions
    "cos_x_anc",
    "t_yesno",  # the question asks yes or no, or for a choice between two things
    "t_what",  # the question asks what, which or how
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
# A question asking what is *not* so ("What can not be restated as decision problems?") and a
# sentence saying something is not so: outright or implied ("refusing to", "banned", "lacks").
_OUTRIGHT_NOT = (
    r"not|never|no|none|nobody|nothing|neither|nor|without|cannot"
    r"|n't|(?:do|does|did|is|are|was|were|wo|would|could|should|ca|has|have|had)nt"
)
_IMPLIED_NOT = (
    r"fail(?:s|ed|ing|ure)?|unable|refus\w*|reject\w*|den(?:y|ied|ies|ial)|lack(?:s|ed|ing)?|declin\w*"
    r"|absen(?:t|ce)|except|exception|instead|non|un\w+able|im?possib\w*|illegal\w*|forb(?:id\w*|ade)"
    r"|prohibit\w*|bann?(?:ed|s|ing)?"
)
_ASKS_NOT = re.compile(rf"\b({_OUTRIGHT_NOT})\b", re.I)  # read on folded text (plain apostrophes)
_SAYS_NOT = re.compile(rf"\b({_OUTRIGHT_NOT}|{_IMPLIED_NOT})\b", re.I)

NUMBER_TYPES = frozenset({"how_many", "how_much", "how_old", "how_long"})  # questions answered by a number
# A person's age as news gives it, right after the name: "Loach, 85, is ..." or "Starmer (59) said".
_AGE_AFTER_NAME = re.compile(r"\b([A-Z][\w'’-]+)(?:, (\d{1,3}),| \((\d{1,3})\))")
_AGE_WORDS = frozenset(terms("old age aged years"))
# Words that leave an age question asking the same ("loach must be in his 70s by now yeah?",
# "how old is loach rn", where "rn" is spelled out "right now").
_HEDGES = frozenset(terms("must might may right actually probably surely like yeah today currently anymore"))


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


_DASH = "\u2014\u2013-"


def is_attribution(sentence: str) -> bool:
    """A line crediting the quotation before it ("— Ken Loach (@KenLoachSixteen) August 14, 2021")."""
    return sentence.lstrip()[:1] in _DASH


def attribution_after(text: str, span: Span) -> Span | None:
    """The attribution line right after the paragraph ``span`` ends in, if there is one."""
    paragraphs = paragraph_spans(text)
    for para, after in itertools.pairwise(paragraphs):
        if para.start <= span.start < para.end and span.end <= para.end:
            line = passage_sentences(text, after.start, after.end)
            if line and line[0].start == after.start and is_attribution(text[line[0].start : line[0].end]):
                return line[0]
    return None


def _as_quoted(cand: Candidate, full: str) -> str:
    """The sentence as it would be quoted (``full``: its source's text): a quotation with the
    line crediting it, which says who said it and when ("'... Solidarity.' KL" with "— Ken
    Loach ... August 14, 2021")."""
    credit = attribution_after(full, cand.span)
    return cand.text if credit is None else f"{cand.text} {full[credit.start : credit.end]}"


def candidates(hits: Sequence[Hit], source_text: Callable[[str], str | None]) -> list[Candidate]:
    """Every sentence of the retrieved passages once (the best-ranked passage holding it wins);
    passages whose stored text and index disagree are skipped: never quote what cannot be verified."""
    out: dict[tuple[str, int, int], Candidate] = {}
    for hit in hits:
        full = source_text(hit.chunk.source_id) or ""
        if full[hit.chunk.start : hit.chunk.end] != hit.chunk.text:
            continue
        spans = passage_sentences(full, hit.chunk.start, hit.chunk.end)
        stored = unpack(hit.chunk.sentence_vectors) if hit.chunk.sentence_vectors else None
        if stored is not None and len(stored) != len(spans):
            stored = None  # split differently from when it was stored: encode afresh
        for i, span in enumerate(spans):
            if is_attribution(full[span.start : span.end]):
                continue  # a credit line is quoted with its quotation, never on its own
            key = (hit.chunk.source_id, span.start, span.end)
            if key not in out:
                vector = None if stored is None else stored[i]
                out[key] = Candidate(hit, span, full[span.start : span.end], vector)
    return list(out.values())


_DECADE = re.compile(r"^(1\d|20)?(\d)0s$")


def _matches(term: str, vocab: set[str]) -> bool:
    if term in vocab:
        return True
    decade = _DECADE.match(term)
    if decade:  # "60s" or "1960s" is found by any year of the decade
        century = decade.group(1) or "19"
        return any(re.fullmatch(rf"{century}{decade.group(2)}\d", v) for v in vocab)
    if len(term) < 4:
        return False
    return any(len(v) >= 4 and (v.startswith(term) or term.startswith(v)) for v in vocab)


def _share(wanted: Sequence[str], found: set[str], weight: Callable[[str], float]) -> float:
    wanted = list(dict.fromkeys(wanted))
    total = sum(weight(t) for t in wanted)
    if total <= 0:
        return 1.0
    return sum(weight(t) for t in wanted if _matches(t, found)) / total


def _anchor_share(anchors: Sequence[str], alternatives: Sequence[str], found: set[str]) -> float:
    """Share of the anchors in ``found`` (1 when there are none); the alternatives the question
    offers count as one anchor, present when any of them is."""
    wanted = len(anchors) + bool(alternatives)
    if not wanted:
        return 1.0
    hits = sum(_matches(a, found) for a in anchors) + any(_matches(a, found) for a in alternatives)
    return hits / wanted


def _with_names(found: set[str], runs: Sequence[tuple[str, ...]]) -> set[str]:
    """``found`` plus the first words of every name whose last word it holds ("Loach" mentions
    "Ken Loach")."""
    extra = {t for run in runs if run[-1] in found for t in run[:-1]}
    return found | extra if extra else found


# stems of number words ``common.text.terms`` leaves as words (it folds "two" .. "twenty" to digits)
_NUMBER_STEMS = frozenset(
    [
        "thirti",
        "forti",
        "fifti",
        "sixti",
        "seventi",
        "eighti",
        "nineti",
        "hundr",
        "thousand",
        "million",
        "billion",
        "trillion",
        "dozen",
    ]
)


def _is_number(term: str) -> bool:
    return any(ch.isdigit() for ch in term) or term in _NUMBER_STEMS


def _number_near(sentence_terms: list[str], question_terms: set[str], reach: int = 4) -> bool:
    """A number within ``reach`` content words of one of the question's words (the same stem:
    prefixes are too loose here, "parti" would find "particular")."""
    for i, term in enumerate(sentence_terms):
        if _is_number(term):
            near = sentence_terms[max(0, i - reach) : i] + sentence_terms[i + 1 : i + 1 + reach]
            if any(t in question_terms for t in near if not _is_number(t)):
                return True
    return False


def states_age(question: Question, sentence: str) -> bool:
    """Whether ``sentence`` gives the age of the one a "how old is ...?" question names, and the
    question asks nothing else ("How old is Ken Loach?" and "Loach, 85, is best remembered ...";
    not "How old was Loach when he made Kes?")."""
    if question.answer_type != "how_old" or not question.anchors:
        return False
    named = set(question.anchors) | {t for run in question.names for t in run}
    guesses = {t for t in question.terms if _is_number(t) or _DECADE.match(t)}  # "in his 70s"
    if not set(question.terms) - _AGE_WORDS - _HEDGES - guesses <= named:
        return False
    return any(set(terms(m.group(1))) & named for m in _AGE_AFTER_NAME.finditer(sentence))


_MONTH_STEMS = frozenset(terms("january february march april may june july august september october november december"))


def _date_near(sentence_terms: list[str], question_terms: set[str], reach: int = 4) -> bool:
    """A year or month within ``reach`` content words of one of the question's words (or a
    longer form of one: "leader" finds "leadership")."""
    for i, term in enumerate(sentence_terms):
        if term in _MONTH_STEMS or (len(term) == 4 and term.isdigit() and term[0] in "12"):
            near = sentence_terms[max(0, i - reach) : i] + sentence_terms[i + 1 : i + 1 + reach]
            if any(t.startswith(q) for t in near for q in question_terms if len(q) >= 5 or t == q):
                return True
    return False


def _has_name(text: str, question_terms: set[str]) -> bool:
    """A capitalised name in the sentence that the question does not already give."""
    return any(not set(terms(match.group(0))) <= question_terms for match in _NAME.finditer(text))


@dataclass
class Evidence:
    """What the engine found for a question: the understood question, its vector, the passages."""

    question: Question
    vector: np.ndarray
    hits: list[Hit]
    lexical: LexicalIndex


def _contexts(
    cands: list[Candidate], sent_terms: list[set[str]], fulls: list[str]
) -> tuple[list[list[str]], list[set[str]], list[set[str]]]:
    """Each sentence's window: the sentence and those either side of it, even outside its
    passage ("The latter two groups ..." after the sentence naming them, a quotation before
    the line crediting it), as texts and as terms; and its wider context (the window, its
    passage, paragraph and title); ``fulls``: each candidate's source text."""
    texts, windows, contexts = [], [], []
    for c, own, full in zip(cands, sent_terms, fulls, strict=True):
        near = [n for n in (previous_sentence(full, c.span), next_sentence(full, c.span)) if n is not None]
        text = [c.text, *(full[n.start : n.end] for n in near)]
        window = set(own).union(*(terms(t) for t in text[1:]))
        ctx = set(terms(c.hit.chunk.text)) | set(terms(c.hit.chunk.title)) | window
        para = next((p for p in paragraph_spans(full) if p.start <= c.span.start < p.end), None)
        if para is not None:
            ctx |= set(terms(full[para.start : para.end]))
        texts.append(text)
        windows.append(window)
        contexts.append(ctx)
    return texts, windows, contexts


def _says_not(texts: Sequence[str]) -> bool:
    return any(_SAYS_NOT.search(fold(t)) for t in texts)


def _bigrams(words: Sequence[str]) -> set[tuple[str, str]]:
    return set(itertools.pairwise(words))


def _missing_rarest(known: Sequence[str], found: set[str], idf: Callable[[str], float]) -> float:
    """The highest IDF of a question term not in ``found``, over the highest of all (0: none missing)."""
    top = max((idf(t) for t in known), default=0.0)
    missing = [idf(t) for t in known if not _matches(t, found)]
    return max(missing) / top if missing and top > 0 else 0.0


def _type_flags(kind: str) -> dict[str, float]:
    return {
        "t_when": float(kind == "when"),
        "t_num": float(kind in NUMBER_TYPES),
        "t_who": float(kind == "who"),
        "t_where": float(kind == "where"),
        "t_why": float(kind == "why"),
        "t_yesno": float(kind in ("yes_no", "choice")),
        "t_what": float(kind in ("what", "which", "how")),
    }


def featurize(evidence: Evidence, cands: list[Candidate], source_text: Callable[[str], str | None]) -> None:
    """Fill in every candidate's features (each candidate's ``vector`` must be set)."""
    if not cands:
        return
    question, idf = evidence.question, evidence.lexical.idf
    q_terms = set(question.terms)
    hist_terms = [t for t in question.context_terms if t not in q_terms]
    sims = np.array([float(np.dot(c.vector, evidence.vector)) for c in cands])  # type: ignore[arg-type]
    fulls = [source_text(c.source_id) or "" for c in cands]
    words = [terms(_as_quoted(c, full)) for c, full in zip(cands, fulls, strict=True)]  # each stemmed once
    sent_terms = [_with_names(set(w), question.names) for w in words]
    window_texts, windows, contexts = _contexts(cands, sent_terms, fulls)
    win_terms = [_with_names(w, question.names) for w in windows]
    ctx_terms = [_with_names(ctx, question.names) for ctx in contexts]
    q_pairs = _bigrams(question.terms)
    # coverage counts the terms the sources know, and the anchors; a word no passage has
    # ("booted") is left to the sentence's meaning (and to ``miss_idf``)
    known = [
        t
        for t in question.terms
        if evidence.lexical.df.get(t, 0) > 0 or t in question.anchors or t in question.alternatives
    ]

    everything: set[str] = set().union(*ctx_terms)
    anchors, offered = question.anchors, question.alternatives
    anc_missing = _anchor_share(anchors, offered, everything) < 1.0
    miss = 1.0 - _share(question.terms, everything, idf) if question.terms else 0.0
    covs = [_share(known, st, idf) if known else 0.0 for st in sent_terms]
    max_cov = max(covs)
    max_cos = float(sims.max())
    flags = _type_flags(question.answer_type)
    q_neg = bool(_NEGATION.search(question.text))
    opposed = opposable(question.text)
    asks_not = bool(_ASKS_NOT.search(question.text))  # the question's text is folded already

    for i, c in enumerate(cands):
        st = sent_terms[i]
        has_date = float(bool(_DATE.search(c.text)))
        has_num = float(bool(_NUMBER.search(c.text)))
        has_name = float(_has_name(c.text, q_terms))
        has_cause = float(bool(_CAUSE.search(c.text)))
        anc_sent = _anchor_share(anchors, offered, st)
        cos = float(sims[i])
        window = window_texts[i]
        c.features = {
            "s_cos": cos,
            "s_cos_gap": cos - max_cos,
            "c_dense": c.hit.dense or 0.0,
            "cov_sent": covs[i],
            "cov_sent_gap": covs[i] - max_cov,
            "cov_ctx": _share(known, ctx_terms[i], idf) if known else 0.0,
            "cov_hist": _share(hist_terms, ctx_terms[i], idf) if hist_terms else 0.0,
            "miss_idf": miss,
            "anc_sent": anc_sent,
            "anc_ctx": _anchor_share(anchors, offered, ctx_terms[i]),
            "anc_any_missing": float(anc_missing),
            "cov_win": _share(known, win_terms[i], idf) if known else 0.0,
            "anc_win": _anchor_share(anchors, offered, win_terms[i] | set(terms(c.hit.chunk.title))),
            "miss_win": _missing_rarest(known, win_terms[i], idf),
            "bigram": len(q_pairs & _bigrams(words[i])) / len(q_pairs) if q_pairs else 0.0,
            "m_when": flags["t_when"] * has_date,
            "m_num": flags["t_num"] * has_num,
            "m_num_near": float(_number_near(words[i], q_terms)) if flags["t_num"] else 0.0,
            "m_when_near": float(_date_near(words[i], q_terms)) if flags["t_when"] else 0.0,
            "m_who": flags["t_who"] * has_name,
            "m_where": flags["t_where"] * has_name,
            "m_why": flags["t_why"] * has_cause,
            "has_date": has_date,
            "has_num": has_num,
            "has_name": has_name,
            "q_neg": float(q_neg),
            "neg_mismatch": float(q_neg != bool(_NEGATION.search(c.text))),
            "cos_x_cov": cos * covs[i],
            "cos_x_anc": cos * anc_sent,
            "t_yesno": flags["t_yesno"],
            "t_what": flags["t_what"],
            # read by the rules of ``citebot.extractive``, not by the models
            "contradicted": float(contradicted(opposed, window)),
            "negation_unmet": float(asks_not and not _says_not(window)),
            "states_age": float(states_age(question, c.text)),
        }
