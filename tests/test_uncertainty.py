"""Bootstrap intervals of pass rates: what a figure measured on a few questions is worth."""

from __future__ import annotations

import pytest

from evals.uncertainty import describe_difference, describe_rate, interval, paired_difference


def test_a_rate_all_pass_or_all_fail_has_no_spread():
    assert interval([True] * 10) == (1.0, 1.0, 1.0)
    assert interval([False] * 10) == (0.0, 0.0, 0.0)
    assert interval([]) == (0.0, 0.0, 0.0)


def test_the_interval_holds_the_rate_and_narrows_with_more_questions():
    few = [True, False] * 12  # 12/24
    many = [True, False] * 120  # 120/240
    rate, low, high = interval(few)
    assert rate == 0.5 and low < 0.5 < high
    # one question of 24 is over four points: the interval spans many of them
    assert high - low > 0.3
    _, low_many, high_many = interval(many)
    assert low < low_many < 0.5 < high_many < high
    assert interval(few) == interval(few)  # a fixed seed: the same passes, the same interval


def test_a_paired_difference_ignores_questions_both_runs_agree_on():
    before = [True] * 150 + [False] * 50
    after = list(before)
    assert paired_difference(before, after) == (0.0, 0.0, 0.0)
    # 20 more questions passed, none lost: a gain beyond noise
    gained = [True] * 170 + [False] * 30
    diff, low, high = paired_difference(before, gained)
    assert diff == pytest.approx(0.1) and 0.0 < low < diff < high
    assert describe_difference(before, gained).endswith("beyond noise")
    # one question of 24 turned around: within noise
    small_before = [True] * 16 + [False] * 8
    small_after = [True] * 17 + [False] * 7
    diff, low, high = paired_difference(small_before, small_after)
    assert diff == pytest.approx(1 / 24) and low <= 0.0 < high
    assert describe_difference(small_before, small_after).endswith("within noise")


def test_a_loss_beyond_noise_is_called_so():
    before = [True] * 170 + [False] * 30
    after = [False] * 20 + [True] * 150 + [False] * 30
    diff, _low, high = paired_difference(before, after)
    assert diff == pytest.approx(-0.1) and high < 0.0
    assert describe_difference(before, after).startswith("-10.0 points")
    assert describe_difference(before, after).endswith("beyond noise")


def test_paired_runs_must_score_the_same_questions():
    with pytest.raises(ValueError, match="same questions"):
        paired_difference([True, False], [True])


def test_a_rate_is_described_with_its_count_and_interval():
    text = describe_rate([True] * 16 + [False] * 8)
    assert text.startswith("16/24 (66.7%, 95% interval ")
    low, high = text.split("interval ")[1].rstrip("%)").split("%-")
    assert 40.0 < float(low) < 66.7 < float(high) < 90.0


def test_squad_figures_count_answerable_unanswerable_overall_and_precision():
    from evals.uncertainty import squad_figures

    cases = [
        ("answer", True, True),  # answered and cited
        ("answer", True, False),  # answered wrongly
        ("answer", False, False),  # abstained on an answerable question
        ("abstain", False, True),  # abstained rightly
        ("abstain", True, False),  # answered an unanswerable one
    ]
    figures = squad_figures(cases)
    assert figures["answerable answered and cited"].startswith("1/3 ")
    assert figures["unanswerable abstained"].startswith("1/2 ")
    assert figures["overall"].startswith("2/5 ")
    assert figures["precision of the answers given"].startswith("1/3 ")
