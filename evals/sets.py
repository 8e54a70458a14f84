"""The question sets of ``../shared/eval`` and the sources each one runs with (FORMAT.md).

* ``dev_article*.jsonl``: the bundled Loach article alone;
* ``dev_bbc.jsonl`` (cases name BBC files): the article plus all 2,095 BBC articles;
* ``squad2/*.jsonl``: exactly the five files of ``squad2/sources/``.

Stores are built once per kind of set under a directory of the caller's
(``--store DIR`` to reuse them between runs).
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.settings import PROJECT_ROOT, load

SHARED = PROJECT_ROOT.parent / "shared"
EVAL = SHARED / "eval"
ARTICLE = PROJECT_ROOT / "sources" / "ken-loach-expelled.txt"
BBC = SHARED / "corpora" / "bbc-news" / "news"
SQUAD = EVAL / "squad2"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SetKind:
    name: str  # the store's directory name
    sources_root: Path | None  # what a case's ``source`` is relative to


def read_cases(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def all_sets() -> list[Path]:
    return sorted(EVAL.glob("*.jsonl")) + sorted(EVAL.glob("*/*.jsonl"))


def kind_of(path: Path, cases: list[dict[str, Any]], bbc_root: Path = BBC) -> SetKind:
    if path.resolve().parent.name == "squad2":
        return SetKind("squad2", (path.resolve().parent / "sources").resolve())
    if any(c.get("source") not in (None, "LOACH") for c in cases):
        return SetKind("article+bbc", bbc_root.resolve())
    return SetKind("article", None)


def is_squad(kind: SetKind) -> bool:
    return kind.name == "squad2"


def prepare_store(store_dir: Path, kind: SetKind) -> Path:
    """Ingest what ``kind`` needs into ``store_dir`` (unchanged sources are skipped); return its config."""
    from ingest.pipeline import Ingestor

    config = store_dir / "config.toml"
    if not config.exists():
        store_dir.mkdir(parents=True, exist_ok=True)
        config.write_text('[store]\npath = "store"\n', encoding="utf-8")
    ingestor = Ingestor(load(config))
    try:
        if kind.name == "squad2":
            assert kind.sources_root is not None
            ingestor.add_path(kind.sources_root)
        else:
            ingestor.add_path(ARTICLE)
            if kind.name == "article+bbc":
                assert kind.sources_root is not None
                print(f"ingesting {kind.sources_root} (once per store) ...", file=sys.stderr)
                ingestor.add_path(kind.sources_root, id_prefix="bbc/")
    finally:
        ingestor.store.close()
    return config


def squad_articles(cases: list[dict[str, Any]]) -> list[str]:
    """The article of each SQuAD case: answerable cases name it; the file keeps each article's
    questions together, so an unanswerable case belongs to the article of the case before it."""
    out: list[str] = []
    current = ""
    for case in cases:
        current = case.get("source") or current
        out.append(current)
    if out and not out[0]:
        first = next((a for a in out if a), "")
        out = [a or first for a in out]
    return out
