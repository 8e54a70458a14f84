"""Source ids: how a file, a URL or a title becomes one, and which ids are valid."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from common.errors import SourceError
from ingest.loaders import SUPPORTED

_ID_OK = re.compile(r"^[a-z0-9][a-z0-9._/-]{0,159}$")


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-.")
    return slug or "source"


def validate_id(source_id: str) -> str:
    if not _ID_OK.match(source_id) or ".." in source_id:
        raise SourceError(
            f"invalid source id {source_id!r}: use lower-case letters, digits, '.', '_', '-' and '/' "
            "(at most 160 characters)"
        )
    return source_id


def discover(path: Path) -> list[tuple[Path, str]]:
    """The supported files under ``path`` with the source id each gets."""
    if not path.exists():
        raise SourceError(f"{path}: no such file or directory")
    if path.is_file():
        return [(path, slugify(path.stem))]
    found = []
    for file in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED):
        rel = file.relative_to(path).with_suffix("")
        found.append((file, "/".join(slugify(part) for part in rel.parts)))
    if not found:
        raise SourceError(f"{path}: no supported files ({', '.join(sorted(SUPPORTED))})")
    return found


def url_name(url: str) -> str:
    """The last path segment of a URL (or its host): what its source id and title start from."""
    parts = urlsplit(url)
    tail = [p for p in parts.path.split("/") if p]
    return tail[-1] if tail else (parts.hostname or "page")
