"""Every ingest job on one store, by job: the front ends' one entry point.

- writing sources, the one pending -> ready protocol: ``ingest/writer.py``
- recover, reindex, verify and repair: ``ingest/maintenance.py``
- export and import of backups: ``ingest/backup.py``
- every kind of source (file, upload, URL, pasted text) and refresh: ``ingest/sources.py``
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ingest import backup, maintenance
from ingest.writer import Outcome, Progress, Writer

__all__ = ["Ingestor", "Outcome"]


class Ingestor(Writer):
    """Writes sources into one Store with one Embedder, and keeps the store in step."""

    def recover(self) -> list[Outcome]:
        return maintenance.recover(self)

    def reindex(self, progress: Progress | None = None) -> list[Outcome]:
        return maintenance.reindex(self, progress)

    def prepare_space(self, default_sources: Sequence[Path]) -> list[Outcome]:
        return maintenance.prepare_space(self, default_sources)

    def verify(self, repair: bool = True) -> dict[str, object]:
        return maintenance.verify(self, repair)

    def export(self, path: Path) -> int:
        return backup.export(self, path)

    def import_backup(self, path: Path, progress: Progress | None = None) -> list[Outcome]:
        return backup.import_backup(self, path, progress)
