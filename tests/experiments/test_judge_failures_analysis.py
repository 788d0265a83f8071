"""The judge-failures numbers (:mod:`srlm_core.experiments.judge_failures_analysis`) on
hand-made values."""

import pytest

from srlm_core.experiments.judge_failures_analysis import vanishing_numbers
from tests.experiments.test_judge_failures import hand_made


def test_vanishing_numbers_against_the_floor_ratio():
    fading = vanishing_numbers(hand_made(0.5, 0.5)["vanishing"])
    assert fading[0.1]["ratio_pred"] == pytest.approx(0.75 / (0.1 * 1.9))
    assert fading[0.1]["rate"] == pytest.approx(0.9) and fading[0.1]["rate_pred"] == 0.9
    assert fading[0.5]["ratio"] == pytest.approx(1.0)
