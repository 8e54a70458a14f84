"""The learned answer decision: the committed parameters load, score, and are what the
training script reproduces from the public question sets."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from citebot.decision import load_model
from citebot.evidence import FEATURES
from common.settings import PROJECT_ROOT


def test_committed_parameters_load_and_score():
    model = load_model()
    assert model.features == FEATURES
    assert 0.0 < model.threshold < 1.0 and 0.0 < model.relative <= 1.01
    assert np.all(model.scale > 0)
    rows = np.vstack([model.mean, model.mean + model.scale])
    probabilities = model.probabilities(rows)
    assert probabilities.shape == (2,) and np.all((probabilities > 0) & (probabilities < 1))
    # the validation figures are kept with the parameters they describe
    assert "validation" in model.info and "calibration (validation)" in model.info


def test_a_sentence_closer_in_meaning_and_words_is_more_likely_to_answer():
    model = load_model()
    evidence = ("s_cos", "cov_sent", "cov_ctx", "anc_sent", "cos_x_cov", "cos_x_anc")
    index = [model.features.index(name) for name in evidence]
    strong, weak = model.mean.copy(), model.mean.copy()
    strong[index] += model.scale[index]
    weak[index] -= model.scale[index]
    p_strong, p_weak = model.probabilities(np.vstack([strong, weak]))
    assert p_strong > p_weak


def test_retraining_from_the_script_reproduces_the_committed_parameters(tmp_path):
    """Asks every public question of real stores (the article, SQuAD's five articles), refits,
    rechooses the thresholds and compares with citebot/answer_model.json."""
    done = subprocess.run(
        [sys.executable, "-m", "evals.train", "--check", "--store", str(tmp_path / "stores")],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "retrained model matches" in done.stdout
