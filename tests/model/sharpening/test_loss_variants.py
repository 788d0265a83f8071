"""The logistic updates minimise their losses; with soft labels the update is Eq. 3's."""

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import expit, log_softmax

from srlm_core.model.sharpening import loss_variants, tabular


def _policy(prompts=4, responses=6, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    logits = scale * rng.normal(size=(prompts, responses))
    return np.exp(log_softmax(logits, axis=-1)), rng


def _gradient(probs, new, pairs, labels, beta, ridge):
    step = np.log(new) - np.log(probs)
    step -= step.mean(axis=-1, keepdims=True)  # the loss sees differences only
    rows = tabular.design(pairs, probs.shape[1])
    u = beta * np.einsum("pnk,pk->pn", rows, step)
    return beta * np.einsum("pnk,pn->pk", rows, expit(u) - labels) + 2 * ridge * step, step


@pytest.mark.parametrize("beta", [0.3, 2.0])
def test_soft_label_update_equals_the_squared_loss_update(beta):
    probs, rng = _policy()
    pairs = tabular.sample_pairs(probs, 5, rng)
    labels = loss_variants.soft_labels(probs, pairs)
    new = loss_variants.logistic_update(probs, pairs, labels, beta)
    assert np.log(new) == pytest.approx(np.log(tabular.update(probs, pairs, beta)), abs=1e-9)
    gradient, _ = _gradient(probs, new, pairs, labels, beta, 0.0)
    assert np.abs(gradient).max() < 1e-9


def test_bradley_terry_update_matches_a_generic_solver():
    probs, rng = _policy(prompts=1, responses=5, seed=2)
    pairs = tabular.sample_pairs(probs, 6, rng)
    labels = loss_variants.bradley_terry_labels(probs, pairs, rng)
    assert set(np.unique(labels)) <= {0.0, 1.0}
    beta, ridge = 0.7, 0.2

    def objective(step):
        return float(loss_variants.logistic_loss(step[None], pairs, labels, beta, ridge)[0])

    step = minimize(objective, np.zeros(5), method="BFGS", options={"gtol": 1e-12}).x
    expected = np.exp(log_softmax(np.log(probs) + step[None], axis=-1))
    new = loss_variants.logistic_update(probs, pairs, labels, beta, ridge)
    assert new == pytest.approx(expected, abs=1e-6)
    gradient, _ = _gradient(probs, new, pairs, labels, beta, ridge)
    # the ridge acts on the raw step, which is the centred one here (Newton starts at 0 and
    # every gradient sums to zero over responses)
    assert np.abs(gradient).max() < 1e-8


def test_bradley_terry_labels_follow_the_self_reward():
    probs = np.array([[0.8, 0.2]])
    pairs = np.array([[[0, 1]] * 20000])
    labels = loss_variants.bradley_terry_labels(probs, pairs, np.random.default_rng(0))
    assert labels.mean() == pytest.approx(0.8, abs=0.01)  # pi(y) / (pi(y) + pi(y'))


def test_every_update_sharpens_in_the_population():
    probs, _ = _policy(prompts=2, responses=4, seed=1)
    every = np.array([[(i, j) for i in range(4) for j in range(4) if i != j]] * 2)
    soft = loss_variants.logistic_update(probs, every, loss_variants.soft_labels(probs, every),
                                         0.5)
    assert soft == pytest.approx(tabular.sharpen(probs, 0.5), abs=1e-9)


def test_hard_labels_need_a_ridge_and_names_are_checked():
    probs, rng = _policy()
    pairs = tabular.sample_pairs(probs, 2, rng)
    with pytest.raises(ValueError, match="ridge > 0"):
        loss_variants.update("logistic_bt", probs, pairs, 1.0, rng)
    with pytest.raises(ValueError, match="update must be one of"):
        loss_variants.update("hinge", probs, pairs, 1.0, rng)


def test_iterate_runs_every_update():
    probs, _ = _policy()
    for name in loss_variants.UPDATES:
        policies = loss_variants.iterate(name, probs, 1.0, 2, 3, np.random.default_rng(0),
                                         ridge=0.1)
        assert len(policies) == 3
        assert np.allclose(policies[-1].sum(axis=-1), 1.0)
