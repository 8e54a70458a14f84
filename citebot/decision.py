"""The learned decision: how likely a candidate sentence is to answer the question.

A logistic regression over the features of ``citebot.evidence`` (standardised),
trained by ``python -m evals.train`` on the public question sets with a
validation split it never trains on.  The file ``answer_model.json`` beside
this module holds everything needed to score (feature names, means, scales,
weights) and the thresholds chosen on the validation split:

* ``threshold``: answer only when the best sentence's probability reaches it;
* ``relative``: a further sentence is quoted when it reaches this share of the
  best one's probability (and the threshold itself).

Scoring is a dot product: no scikit-learn at run time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

MODEL_FILE = Path(__file__).with_name("answer_model.json")


@dataclass(frozen=True)
class DecisionModel:
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float
    relative: float
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DecisionModel:
        return cls(
            features=tuple(data["features"]),
            mean=np.asarray(data["mean"], dtype=np.float64),
            scale=np.asarray(data["scale"], dtype=np.float64),
            coef=np.asarray(data["coef"], dtype=np.float64),
            intercept=float(data["intercept"]),
            threshold=float(data["threshold"]),
            relative=float(data["relative"]),
            info=dict(data.get("info", {})),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "mean": [round(float(v), 6) for v in self.mean],
            "scale": [round(float(v), 6) for v in self.scale],
            "coef": [round(float(v), 6) for v in self.coef],
            "intercept": round(self.intercept, 6),
            "threshold": round(self.threshold, 4),
            "relative": round(self.relative, 4),
            "info": self.info,
        }

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        """P(answers) for each row of features (columns in ``self.features`` order)."""
        if len(rows) == 0:
            return np.zeros(0)
        z = ((np.asarray(rows, dtype=np.float64) - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))


@lru_cache(maxsize=4)
def load_model(path: Path = MODEL_FILE) -> DecisionModel:
    return DecisionModel.from_json(json.loads(path.read_text(encoding="utf-8")))
