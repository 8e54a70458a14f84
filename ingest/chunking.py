"""Split a source's stored text into chunks that never cross a paragraph.

Each paragraph is split with llama-index's sentence-aware ``SentenceSplitter``;
every chunk keeps its paragraph number and its exact character span in the
stored text, so a citation can quote the source verbatim.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from functools import lru_cache

from common.text import Span, paragraph_spans

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TextChunk:
    paragraph: int  # 1-based
    start: int
    end: int
    text: str


@lru_cache(maxsize=8)
def _splitter(chunk_size: int, chunk_overlap: int):  # type: ignore[no-untyped-def]
    from llama_index.core.node_parser import SentenceSplitter

    return SentenceSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap)


def _locate(paragraph: str, piece: str, cursor: int) -> tuple[int, int]:
    """Where ``piece`` (a splitter output) sits in ``paragraph``, searching from ``cursor``."""
    at = paragraph.find(piece, cursor)
    if at < 0:
        at = paragraph.find(piece)
    if at >= 0:
        return at, at + len(piece)
    # The splitter may have changed inner whitespace: anchor on the head and tail words.
    head, tail = piece[:24], piece[-24:]
    start = paragraph.find(head, cursor)
    start = start if start >= 0 else cursor
    end = paragraph.find(tail, start)
    end = end + len(tail) if end >= 0 else min(len(paragraph), start + len(piece))
    return start, end


@lru_cache(maxsize=1)
def _tokenizer():  # type: ignore[no-untyped-def]
    from llama_index.core.utils import get_tokenizer

    return get_tokenizer()


def split_paragraph(text: str, span: Span, chunk_size: int, chunk_overlap: int) -> list[tuple[int, int]]:
    paragraph = text[span.start : span.end]
    if len(_tokenizer()(paragraph)) <= chunk_size:
        # what the splitter returns for a paragraph that fits, without its per-call set-up
        return [(span.start, span.end)]
    pieces = _splitter(chunk_size, chunk_overlap).split_text(paragraph)
    spans = []
    cursor = 0
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        start, end = _locate(paragraph, piece, cursor)
        spans.append((span.start + start, span.start + end))
        cursor = start + 1
    return spans


def chunk_text(text: str, chunk_size: int, chunk_overlap: int) -> list[TextChunk]:
    """All chunks of ``text`` in document order."""
    chunks = []
    for number, span in enumerate(paragraph_spans(text), start=1):
        for start, end in split_paragraph(text, span, chunk_size, chunk_overlap):
            chunks.append(TextChunk(number, start, end, text[start:end]))
    return chunks


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
