"""The paper's loop in the population: zero loss sharpens by 1 + 1/beta, T rounds raise pi_0
to (1 + 1/beta)^T, and the closed form equals the iterated update."""

import numpy as np
import pytest
import sympy as sp
from scipy.special import softmax

from srlm_core.model.sharpening import tabular
from srlm_core.theory.sharpening import population_sharpening as ps


def test_zero_loss_multiplies_the_log_ratio_by_one_plus_one_over_beta():
    solution, claimed = ps.zero_loss_log_ratio()
    assert sp.simplify(solution - claimed) == 0


def test_exponent_solves_the_recursion_and_the_matched_beta_inverts_it():
    s = ps.exponent()
    assert sp.simplify(s - (1 + 1 / ps.beta) ** ps.T) == 0
    assert sp.simplify(s.subs(ps.T, ps.T + 1) - (1 + 1 / ps.beta) * s) == 0
    matched = ps.matched_beta()
    assert sp.simplify(1 + 1 / matched - s) == 0
    assert matched.subs({ps.beta: 1, ps.T: 5}) == sp.Rational(1, 31)


def test_confidence_excess_and_its_doubly_exponential_bound():
    excess = ps.confidence_excess(K=4)
    assert sp.simplify(excess.bound - excess.exact - excess.slack) == 0
    # every slack term is exp(-s g)(1 - exp(-s h)) with h >= 0: non-negative
    at = {ps.s_T: 3, ps.g: sp.Rational(1, 5), excess.gaps[0]: 0, excess.gaps[1]: 2}
    assert float(excess.slack.subs(at)) >= 0
    assert float(excess.exact.subs(at)) <= float(excess.bound.subs(at))


def test_the_closed_form_equals_the_iterated_population_update():
    """Iterating the exact minimiser with every pair of responses observed (the population
    step) T times equals pi_0^{s_T} normalised, with s_T from SymPy, to 1e-10."""
    rng = np.random.default_rng(3)
    probs = softmax(0.7 * rng.standard_normal((6, 5)), axis=-1)
    beta, rounds = 0.8, 4
    every_pair = np.array([[(y, yp) for y in range(5) for yp in range(5) if y < yp]] * 6)
    policy = probs
    for _ in range(rounds):
        policy = tabular.update(policy, every_pair, beta)
    s = float(ps.exponent().subs({ps.beta: beta, ps.T: rounds}))
    closed = probs**s / (probs**s).sum(axis=-1, keepdims=True)
    assert np.max(np.abs(policy - closed)) < 1e-10
    assert np.max(np.abs(tabular.sharpen(probs, beta, rounds) - closed)) < 1e-10
    assert tabular.matched_beta(beta, rounds) == pytest.approx(
        float(ps.matched_beta().subs({ps.beta: beta, ps.T: rounds})))
