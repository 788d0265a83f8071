"""The tabular update is the exact minimiser of Eq. 3, and its population limit is sharpening."""

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import log_softmax

from srlm_core.model.sharpening import tabular


def _policy(prompts=4, responses=6, seed=0):
    rng = np.random.default_rng(seed)
    return np.exp(log_softmax(rng.normal(size=(prompts, responses)), axis=-1)), rng


def _loss_gradient(logits, log_probs, pairs, beta):
    rows = tabular.design(pairs, log_probs.shape[1])
    residual = beta * np.einsum("pnk,pk->pn", rows, logits - log_probs) \
        - np.einsum("pnk,pk->pn", rows, log_probs)
    return 2 * beta * np.einsum("pnk,pn->pk", rows, residual)


@pytest.mark.parametrize("beta", [0.1, 1.0])
def test_min_norm_update_attains_zero_loss_with_zero_gradient(beta):
    probs, rng = _policy()
    pairs = tabular.sample_pairs(probs, 3, rng)
    new = tabular.update(probs, pairs, beta)
    logits = np.log(new)
    assert tabular.squared_loss(logits, np.log(probs), pairs, beta) < 1e-20
    assert np.abs(_loss_gradient(logits, np.log(probs), pairs, beta)).max() < 1e-9


def test_min_norm_step_within_a_component_and_unsampled_responses():
    probs = np.array([[0.4, 0.3, 0.2, 0.1]])
    pairs = np.array([[[0, 1], [1, 2]]])  # component {0, 1, 2}; response 3 unsampled
    beta = 0.5
    new_logits = np.log(probs) + 0.0
    ell = np.log(probs[0, :3])
    new_logits[0, :3] += (ell - ell.mean()) / beta  # the closed form of the docstring
    expected = np.exp(log_softmax(new_logits, axis=-1))
    assert tabular.update(probs, pairs, beta) == pytest.approx(expected, abs=1e-12)


def test_ridge_update_matches_a_generic_solver():
    probs, rng = _policy(prompts=1, responses=5, seed=3)
    pairs = tabular.sample_pairs(probs, 3, rng)
    beta, lam = 0.7, 0.3
    ell = np.log(probs)

    def objective(delta):
        return tabular.squared_loss(ell + delta[None], ell, pairs, beta) + lam * delta @ delta

    delta = minimize(objective, np.zeros(5), method="BFGS", options={"gtol": 1e-12}).x
    expected = np.exp(log_softmax(ell + delta[None], axis=-1))
    assert tabular.update(probs, pairs, beta, "ridge", lam) == pytest.approx(expected, abs=1e-6)


def test_every_pair_observed_gives_population_sharpening():
    probs, _ = _policy(prompts=3, responses=4, seed=1)
    every = np.array([[(i, j) for i in range(4) for j in range(4)]] * 3)
    for beta in (0.2, 1.0, 5.0):
        assert tabular.update(probs, every, beta) == pytest.approx(
            tabular.sharpen(probs, beta), abs=1e-12)


def test_iterated_population_map_equals_the_closed_form():
    probs, _ = _policy()
    beta, rounds = 0.5, 4
    stepwise = probs
    for _ in range(rounds):
        stepwise = tabular.sharpen(stepwise, beta)
    assert np.abs(stepwise - tabular.sharpen(probs, beta, rounds)).max() < 1e-10
    matched = tabular.matched_beta(beta, rounds)
    assert np.abs(tabular.sharpen(probs, matched) - stepwise).max() < 1e-10


def test_sampling_follows_the_policy():
    probs = np.array([[0.7, 0.2, 0.1, 0.0]])
    draws = tabular.sample_pairs(probs, 20_000, np.random.default_rng(0))
    freq = np.bincount(draws.ravel(), minlength=4) / draws.size
    assert freq == pytest.approx(probs[0], abs=0.01)
    assert freq[3] == 0.0


def test_bad_rule_and_missing_ridge_are_refused():
    probs, rng = _policy()
    pairs = tabular.sample_pairs(probs, 2, rng)
    with pytest.raises(ValueError, match="rule"):
        tabular.update(probs, pairs, 1.0, rule="gradient")
    with pytest.raises(ValueError, match="ridge"):
        tabular.update(probs, pairs, 1.0, rule="ridge")
