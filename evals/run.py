"""``python -m evals SET.jsonl ...``: score the engine on question sets.

Each set gets the sources it needs (FORMAT.md): the article alone for
``dev_article``-style sets, the article plus the BBC corpus for sets whose
cases name BBC sources.  They are ingested into a temporary store, or into
``--store DIR`` to reuse it between runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from common.logs import setup_logging
from common.settings import PROJECT_ROOT, load
from evals.scoring import Verdict, score

SHARED = PROJECT_ROOT.parent / "shared"
ARTICLE = PROJECT_ROOT / "sources" / "ken-loach-expelled.txt"
BBC = SHARED / "corpora" / "bbc-news" / "news"


def read_cases(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def needs_bbc(cases: list[dict[str, Any]]) -> bool:
    """Cases that name a source (FORMAT.md: the BBC set) run with the BBC corpus ingested."""
    return any("source" in c for c in cases)


def prepare_store(store_dir: Path, with_bbc: bool, bbc_root: Path) -> Path:
    from ingest.pipeline import Ingestor

    config = store_dir / "config.toml"
    if not config.exists():
        store_dir.mkdir(parents=True, exist_ok=True)
        config.write_text('[store]\npath = "store"\n', encoding="utf-8")
    settings = load(config)
    ingestor = Ingestor(settings)
    ingestor.add_path(ARTICLE)
    if with_bbc:
        print(f"ingesting {bbc_root} (once per store) ...", file=sys.stderr)
        ingestor.add_path(bbc_root, id_prefix="bbc/")
    ingestor.store.close()
    return config


def run_set(path: Path, store_dir: Path, bbc_root: Path, verbose: bool) -> tuple[int, int]:
    from citebot.engine import Engine

    cases = read_cases(path)
    with_bbc = needs_bbc(cases)
    config = prepare_store(store_dir / ("article+bbc" if with_bbc else "article"), with_bbc, bbc_root)
    engine = Engine(load(config))
    paragraphs = ARTICLE.read_text(encoding="utf-8").splitlines()
    totals: Counter[str] = Counter()
    passed: Counter[str] = Counter()
    failures: list[tuple[dict[str, Any], dict[str, Any], Verdict]] = []
    for case in cases:
        conversation = engine.conversation()
        if case.get("after"):
            conversation.ask(case["after"])
        answer = conversation.ask(case["q"]).to_json()
        verdict = score(case, answer, paragraphs, bbc_root)
        totals[case["kind"]] += 1
        passed[case["kind"]] += verdict.passed
        if not verdict.passed or verbose:
            failures.append((case, answer, verdict))
    print(f"== {path.name}: {sum(passed.values())}/{sum(totals.values())} passed")
    for kind in sorted(totals):
        print(f"   {kind}: {passed[kind]}/{totals[kind]}")
    for case, answer, verdict in failures:
        mark = "ok  " if verdict.passed else "FAIL"
        print(f"-- {mark} {case['id']} [{case['kind']}] {case['q']!r}: {verdict.reason}")
        print(f"   answer: {answer['answer'][:600]}")
        for c in answer["citations"]:
            print(f"   [{c['n']}] {c['source']} p{c['paragraph']} score={c['score']}")
    return sum(passed.values()), sum(totals.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals", description=__doc__)
    parser.add_argument("sets", nargs="*", type=Path, help="question sets (default: every *.jsonl in ../shared/eval)")
    parser.add_argument("--store", type=Path, help="reuse this directory for the eval stores")
    parser.add_argument("--bbc", type=Path, default=BBC, help="the BBC corpus directory")
    parser.add_argument("-v", "--verbose", action="store_true", help="show passing cases too")
    args = parser.parse_args(argv)
    setup_logging(False)
    sets = args.sets or sorted((SHARED / "eval").glob("*.jsonl"))
    with tempfile.TemporaryDirectory(prefix="citebot-eval-") as tmp:
        store_dir = args.store or Path(tmp)
        results = [run_set(s, store_dir, args.bbc.resolve(), args.verbose) for s in sets]
    got = sum(p for p, _ in results)
    total = sum(t for _, t in results)
    print(f"== total: {got}/{total} passed")
    return 0
