"""Whether to answer at all: a question-level model over the ranked candidates.

The decision model (``citebot/decision.py``) ranks sentences; this one looks at the
question as a whole (the best and second-best probabilities, the best sentence's
features, how the question reads) and estimates how likely quoting the best
sentence is to answer it correctly.  Below ``threshold`` the engine abstains, unless
the ranker itself holds the best sentence more likely than not to answer
(``citebot.extractive.RANKER_SURE``).
Keeping ranking and abstention apart lets each learn what it is good at: the
ranker which sentence, the abstainer when even the best one is not an answer.

The model is the average of a few small gradient-boosted tree ensembles, each fitted
on a bootstrap sample of the training questions by ``python -m evals.train``
(scikit-learn's ``HistGradientBoostingClassifier``; averaging steadies what one
ensemble learns from near-ties), stored as plain numbers in ``abstain_model.json``
and evaluated here with numpy: no scikit-learn and no pickle at run time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from citebot.evidence import Candidate
    from citebot.question import Question

ABSTAIN_FILE = Path(__file__).with_name("abstain_model.json")

# From the best sentence: its features (``citebot.evidence.FEATURES``) are appended after these.
# Nothing here depends on how big the store is (how many sentences were read, their mean
# similarity): the model is trained on one-article stores and must hold in a store of thousands.
QUESTION_FEATURES = (
    "p_best",  # the ranker's probability for the best sentence
    "p_second",  # ... for the runner-up from the same source (how it stands in its own page)
    "p_margin",  # their difference
    "cos_max",  # the closest sentence's similarity to the question
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
    anchors = len(question.anchors) + bool(question.alternatives)  # the alternatives offered count once
    shape = [float(len(question.terms)), float(anchors), float(raw_words)]
    if not ranked:
        return [0.0] * 4 + shape + tail + [0.0] * len(features)
    best = ranked[0]
    # the runner-up from the same source: other pages' sentences compete more the bigger the
    # store, and the model learns from one-article stores but must hold in a store of thousands
    second = next((c.score for c in ranked[1:] if c.source_id == best.source_id), 0.0)
    head = [best.score, second, best.score - second, max(c.features["s_cos"] for c in ranked)]
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
        feature, threshold, left, right, value, leaf = self._arrays
        trees = np.arange(len(feature))
        node = np.zeros(len(feature), dtype=np.int64)
        while True:  # every tree one level down at a time, until each sits on a leaf
            at_leaf = leaf[trees, node]
            if at_leaf.all():
                break
            go_left = x[feature[trees, node]] <= threshold[trees, node]
            step = np.where(go_left, left[trees, node], right[trees, node])
            node = np.where(at_leaf, node, step)
        raw = self.baseline + float(value[trees, node].sum())
        return float(1.0 / (1.0 + np.exp(-raw)))

    @cached_property
    def _arrays(self) -> tuple[np.ndarray, ...]:
        """The trees as padded (tree, node) arrays, so all of them are walked at once."""
        width = max(len(t["leaf"]) for t in self.trees) if self.trees else 1
        out = []
        for key, dtype in (("feature", np.int64), ("threshold", np.float64), ("left", np.int64),
                           ("right", np.int64), ("value", np.float64), ("leaf", bool)):  # fmt: skip
            table = np.zeros((len(self.trees), width), dtype=dtype)
            for i, tree in enumerate(self.trees):
                table[i, : len(tree[key])] = tree[key]
            out.append(table)
        return tuple(out)

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
