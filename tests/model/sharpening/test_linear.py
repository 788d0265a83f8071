"""The linear-softmax update is the exact minimiser of Eq. 3; with a spanning set of pairs it is
the population step; the ball projection; the pair graph's rank."""

import numpy as np
import pytest
from scipy.linalg import lstsq

from srlm_core.model.sharpening import linear, observables, pair_graph


def _problem(d=6, prompts=5, responses=7, seed=0, decay=0.0):
    rng = np.random.default_rng(seed)
    phi = linear.features(prompts, responses, d, decay, rng)
    return phi, rng.normal(size=d), rng


def _gradient(theta, theta_t, rows, beta):
    residual = beta * rows @ (theta - theta_t) - rows @ theta_t
    return 2 * beta * rows.T @ residual


def test_features_have_unit_norm_and_the_chosen_spectrum():
    phi, _, _ = _problem(d=4, prompts=400, responses=50, decay=1.0)
    assert np.linalg.norm(phi, axis=-1) == pytest.approx(1.0)
    second = np.mean(phi.reshape(-1, 4) ** 2, axis=0)
    assert np.all(np.diff(second) < 0)  # decaying variances
    assert linear.spectrum(3, 0.0) == pytest.approx(np.ones(3))


@pytest.mark.parametrize("beta", [0.1, 1.0])
@pytest.mark.parametrize("n", [3, 20])
def test_min_norm_update_is_the_minimum_norm_least_squares_solution(beta, n):
    phi, theta_t, rng = _problem()
    rows = linear.differences(phi, *linear.sample_pairs(theta_t, phi, n, rng))
    new = linear.update(theta_t, rows, beta)
    assert linear.squared_loss(new, theta_t, rows, beta) < 1e-20
    assert np.abs(_gradient(new, theta_t, rows, beta)).max() < 1e-10
    generic, *_ = lstsq(beta * rows, rows @ theta_t)  # scipy's minimum-norm solution
    assert new - theta_t == pytest.approx(generic, abs=1e-10)


def test_spanning_pairs_give_the_population_step_exactly():
    phi, theta_t, rng = _problem(d=4, prompts=20)
    rows = linear.differences(phi, *linear.sample_pairs(theta_t, phi, 60, rng))
    assert len(linear.span_basis(rows)) == 4
    assert linear.update(theta_t, rows, 0.5) == pytest.approx(3.0 * theta_t, rel=1e-13)


def test_fewer_pairs_amplify_only_the_span():
    phi, theta_t, rng = _problem(d=6)
    rows = linear.differences(phi, *linear.sample_pairs(theta_t, phi, 2, rng))
    basis = linear.span_basis(rows)
    projector = basis.T @ basis
    assert projector @ projector == pytest.approx(projector, abs=1e-12)
    assert linear.update(theta_t, rows, 0.25) == pytest.approx(theta_t + 4 * projector @ theta_t)


def test_ridge_update_matches_a_generic_solver_on_both_sides():
    phi, theta_t, rng = _problem(d=5)
    beta, lam = 0.7, 0.3
    for n in (3, 12):  # fewer and more pairs than dimensions
        rows = linear.differences(phi, *linear.sample_pairs(theta_t, phi, n, rng))
        # ridge regression of the label on the pair rows, penalty on the scaled step v
        design = np.vstack([rows / np.sqrt(n), np.sqrt(lam) * np.eye(5)])
        target = np.concatenate([rows @ theta_t / np.sqrt(n), np.zeros(5)])
        v, *_ = lstsq(design, target)
        assert linear.update(theta_t, rows, beta, ridge=lam) == pytest.approx(theta_t + v / beta)
    small = linear.update(theta_t, rows, beta, ridge=1e-10)
    assert small == pytest.approx(linear.update(theta_t, rows, beta), rel=1e-6)
    with pytest.raises(ValueError):
        linear.update(theta_t, rows, beta, ridge=-1.0)


def test_projection_onto_the_ball():
    theta = np.array([3.0, 4.0])
    assert linear.project(theta, 10.0) is theta
    assert linear.project(theta, 1.0) == pytest.approx([0.6, 0.8])


def test_scale_hits_the_condition_number():
    phi, direction, _ = _problem(d=3, prompts=30, responses=10)
    s = linear.scale_for_kappa(direction, phi, 3.0)
    assert observables.kappa(linear.policy(s * direction, phi)) == pytest.approx(3.0, rel=1e-6)


def test_rank_of_feature_differences_is_the_independent_pair_count():
    x = np.array([0, 0, 0, 0, 1, 1])
    y = np.array([0, 1, 0, 2, 3, 3])
    y2 = np.array([1, 2, 2, 2, 4, 3])  # cycle 0-1-2-0, a self pair, prompt 1 one edge
    phi, _, _ = _problem(d=10, prompts=2, responses=5)
    rows = linear.differences(phi, x, y, y2)
    assert len(linear.span_basis(rows)) == pair_graph.independent_pairs(x, y, y2, 5) == 3


def test_informative_share_is_the_chance_of_two_different_draws():
    probs = np.array([[0.5, 0.5], [1.0, 0.0]])
    assert linear.informative_share(probs) == pytest.approx(0.25)


def test_iterate_records_exact_rounds_and_projects():
    phi, theta0, rng = _problem(d=3, prompts=40, responses=6)
    theta0 = theta0 / np.linalg.norm(theta0)
    thetas, log = linear.iterate(theta0, phi, 1.0, 3, 50, rng, radius=3.0)
    assert all(step.rank == 3 and step.deviation < 1e-12 for step in log)
    assert [np.linalg.norm(t) for t in thetas] == pytest.approx([1.0, 2.0, 3.0, 3.0])
    assert all(step.independent >= step.rank for step in log)
