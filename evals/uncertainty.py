"""How far a pass rate measured on a few questions can be trusted: bootstrap intervals.

One question of a 24-question split is four points of its pass rate, and a refit that
changes nothing of substance moves SQuAD's validation figure by a point or two (a
threshold lands on the other side of a flat stretch).  A difference is a result only
when it is larger than that, so the reports say how large "that" is:

* ``interval``: a percentile bootstrap interval of one pass rate (the questions resampled);
* ``paired_difference``: the difference between two runs on the same questions, resampled
  together, so that the questions both pass or both fail do not widen it.

Deterministic (a fixed seed): the same passes give the same interval.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DRAWS = 2000
LEVEL = 0.95


def _mean_and_bounds(values: np.ndarray, level: float, draws: int, seed: int) -> tuple[float, float, float]:
    if len(values) == 0:
        return 0.0, 0.0, 0.0
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(draws, len(values)))].mean(axis=1)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(values.mean()), float(low), float(high)


def interval(
    passed: Sequence[bool], level: float = LEVEL, draws: int = DRAWS, seed: int = 0
) -> tuple[float, float, float]:
    """The pass rate of ``passed`` and its bootstrap interval: (rate, low, high)."""
    return _mean_and_bounds(np.asarray(passed, dtype=np.float64), level, draws, seed)


def paired_difference(
    before: Sequence[bool], after: Sequence[bool], level: float = LEVEL, draws: int = DRAWS, seed: int = 0
) -> tuple[float, float, float]:
    """``after``'s pass rate minus ``before``'s on the same questions (in the same order), and
    the bootstrap interval of that difference: (difference, low, high).  It is the interval of
    the per-question change, so questions both runs agree on add nothing to its width."""
    if len(before) != len(after):
        raise ValueError(f"paired runs must score the same questions ({len(before)} != {len(after)})")
    change = np.asarray(after, dtype=np.float64) - np.asarray(before, dtype=np.float64)
    return _mean_and_bounds(change, level, draws, seed)


def describe_interval(passed: Sequence[bool]) -> str:
    """The rate and its interval, as in ``(66.7%, 95% interval 45.8%-83.3%)``."""
    rate, low, high = interval(passed)
    return f"({rate:.1%}, 95% interval {low:.1%}-{high:.1%})"


def describe_rate(passed: Sequence[bool]) -> str:
    """The count, rate and interval, as in ``16/24 (66.7%, 95% interval 45.8%-83.3%)``."""
    return f"{sum(bool(p) for p in passed)}/{len(passed)} {describe_interval(passed)}"


def describe_difference(before: Sequence[bool], after: Sequence[bool]) -> str:
    """The difference and its verdict, as in ``+1.2 points (95% interval -0.4 to +2.9): within
    noise`` (or ``beyond noise`` when the interval leaves out zero)."""
    diff, low, high = paired_difference(before, after)
    verdict = "beyond noise" if low > 0 or high < 0 else "within noise"
    return f"{diff * 100:+.1f} points (95% interval {low * 100:+.1f} to {high * 100:+.1f}): {verdict}"


def squad_figures(cases: Sequence[tuple[str, bool, bool]]) -> dict[str, str]:
    """SQuAD's four figures, each with its interval, from ``(kind, answered, passed)`` per case."""
    answerable = [ok for kind, _given, ok in cases if kind == "answer"]
    unanswerable = [ok for kind, _given, ok in cases if kind == "abstain"]
    return {
        "answerable answered and cited": describe_rate(answerable),
        "unanswerable abstained": describe_rate(unanswerable),
        "overall": describe_rate([ok for *_, ok in cases]),
        "precision of the answers given": describe_rate([ok for _kind, given, ok in cases if given]),
    }
