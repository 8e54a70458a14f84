"""``python -m evals [SET.jsonl ...]``: score the engine on question sets.

With no arguments it runs every public set of ``../shared/eval``: the article
sets, the casual set, the BBC set and SQuAD 2.0's public part.  Each set gets
the sources FORMAT.md names (``evals.sets``), ingested into a temporary store or
into ``--store DIR`` to reuse between runs.  It prints pass counts by kind,
every failing case with the answer given, the SQuAD figures, and a calibration
table (threshold vs precision vs coverage) for the extractive answerer.
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from common.logs import setup_logging
from common.settings import load
from evals.scoring import Verdict, score
from evals.sets import ARTICLE, BBC, all_sets, is_squad, kind_of, prepare_store, read_cases
from evals.uncertainty import describe_interval, squad_figures

CALIBRATION = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


@dataclass
class Outcome:
    case: dict[str, Any]
    answer: dict[str, Any]
    verdict: Verdict


def run_set(path: Path, store_dir: Path, bbc_root: Path, verbose: bool) -> tuple[int, int]:
    from citebot.engine import Engine

    cases = read_cases(path)
    kind = kind_of(path, cases, bbc_root)
    config = prepare_store(store_dir / kind.name, kind)
    engine = Engine(load(config))
    paragraphs = ARTICLE.read_text(encoding="utf-8").splitlines()
    extractive = engine.answerer is engine.extractive
    outcomes: list[Outcome] = []
    scored: list[tuple[dict[str, Any], Any, list[Any]]] = []  # for the calibration table
    for case in cases:
        history = [case["after"]] if case.get("after") else []
        if extractive:
            evidence = engine.evidence(case["q"], history)
            cands = engine.extractive.candidates(evidence)
            answer = engine.extractive.decide(evidence.question, cands).to_json()
            scored.append((case, evidence.question, cands))
        else:
            answer = engine.ask(case["q"], history).to_json()
        outcomes.append(Outcome(case, answer, score(case, answer, paragraphs, kind.sources_root)))
    engine.store.close()

    totals = Counter(o.case["kind"] for o in outcomes)
    passed = Counter(o.case["kind"] for o in outcomes if o.verdict.passed)
    rate = describe_interval([o.verdict.passed for o in outcomes])
    print(f"== {path.name}: {sum(passed.values())}/{len(outcomes)} passed {rate}")
    for k in sorted(totals):
        print(f"   {k}: {passed[k]}/{totals[k]}")
    if is_squad(kind):
        figures = squad_figures([(o.case["kind"], o.answer["answered"], o.verdict.passed) for o in outcomes])
        for name, value in figures.items():
            print(f"   {name} {value}")
    if extractive:
        print_calibration(engine, scored, paragraphs, kind.sources_root)
    for o in outcomes:
        if o.verdict.passed and not verbose:
            continue
        mark = "ok  " if o.verdict.passed else "FAIL"
        print(f"-- {mark} {o.case['id']} [{o.case['kind']}] {o.case['q']!r}: {o.verdict.reason}")
        print(f"   answer: {o.answer['answer'][:600]}")
        for c in o.answer["citations"]:
            print(f"   [{c['n']}] {c['source']} p{c['paragraph']} score={c['score']}")
    return sum(passed.values()), len(outcomes)


def print_calibration(
    engine: Any, scored: list[tuple[dict[str, Any], Any, list[Any]]], paragraphs: list[str], root: Path | None
) -> None:
    """Precision (share of the answers given that pass) and coverage (share of answerable
    questions answered correctly) at other thresholds, on the same candidates: the
    abstainer's threshold, or ``answer.min_score`` when that is configured."""
    answerer = engine.extractive
    configured = engine.settings.answer.min_score
    abstainer = answerer.abstainer
    in_use = abstainer.threshold if configured is None else configured
    answerable = sum(1 for case, _q, _c in scored if case["kind"] == "answer")
    print(f"   threshold ({'abstainer' if configured is None else 'answer.min_score'})  precision  coverage  passed")
    for threshold in sorted({*CALIBRATION, in_use}):
        if configured is None:
            answerer.abstainer = replace(abstainer, threshold=threshold)
        else:
            engine.settings.answer.min_score = threshold
        given = right = passed = 0
        for case, question, cands in scored:
            answer = answerer.decide(question, cands).to_json()
            ok = score(case, answer, paragraphs, root).passed
            passed += ok
            given += answer["answered"]
            right += ok and answer["answered"]
        mark = "  (in use)" if threshold == in_use else ""
        print(
            f"   {threshold:9.3f}  {right / max(1, given):9.1%}  {right / max(1, answerable):8.1%}"
            f"  {passed}/{len(scored)}{mark}"
        )
    engine.settings.answer.min_score = configured
    answerer.abstainer = abstainer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals", description=__doc__)
    parser.add_argument("sets", nargs="*", type=Path, help="question sets (default: every public set)")
    parser.add_argument("--store", type=Path, help="reuse this directory for the eval stores")
    parser.add_argument("--bbc", type=Path, default=BBC, help="the BBC corpus directory")
    parser.add_argument("-v", "--verbose", action="store_true", help="show passing cases too")
    args = parser.parse_args(argv)
    setup_logging(False)
    sets = args.sets or all_sets()
    with tempfile.TemporaryDirectory(prefix="citebot-eval-") as tmp:
        store_dir = args.store or Path(tmp)
        results = [run_set(s, store_dir.resolve(), args.bbc.resolve(), args.verbose) for s in sets]
    got = sum(p for p, _ in results)
    total = sum(t for _, t in results)
    print(f"== total: {got}/{total} passed")
    return 0
