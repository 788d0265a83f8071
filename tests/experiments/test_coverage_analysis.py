"""The coverage sweep's statistics (:mod:`srlm_core.experiments.coverage_analysis`) on
hand-made values: crossings, intervals over featured instances and the iterating rows."""

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from srlm_core.experiments import coverage as cv
from srlm_core.experiments.coverage_analysis import (
    crossing,
    featured_low_coverage,
    iterative_table,
)
from tests.experiments.test_coverage import floor_rule, hand_made


def test_crossing_interpolates_in_log_x():
    assert crossing([1, 4], [0.0, 1.0]) == pytest.approx(2.0)
    assert crossing([1, 2], [0.6, 0.9]) == 1.0
    assert math.isnan(crossing([1, 2], [0.1, 0.2]))


def test_featured_intervals_are_over_instances():
    """Two problem instances with identical seeds, one always succeeding at low coverage and
    one never: a bootstrap over seeds would collapse to 1/2, the one over instances does not."""
    made = hand_made(lambda b: b, lambda x0, xphi: xphi >= 0.25, floor_rule)
    start = made["featured"]["starts"][0]
    always = {**start, "success": [" ".join(["111"] * 32)] * len(start["success"])}
    never = {**start, "instance": 1,
             "success": [" ".join(["000"] * 32)] * len(start["success"])}
    made["featured"]["starts"] = [always, never]
    low = featured_low_coverage(made)
    assert low["value"] == pytest.approx(0.5)
    assert low["lo"] == 0.0 and low["hi"] == 1.0
    assert cv.summarise(made)["cov_feat_instances"] == 2


def test_iterating_rows_carry_the_minimum_detectable_difference():
    made = hand_made(lambda b: b, lambda x0, xphi: xphi >= 0.25, floor_rule)
    cell = next(c for c in made["iterative"]["cells"] if c["rounds"] == 4)
    one = next(c for c in made["iterative"]["cells"] if c["rounds"] == 1
               and (c["alpha"], c["kappa"], c["budget"]) == (cell["alpha"], cell["kappa"],
                                                             cell["budget"]))
    base = int(one["successes"].split()[0])
    cell["successes"] = " ".join(str(base + k) for k in (0, 2, 4, 6, 0, 2, 4, 6))
    row = next(r for r in iterative_table(made) if r["rounds"] == 4
               and (r["alpha"], r["kappa"], r["budget"]) == (cell["alpha"], cell["kappa"],
                                                             cell["budget"]))
    diff = np.array([0, 2, 4, 6, 0, 2, 4, 6]) / 100
    expected = (scipy_stats.t.ppf(0.975, 7) + scipy_stats.t.ppf(0.8, 7)) * diff.std(ddof=1) \
        / math.sqrt(8)
    assert row["diff"] == pytest.approx(diff.mean())
    assert row["diff_mdd"] == pytest.approx(expected)
