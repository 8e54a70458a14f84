"""Whether to answer at all: a question-level model over the ranked candidates.

The decision model (``citebot/decision.py``) ranks sentences; this one looks at the
question as a whole (the best and second-best probabilities, the best sentence's
features, how the question reads) and estimates how likely quoting the best
sentence is to answer it correctly.  Below ``threshold`` the engine abstains.
Keeping ranking and abstention apart lets each learn what it is good at: the
ranker which sentence, the abstainer when even the best one is not an answer.

The model is a small gradient-boosted tree ensemble trained by
``python -m evals.train`` (scikit-learn's ``HistGradientBoostingClassifier``),
stored as plain numbers in ``abstain_model.json`` and evaluated here with numpy:
no scikit-learn and no pickle at run time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from citebot.evidence import Candidate
    from citebot.question import Question

ABSTAIN_FILE = Path(__file__).with_name("abstain_model.json")

# From the best sentence: its features (``citebot.evidence.FEATURES``) are appended after these.
QUESTION_FEATURES = (
    "p_best",  # the ranker's probability for the best sentence
    "p_second",  # ... for the runner-up
    "p_margin",  # their difference
    "cos_max",  # the closest sentence's similarity to the question
    "cos_mean",  # the candidates' mean similarity
    "n_cands",  # how many candidate sentences were read
    "n_terms",  # content terms in the question
    "n_anchors",  # names, numbers, quotes in the question
    "n_words_raw",  # words as typed
    "n_words",  # words once filler and mentions are dropped
    "kept_share",  # n_words / n_words_raw
)


def question_row(question: Question, scored: Sequence[Candidate], features: Sequence[str]) -> list[float]:
    """The abstainer's inputs for one question (``QUESTION_FEATURES`` then the best sentence's)."""
    ranked = sorted(scored, key=lambda c: c.score, reverse=True)
    raw_words = len(question.raw.split())
    words = len(question.text.split())
    tail = [float(words), float(words) / max(1, raw_words)]
    shape = [float(len(question.terms)), float(len(question.anchors)), float(raw_words)]
    if not ranked:
        return [0.0] * 6 + shape + tail + [0.0] * len(features)
    best = ranked[0]
    second = ranked[1].score if len(ranked) > 1 else 0.0
    cos = np.array([c.features["s_cos"] for c in ranked])
    head = [best.score, second, best.score - second, float(cos.max()), float(cos.mean()), float(len(ranked))]
    return head + shape + tail + [best.features[f] for f in features]


@dataclass(frozen=True)
class Abstainer:
    """A boosted tree ensemble: P(quoting the best sentence answers) = sigmoid(baseline + leaves)."""

    features: tuple[str, ...]  # column names: QUESTION_FEATURES + the ranker's features
    baseline: float
    trees: tuple[dict[str, list[Any]], ...]  # per tree: feature, threshold, left, right, value, leaf
    threshold: float
    info: dict[str, Any] = field(default_factory=dict)

    def probability(self, row: Sequence[float]) -> float:
        x = np.asarray(row, dtype=np.float64)
        raw = self.baseline
        for tree in self.trees:
            node = 0
            while not tree["leaf"][node]:
                go_left = x[tree["feature"][node]] <= tree["threshold"][node]
                node = tree["left"][node] if go_left else tree["right"][node]
            raw += tree["value"][node]
        return float(1.0 / (1.0 + np.exp(-raw)))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Abstainer:
        return cls(
            features=tuple(data["features"]),
            baseline=float(data["baseline"]),
            trees=tuple(data["trees"]),
            threshold=float(data["threshold"]),
            info=dict(data.get("info", {})),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "baseline": round(self.baseline, 8),
            "threshold": self.threshold,
            "trees": list(self.trees),
            "info": self.info,
        }


@lru_cache(maxsize=4)
def load_abstainer(path: Path = ABSTAIN_FILE) -> Abstainer:
    return Abstainer.from_json(json.loads(path.read_text(encoding="utf-8")))
