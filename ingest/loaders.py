"""Read a source into plain text and a title, or refuse it with a clear reason.

The kinds of source are one table, ``KINDS`` at the end of this file: each
kind's file suffixes, HTTP content types and parser.  Files, uploads and URLs
all look a kind up there, so a new kind is one entry plus its parser.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from common.errors import SourceError
from common.text import normalize_source_text


@dataclass(frozen=True)
class LoadedSource:
    title: str
    text: str
    kind: str


@dataclass(frozen=True)
class Kind:
    """A kind of source: how it is recognised and how its bytes become text."""

    name: str
    suffixes: tuple[str, ...]  # of a file or an upload
    content_types: tuple[str, ...]  # of a URL's response
    parse: Callable[[bytes, str], tuple[str, str | None]]  # (data, name) -> (text, title or None)


def kind_of(name: str) -> str:
    """The kind of a file or upload, by its suffix; a SourceError for an unsupported one."""
    suffix = Path(name).suffix.lower()
    kind = SUPPORTED.get(suffix)
    if kind is None:
        supported = ", ".join(sorted(SUPPORTED))
        raise SourceError(f"{Path(name).name}: unsupported file type {suffix or '(none)'!r}; supported: {supported}")
    return kind


def load_file(path: Path, max_bytes: int) -> LoadedSource:
    kind = kind_of(path.name)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise SourceError(f"{path.name}: {size:,} bytes is over the limit of {max_bytes:,} bytes")
        data = path.read_bytes()
    except SourceError:
        raise
    except OSError as exc:
        raise SourceError(f"{path.name}: cannot read file ({exc.strerror or exc})") from None
    return load_bytes(data, path.name, kind, max_bytes)


def load_bytes(data: bytes, name: str, kind: str, max_bytes: int) -> LoadedSource:
    if len(data) > max_bytes:
        raise SourceError(f"{name}: {len(data):,} bytes is over the limit of {max_bytes:,} bytes")
    text, title = _BY_NAME[kind].parse(data, name)
    text = normalize_source_text(text)
    if not text.strip():
        raise SourceError(f"{name}: no text to index (the file is empty)")
    return LoadedSource(title=title or title_from_name(name), text=text, kind=kind)


def load_pasted(title: str, text: str) -> LoadedSource:
    """Text pasted by a person, in the stored form."""
    text = normalize_source_text(text)
    if not text.strip():
        raise SourceError("no text to index (the pasted text is empty)")
    return LoadedSource(title=title.strip() or "Pasted text", text=text, kind="text")


def title_from_name(name: str) -> str:
    stem = Path(name).stem
    words = re.sub(r"[-_]+", " ", stem).split()
    return " ".join(w[:1].upper() + w[1:] for w in words) or "Untitled"


def _decode(data: bytes, name: str) -> str:
    if b"\x00" in data[:8192]:
        raise SourceError(f"{name}: looks like binary data, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{name}: not valid UTF-8 text (bad byte at offset {exc.start})") from None
    control = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\n\r\t\f")
    if control > 0.01 * max(1, min(len(text), 8192)):
        raise SourceError(f"{name}: looks like binary data, not text")
    return text


def _text_title(text: str, kind: str) -> str | None:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return None
    first = lines[0]
    if kind == "markdown" and first.startswith("#"):
        return first.lstrip("#").strip() or None
    # A short first line standing alone (followed by a blank line) is a headline.
    if len(lines) > 1 and len(first) <= 100 and not first.endswith((".", ":", ";")) and "\n\n" in text[:200]:
        return first
    return None


_BLOCK_TAGS = [
    "p", "div", "section", "article", "li", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "pre", "tr", "br", "td", "th", "dd", "dt", "figcaption", "header", "footer",
]  # fmt: skip


def _html_text(markup: str) -> tuple[str, str | None]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "iframe", "svg", "head", "nav"]):
        if tag.name == "head":
            continue
        tag.decompose()
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else None
    if not title:
        h1 = soup.find("h1")
        title = h1.get_text(" ", strip=True) if h1 else None
    for tag in soup(["head"]):
        tag.decompose()
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_before("\n\n")
        tag.insert_after("\n\n")
    raw = soup.get_text()
    paragraphs = [re.sub(r"\s+", " ", block).strip() for block in re.split(r"\n\s*\n", raw)]
    return "\n\n".join(p for p in paragraphs if p), title


def _pdf_text(data: bytes, name: str) -> tuple[str, str | None]:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
        title = reader.metadata.title if reader.metadata else None
    except (PyPdfError, ValueError, TypeError, KeyError, OSError) as exc:
        raise SourceError(f"{name}: not a readable PDF ({exc})") from None
    blocks = []
    for page in pages:
        for block in re.split(r"\n\s*\n", page):
            flat = re.sub(r"\s+", " ", block).strip()
            if flat:
                blocks.append(flat)
    return "\n\n".join(blocks), (str(title).strip() or None) if title else None


def _plain(data: bytes, name: str) -> tuple[str, str | None]:
    raw = _decode(data, name)
    return raw, _text_title(raw, "text")


def _markdown(data: bytes, name: str) -> tuple[str, str | None]:
    raw = _decode(data, name)
    return raw, _text_title(raw, "markdown")


def _html(data: bytes, name: str) -> tuple[str, str | None]:
    return _html_text(_decode(data, name))


# -- the kinds of source: one entry a kind ---------------------------------------
KINDS: tuple[Kind, ...] = (
    Kind("text", (".txt",), ("text/plain",), _plain),
    Kind("markdown", (".md", ".markdown"), ("text/markdown",), _markdown),
    Kind("html", (".html", ".htm"), ("text/html", "application/xhtml+xml"), _html),
    Kind("pdf", (".pdf",), ("application/pdf",), _pdf_text),
)
_BY_NAME = {kind.name: kind for kind in KINDS}
SUPPORTED = {suffix: kind.name for kind in KINDS for suffix in kind.suffixes}  # file suffix -> kind
CONTENT_TYPES = {ctype: kind.name for kind in KINDS for ctype in kind.content_types}  # MIME type -> kind
