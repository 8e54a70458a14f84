"""Plain-text helpers shared by ingest and answering: paragraphs, sentences, terms."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

_FOLD = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00a0": " ",
    }
)


def fold(text: str) -> str:
    """Fold curly quotes and dashes to plain ones (for matching, never for quoting)."""
    return text.translate(_FOLD)


def is_valid_text(text: str) -> bool:
    """Whether ``text`` is text at all: a lone surrogate (from a JSON escape such as "\\ud800", or
    undecodable bytes in an argument, read with Python's surrogateescape) cannot be encoded,
    searched or printed."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def normalize_source_text(text: str) -> str:
    """Canonical stored form of a source: NFC, \\n line ends, no trailing blanks."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\x00", "")
    lines = [line.rstrip() for line in text.split("\n")]
    return "\n".join(lines).strip("\n")


@dataclass(frozen=True)
class Span:
    start: int
    end: int


@lru_cache(maxsize=256)
def paragraph_spans(text: str) -> tuple[Span, ...]:
    """Character spans of a text's paragraphs, in order.

    Blank-line separated blocks are paragraphs; a text with no blank lines
    (one paragraph a line, like the bundled article) has one paragraph a line.
    """
    blocks = [m for m in re.finditer(r"[^\n]+(?:\n[^\n]+)*", text)]
    if len(blocks) <= 1:
        blocks = list(re.finditer(r"[^\n]+", text))
    spans = []
    for m in blocks:
        start, end = m.start(), m.end()
        chunk = text[start:end]
        lead = len(chunk) - len(chunk.lstrip())
        if chunk.strip():
            spans.append(Span(start + lead, end))
    return tuple(spans)


@lru_cache(maxsize=1)
def _punkt():  # type: ignore[no-untyped-def]
    # The same tokenizer llama-index's sentence splitting uses (globals_helper.punkt_tokenizer),
    # built directly so answering does not import all of llama_index.core.
    from nltk.tokenize.punkt import PunktSentenceTokenizer

    return PunktSentenceTokenizer()


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentence spans inside ``text[start:end]`` (absolute offsets), via punkt."""
    end = len(text) if end is None else end
    piece = text[start:end]
    spans = []
    for s, e in _punkt().span_tokenize(piece):
        # punkt keeps a line as one sentence at most; split on newlines as well
        for m in re.finditer(r"[^\n]+", piece[s:e]):
            seg = m.group(0)
            if seg.strip():
                lead = len(seg) - len(seg.lstrip())
                a = start + s + m.start() + lead
                spans.append(Span(a, start + s + m.start() + len(seg.rstrip())))
    return spans


def passage_sentences(text: str, start: int, end: int) -> list[Span]:
    """Sentence spans of a passage; fragments of under three words join the sentence before."""
    return list(_passage_sentences(text, start, end))


@lru_cache(maxsize=2048)  # a question reads each sentence's neighbours: the same paragraphs again
def _passage_sentences(text: str, start: int, end: int) -> tuple[Span, ...]:
    spans: list[Span] = []
    for span in sentence_spans(text, start, end):
        words = len(text[span.start : span.end].split())
        if spans and words < 3 and "\n" not in text[spans[-1].end : span.start]:
            spans[-1] = Span(spans[-1].start, span.end)
        else:
            spans.append(span)
    return tuple(spans)


def previous_sentence(text: str, span: Span) -> Span | None:
    """The sentence just before ``span`` in the same or the previous paragraph."""
    return _neighbour(text, span, -1)


def next_sentence(text: str, span: Span) -> Span | None:
    """The sentence just after ``span`` in the same or the next paragraph."""
    return _neighbour(text, span, 1)


def _neighbour(text: str, span: Span, step: int) -> Span | None:
    paragraphs = paragraph_spans(text)
    for i, para in enumerate(paragraphs):
        if para.start <= span.start < para.end:
            own = passage_sentences(text, para.start, para.end)
            side = [s for s in own if s.end <= span.start] if step < 0 else [s for s in own if s.start >= span.end]
            if side:
                return side[-1] if step < 0 else side[0]
            if 0 <= i + step < len(paragraphs):
                other = passage_sentences(text, paragraphs[i + step].start, paragraphs[i + step].end)
                return (other[-1] if step < 0 else other[0]) if other else None
    return None


_TOKEN = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)*")

_STOPWORD_TEXT = """
a about above after again against all am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has
have having he her here hers herself him himself his how i if in into is it its itself just me
more most my myself no nor not now of off on once only or other our ours ourselves out over own
same she should so some such than that the their theirs them themselves then there these they
this those through to too under until up very was we were what when where which while who whom
why will with would you your yours yourself yourselves tell me please article according say said
says become became becomes get gets got give gives gave take takes took make makes made want
wants wanted know knows knew think thinks go goes went come comes came happen happened happens
mention mentions mentioned next also ever still really
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

_SPELLING = [
    (re.compile(r"^(\w{3,})our(s|ed|ing|ite|ites|able)?$"), r"\1or\2"),  # labour -> labor
    (re.compile(r"^(\w{3,})is(e|es|ed|ing|ation|ations)$"), r"\1iz\2"),  # organise -> organize
]


_NUMBER_WORDS = {  # "one" is left alone: as often a pronoun ("that one") as a number
    "zero": "0", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
    "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14",
    "fifteen": "15", "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19", "twenty": "20",
}  # fmt: skip


def _spelling(word: str) -> str:
    """Fold British spellings to American ones, so 'Labour' finds 'Labor'; number words to digits,
    so 'the 4 groups' finds 'four groups'."""
    if word in _NUMBER_WORDS:
        return _NUMBER_WORDS[word]
    for pattern, repl in _SPELLING:
        word = pattern.sub(repl, word)
    return word


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


def stems(words: Iterable[str]) -> list[str]:
    """The words stemmed as ``terms`` stems them (nothing dropped)."""
    return list(_stemmer().stemWords(list(words)))


def terms(text: str) -> list[str]:
    """Lower-cased, stemmed content terms (stop words dropped), for lexical matching."""
    return list(_terms(text))


# Answering stems the same sentences, their neighbours and passages for every question asked
# of a source: remembered by text (a bounded cache; a text is a sentence or a passage).
@lru_cache(maxsize=16384)
def _terms(text: str) -> tuple[str, ...]:
    words = [
        _spelling(w) for w in _TOKEN.findall(fold(text).lower()) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())
    ]
    return tuple(_stemmer().stemWords(words))
