"""The paper's observables on hand-computed policies."""

import numpy as np
import pytest

from srlm_core.model.sharpening import observables as obs

# Three prompts: confident, split at exactly one half, near-uniform.
PROBS = np.array([[0.8, 0.1, 0.1],
                  [0.5, 0.3, 0.2],
                  [0.4, 0.35, 0.25]])
BASE = np.array([0, 0, 1])  # pi_0's modes; the third prompt's mode has moved


def test_kappa_is_the_mean_inverse_top_probability():
    assert obs.kappa(PROBS) == pytest.approx((1 / 0.8 + 1 / 0.5 + 1 / 0.4) / 3)
    assert obs.kappa(PROBS, weights=np.array([1, 0, 0])) == pytest.approx(1.25)


def test_kappa_is_one_for_any_deterministic_policy():
    assert obs.kappa(np.eye(3)[[2, 0, 1]]) == 1.0


def test_failure_events_count_one_half_as_failure():
    assert obs.failure_own(PROBS) == pytest.approx(2 / 3)  # 0.5 and 0.4 are <= 1/2
    # pi(base mode) = 0.8, 0.5, 0.35: the last two fail
    assert obs.failure_base(PROBS, BASE) == pytest.approx(2 / 3)
    assert obs.failure_base(PROBS, np.array([0, 1, 1])) == pytest.approx(1.0 - 1 / 3)
    assert obs.mode_switches(PROBS, BASE) == pytest.approx(1 / 3)


def test_the_two_events_differ_on_a_confidently_wrong_policy():
    wrong = np.array([[0.05, 0.95, 0.0]])
    assert obs.failure_own(wrong) == 0.0
    assert obs.failure_base(wrong, np.array([0])) == 1.0


def test_constants_of_definition_5_2():
    assert obs.min_confidence(PROBS) == pytest.approx(0.4)
    assert obs.log_margin(PROBS) == pytest.approx(np.log([8.0, 5 / 3, 0.4 / 0.35]))
    assert obs.margin(PROBS) == pytest.approx(np.log(0.4 / 0.35))
    assert obs.margin(np.array([[0.5, 0.5, 0.0]])) == 0.0


def test_summary_is_plain_floats():
    row = obs.summary(PROBS, BASE)
    assert set(row) == {"kappa", "failure_own", "failure_base", "mode_switches", "c", "gamma"}
    assert all(type(v) is float for v in row.values())
