"""Read a source into plain text and a title, or refuse it with a clear reason.

The kinds of source are one table, ``KINDS`` at the end of this file: each
kind's file suffixes, HTTP content types and parser.  Files, uploads and URLs
all look a kind up there, so a new kind is one entry plus its parser.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from common.errors import SourceError
from common.text import normalize_source_text


@dataclass(frozen=True)
class LoadedSource:
    title: str
    text: str
    kind: str
    # a fetched page's validators (etag, last_modified), for the next conditional request
    validators: dict[str, str | None] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Kind:
    """A kind of source: how it is recognised and how its bytes become text."""

    name: str
    suffixes: tuple[str, ...]  # of a file or an upload
    content_types: tuple[str, ...]  # of a URL's response
    # (data, name, the charset a server declared or None) -> (text, title or None)
    parse: Callable[[bytes, str, str | None], tuple[str, str | None]]


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


def load_bytes(data: bytes, name: str, kind: str, max_bytes: int, *, charset: str | None = None) -> LoadedSource:
    """``charset``: the one the server declared (HTTP Content-Type), if any."""
    if len(data) > max_bytes:
        raise SourceError(f"{name}: {len(data):,} bytes is over the limit of {max_bytes:,} bytes")
    text, title = _BY_NAME[kind].parse(data, name, charset)
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


_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),  # before UTF-16: FF FE starts both
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"), (codecs.BOM_UTF8, "utf-8-sig"),
]  # fmt: skip
# Labels browsers read as windows-1252 (WHATWG Encoding); its five unassigned bytes fall back to Latin-1.
_WINDOWS_1252 = {"iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1", "us-ascii", "ascii"}
_WINDOWS_1252 |= {"windows-1252", "cp1252", "x-cp1252", "cp819", "ibm819"}
_UNASSIGNED_1252 = {0xDC00 + b: b for b in (0x81, 0x8D, 0x8F, 0x90, 0x9D)}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)


def _meta_charset(data: bytes) -> str | None:
    found = _META_CHARSET.search(data[:4096])
    return found.group(1).decode("ascii").lower() if found else None


def _decode(data: bytes, name: str, declared: str | None = None) -> str:
    """Text by its byte-order mark; else UTF-8; else the declared charset (an HTTP header or an
    HTML <meta>), since Latin-1 text is almost never valid UTF-8 while UTF-8 mislabelled as
    Latin-1 is common."""
    bom = next((enc for mark, enc in _BOMS if data.startswith(mark)), None)
    if bom is not None:
        try:
            text = data.decode(bom)
        except UnicodeDecodeError as exc:
            raise SourceError(f"{name}: not valid {bom.upper()} text (bad byte at offset {exc.start})") from None
        return _checked_text(text, name)
    if b"\x00" in data[:8192]:
        raise SourceError(f"{name}: looks like binary data, not text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        fallback = _decode_declared(data, (declared or "").strip().lower())
        if fallback is None:
            raise SourceError(f"{name}: not valid UTF-8 text (bad byte at offset {exc.start})") from None
        text = fallback
    return _checked_text(text, name)


def _decode_declared(data: bytes, label: str) -> str | None:
    if label in _WINDOWS_1252:
        return data.decode("cp1252", errors="surrogateescape").translate(_UNASSIGNED_1252)
    try:
        return data.decode(codecs.lookup(label).name) if label and label not in ("utf-8", "utf8") else None
    except (LookupError, UnicodeDecodeError):
        return None


def _checked_text(text: str, name: str) -> str:
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


_BLOCK_TAGS = frozenset({
    "p", "div", "section", "article", "li", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "pre", "tr", "br", "td", "th", "dd", "dt", "figcaption", "header", "footer",
})  # fmt: skip
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "iframe", "svg", "head", "nav"})
_HEAD_TAGS = frozenset({"title", "meta", "link", "base", "style", "script", "noscript", "template"})
_VOID_TAGS = frozenset({
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr",
})  # fmt: skip
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)


class _TextExtractor(HTMLParser):
    """Visible text of an HTML page in one pass over its tags, so time is linear in its size
    whatever the nesting: no tree is built. Text inside script, style, head (but its title),
    navigation, CDATA sections, and elements marked ``hidden`` or ``display: none`` is dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self.h1: list[str] = []
        self._skip: str | None = None  # the tag whose content is being dropped
        self._skip_depth = 0  # nesting of that same tag inside it
        self._in_title = False
        self._h1_state = 0  # 0 before the first h1, 1 inside it, 2 after it

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip == "head" and tag not in _HEAD_TAGS:
            self._skip = None  # a body element ends an unclosed head, as in a browser
        if tag == "title" and self._skip in (None, "head"):
            self._in_title = True
        if self._skip is not None:
            if tag == self._skip:
                self._skip_depth += 1
            return
        if tag in _VOID_TAGS:
            if tag in _BLOCK_TAGS:
                self.parts.append("\n\n")
            return
        hidden = any(
            name == "hidden" or (name == "style" and value and _HIDDEN_STYLE.search(value)) for name, value in attrs
        )
        if tag in _SKIP_TAGS or hidden:
            self._skip, self._skip_depth = tag, 1
            return
        if tag in _BLOCK_TAGS:
            self.parts.append("\n\n")
        if tag == "h1" and self._h1_state == 0:
            self._h1_state = 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if self._skip is not None:
            if tag == self._skip:
                self._skip_depth -= 1
                if self._skip_depth == 0:
                    self._skip = None
            return
        if tag in _BLOCK_TAGS:
            self.parts.append("\n\n")
        if tag == "h1" and self._h1_state == 1:
            self._h1_state = 2

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
        elif self._skip is None:
            self.parts.append(data)
            if self._h1_state == 1:
                self.h1.append(data)


def _defused(markup: str) -> str:
    """``markup`` with every '<' that cannot open a complete construct written as '&lt;'.

    HTMLParser retries each unclosed '<' (no '>' after it, a comment with no '-->', a marked
    section with no ']>') from the next one, scanning to the end each time: quadratic, minutes
    for a megabyte of '<a'. As text they cost nothing, and that is what a browser shows."""
    last_comment_end = markup.rfind("-->")
    unclosed_comment = markup.find("<!--", last_comment_end + 1 if last_comment_end >= 0 else 0)
    if unclosed_comment != -1:  # a comment never closed runs to the end, as in a browser
        markup = markup[:unclosed_comment]
    last_section_end = markup.rfind("]>")
    out: list[str] = []
    done = 0
    gt = markup.find(">")
    for found in re.finditer("<", markup):
        i = found.start()
        if gt != -1 and gt <= i:
            gt = markup.find(">", i + 1)  # the pointer only moves forward: linear overall
        unclosed = gt == -1 or (last_section_end < i and markup.startswith("<![", i))
        if unclosed:
            out.append(markup[done:i])
            out.append("&lt;")
            done = i + 1
    out.append(markup[done:])
    return "".join(out)


def _html_text(markup: str, name: str) -> tuple[str, str | None]:
    parser = _TextExtractor()
    try:
        parser.feed(_defused(markup))
        parser.close()
    except (AssertionError, ValueError) as exc:  # _markupbase asserts on some malformed declarations
        raise SourceError(f"{name}: not readable HTML ({exc})") from None
    title = " ".join("".join(parser.title).split()) or " ".join("".join(parser.h1).split()) or None
    raw = "".join(parser.parts)
    paragraphs = [re.sub(r"\s+", " ", block).strip() for block in re.split(r"\n\s*\n", raw)]
    return "\n\n".join(p for p in paragraphs if p), title


def _pdf_text(data: bytes, name: str, _charset: str | None = None) -> tuple[str, str | None]:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    reader = None
    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
        title = reader.metadata.title if reader.metadata else None
    except RecursionError:
        raise SourceError(f"{name}: not a readable PDF (nested too deeply)") from None
    except Exception as exc:  # pypdf raises many kinds (DependencyError, OverflowError, ...): all one line
        detail = " ".join(str(exc).split())[:200] or exc.__class__.__name__
        if reader is not None and reader.is_encrypted:
            raise SourceError(f"{name}: an encrypted PDF that cannot be read ({detail})") from None
        kind = "" if isinstance(exc, PyPdfError) else f"{exc.__class__.__name__}: "
        raise SourceError(f"{name}: not a readable PDF ({kind}{detail})") from None
    blocks = []
    for page in pages:
        for block in re.split(r"\n\s*\n", page):
            flat = re.sub(r"\s+", " ", block).strip()
            if flat:
                blocks.append(flat)
    return "\n\n".join(blocks), (str(title).strip() or None) if title else None


def _plain(data: bytes, name: str, charset: str | None = None) -> tuple[str, str | None]:
    raw = _decode(data, name, charset)
    return raw, _text_title(raw, "text")


def _markdown(data: bytes, name: str, charset: str | None = None) -> tuple[str, str | None]:
    raw = _decode(data, name, charset)
    return raw, _text_title(raw, "markdown")


def _html(data: bytes, name: str, charset: str | None = None) -> tuple[str, str | None]:
    return _html_text(_decode(data, name, charset or _meta_charset(data)), name)


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
