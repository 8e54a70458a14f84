"""Backups: every source with its provenance as JSON lines, and adding them back.

A curated set survives a rebuild, a model change or a move to server mode:
``python -m ingest export FILE`` / ``python -m ingest import FILE``.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from common.errors import SourceError
from common.text import normalize_source_text
from index_store.registry import READY
from ingest.chunking import content_hash
from ingest.ids import validate_id
from ingest.loaders import LoadedSource
from ingest.writer import Outcome, Pending, Progress, Writer

EXPORT_VERSION = 1
_JSON_LINE_BREAKS = {0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def export(writer: Writer, path: Path) -> int:
    """Write every source (metadata and text) to a JSON-lines backup; returns the count."""
    records = writer.store.registry.all(status=READY)
    tmp = path.with_name(path.name + ".part")
    with tmp.open("w", encoding="utf-8") as out:
        out.write(json.dumps({"citebot_export": EXPORT_VERSION, "sources": len(records)}) + "\n")
        for r in records:
            row = r.to_json() | {"text": writer.store.registry.text(r.id) or ""}
            for key in ("status", "chunk_count"):
                row.pop(key)
            # json.dumps leaves U+0085, U+2028 and U+2029 raw, and str.splitlines() breaks on them:
            # escape them so a backup is one source a line for any reader.
            line = json.dumps(row, ensure_ascii=False)
            out.write(line.translate(_JSON_LINE_BREAKS) + "\n")
    tmp.replace(path)
    return len(records)


def import_backup(writer: Writer, path: Path, progress: Progress | None = None) -> list[Outcome]:
    """Add every source of a backup made by ``export``, keeping ids and provenance.

    Every row is checked (types, id, time stamp, text and its hash) before anything is
    written; blank lines are skipped."""
    pending = []
    try:
        # split on "\n" only: JSON escapes it inside strings, but not every Unicode line break
        lines = path.read_text(encoding="utf-8").split("\n")
        head = json.loads(lines[0]) if lines[0].strip() else {}
        if not isinstance(head, dict) or head.get("citebot_export") != EXPORT_VERSION:
            raise SourceError(f"{path}: not a citebot export (version {EXPORT_VERSION})")
        for number, line in enumerate(lines[1:], start=2):
            if not line.strip():
                continue
            try:
                pending.append(_backup_row(json.loads(line)))
            except (SourceError, ValueError) as exc:
                raise SourceError(f"{path}:{number}: {exc}") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, SourceError):
            raise
        raise SourceError(f"{path}: cannot read backup ({exc.__class__.__name__}: {exc})") from None
    return writer.write(pending, progress=progress)


_BACKUP_FIELDS = ("id", "title", "origin", "content_hash", "added_by", "added_at", "text")


def _backup_row(row: object) -> Pending:
    """One source of a backup, checked as strictly as a source added any other way."""
    if not isinstance(row, dict):
        raise SourceError("not a JSON object")
    for key in _BACKUP_FIELDS:
        if key not in row:
            raise SourceError(f"the field {key!r} is missing")
        if not isinstance(row[key], str):
            raise SourceError(f"the field {key!r} must be a string, not {type(row[key]).__name__}")
    text = row["text"]
    if not text.strip():
        raise SourceError("the text is empty")
    if normalize_source_text(text) != text:
        raise SourceError("the text is not normalised (as ingest stores it); was the file edited?")
    if content_hash(text) != row["content_hash"]:
        raise SourceError("text does not match its content hash")
    try:
        stamp = datetime.fromisoformat(row["added_at"])
    except ValueError:
        stamp = None
    if stamp is None or stamp.tzinfo is None:
        raise SourceError(f"added_at {row['added_at'][:40]!r} is not an ISO 8601 time with a time zone")
    loaded = LoadedSource(title=row["title"], text=text, kind="text")
    return Pending(validate_id(row["id"]), loaded, row["origin"], row["added_by"], added_at=row["added_at"])
