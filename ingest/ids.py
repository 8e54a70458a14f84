"""Source ids: how a file, a URL or a title becomes one, and which ids are valid."""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from pathlib import Path
from urllib.parse import urlsplit

from common.errors import SourceError
from ingest.loaders import SUPPORTED
from ingest.urls import without_secrets

log = logging.getLogger(__name__)

_ID_OK = re.compile(r"^[a-z0-9][a-z0-9._/-]{0,159}$")


def slugify(text: str) -> str:
    """A lower-case ASCII id part for ``text``: accents are folded, runs of dots collapsed, and
    a name with nothing to keep (CJK, emoji) becomes ``source-`` and a hash of it, so two such
    names never share an id."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9._-]+", "-", folded.lower())
    slug = re.sub(r"\.{2,}", ".", slug).strip("-._")
    if not slug:
        return f"source-{_short_hash(text)}" if text.strip() else "source"
    return _fit_id(slug)


def url_source_id(url: str) -> str:
    """The default id of a URL source: its page name (not 'index'), with the query when there is
    one, so ``article.php?id=5`` and ``?id=6`` or two ``.../index.html`` get distinct ids
    (``news``, ``sport``, ``article-id-5``, ``article-id-6``; ``.../ferry.html`` is ``ferry.html``).
    Secret-looking query values (``?token=...``) are no part of it: an id is shown everywhere."""
    url = without_secrets(url)
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return f"source-{_short_hash(url)}"
    segments = [p for p in parts.path.split("/") if p]
    if segments and Path(segments[-1]).stem.lower() in ("index", "default", "home", "main"):
        segments.pop()
    if segments:
        # a page's file name, as a file's; a suffix of a source kind stays (ferry.html), a
        # server's script suffix (article.php, page.aspx) says nothing and goes
        page = Path(segments[-1])
        name = page.name if page.suffix.lower() in SUPPORTED else page.stem
    else:
        name = host.removeprefix("www.")
    if len(segments) > 1 and segments[-1] != segments[-2] and len(segments[-1]) < 4:
        name = f"{segments[-2]}-{name}"
    sid = slugify(name or "page")
    if parts.query:
        query = slugify(parts.query)
        sid = f"{sid}-{query}" if len(query) <= 40 and not query.startswith("source") else f"{sid}-{_short_hash(url)}"
    return _fit_id(sid)


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def _fit_id(source_id: str, limit: int = 160) -> str:
    """Shorten an over-long id, keeping it distinct with a hash of the whole."""
    if len(source_id) <= limit:
        return source_id
    return source_id[: limit - 9].rstrip("-._/") + "-" + _short_hash(source_id)


def validate_id(source_id: str) -> str:
    if not _ID_OK.match(source_id) or ".." in source_id:
        raise SourceError(
            f"invalid source id {source_id!r}: use lower-case letters, digits, '.', '_', '-' and '/' "
            "(at most 160 characters)"
        )
    return source_id


def discover(path: Path, skipped: list[tuple[Path, str]] | None = None) -> list[tuple[Path, str]]:
    """The supported files under ``path`` with the source id each gets.

    A symlink that resolves outside the directory is never read (``passwd.txt -> /etc/passwd``);
    such files are appended to ``skipped``, when given, with the id they would have had."""
    if not path.exists():
        raise SourceError(f"{path}: no such file or directory")
    if path.is_file():
        return [(path, slugify(path.stem))]
    found = []
    taken: set[str] = set()
    root = path.resolve()
    for file in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED):
        rel = file.relative_to(path).with_suffix("")
        sid = _fit_id("/".join(slugify(part) for part in rel.parts))
        if not file.resolve().is_relative_to(root):
            log.warning("skipping %s: a symlink to outside %s", file, path)
            if skipped is not None:
                skipped.append((file, sid))
            continue
        if sid in taken:  # A.txt and a.txt: the later name gets a hash of its own path
            sid = _fit_id(f"{sid[:150]}-{_short_hash(rel.as_posix())}")
        taken.add(sid)
        found.append((file, sid))
    if not found and not skipped:
        raise SourceError(f"{path}: no supported files ({', '.join(sorted(SUPPORTED))})")
    return found


def url_name(url: str) -> str:
    """The last path segment of a URL (or its host): what its source id and title start from."""
    parts = urlsplit(url)
    tail = [p for p in parts.path.split("/") if p]
    return tail[-1] if tail else (parts.hostname or "page")
