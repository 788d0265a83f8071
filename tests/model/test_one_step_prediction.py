"""model.one_step_prediction: the S2 predictions, checked against autograd and a simulation."""

import pytest
import torch

from srlm_core.model import metrics, one_step_prediction
from srlm_core.model.dpo import logistic_objective
from srlm_core.model.judge import judge_rewards
from srlm_core.model.policy import initial_parameters, make_problem
from srlm_core.model.self_rewarding import SelfRewardingRunner, SimulationConfig, population_update

ALPHA = 0.5


def _problem():
    return make_problem(d=4, K=4, contexts=8, beta=1.5, seed=1)


def test_one_step_limit_equals_population_update():
    p = _problem()
    theta0 = initial_parameters(p, 2.0, seed=1)
    solved = population_update(p, theta0[None], ALPHA, 0.0, p.theta_ref)[0]
    assert torch.allclose(solved, one_step_prediction.one_step_limit(p, theta0, ALPHA), atol=1e-8)


def test_pair_fisher_is_hessian_of_population_dpo_loss():
    p = _problem()
    theta0 = initial_parameters(p, 2.0, seed=1)
    theta1 = one_step_prediction.one_step_limit(p, theta0, ALPHA)
    phi = p.features
    dphi = (phi.unsqueeze(2) - phi.unsqueeze(1)).reshape(-1, p.dim)
    probs = p.log_probs(theta0).exp()
    weight = (p.context_probs[:, None, None] * probs.unsqueeze(-1) * probs.unsqueeze(-2))
    r = judge_rewards(p, theta0, ALPHA)
    target = torch.sigmoid(r.unsqueeze(-1) - r.unsqueeze(-2)).reshape(1, -1)

    def loss(u):
        z = p.beta * dphi[None]
        return logistic_objective(u[None], z, target, weight.reshape(1, -1), 0.0)[0]

    hessian = torch.autograd.functional.hessian(loss, theta1 - p.theta_ref)
    info = one_step_prediction.pair_fisher(p, theta0, theta1)
    assert torch.allclose(hessian, p.beta**2 * info, atol=1e-10)


def test_policy_fisher_is_hessian_of_kl_at_target():
    p = _problem()
    hessian = torch.autograd.functional.hessian(
        lambda th: metrics.kl_target_to_policy(p, th), p.theta_star.clone()
    )
    assert torch.allclose(hessian, one_step_prediction.policy_fisher(p, p.theta_star), atol=1e-10)


def test_prediction_components():
    p = _problem()
    theta0 = initial_parameters(p, 1.0, seed=2)
    pred = one_step_prediction.predict_one_step(p, theta0, ALPHA)
    kl0 = float(metrics.kl_target_to_policy(p, theta0))
    # the floor is (1 - alpha)^2 times the initial quadratic KL, which is close to the exact one
    assert abs(pred.floor / (1 - ALPHA) ** 2 - kl0) < 0.05 * kl0
    assert abs(pred.exact_floor - pred.floor) < 0.05 * pred.floor
    assert pred.variance > 0 and pred.param_variance > 0
    iterated = one_step_prediction.predict_iterated_kl(p, theta0, ALPHA, n=1000, iters=3)
    assert abs(iterated[1] - pred.kl(1000)) < 1e-12
    assert iterated[3] < iterated[1]


def test_variance_term_between_kappa_sigma_bounds():
    """S3 / S2: kappa_Sigma / beta^2 <= V <= d kappa_Sigma / (4 beta^2 s_min) on random starts."""
    p = _problem()
    for seed, dist in enumerate((0.5, 1.0, 2.0, 4.0, 6.0)):
        theta0 = initial_parameters(p, dist, seed=seed)
        theta1 = one_step_prediction.one_step_limit(p, theta0, ALPHA)
        v = one_step_prediction.predict_one_step(p, theta0, ALPHA).variance
        kappa_sigma = float(metrics.feature_condition_number(p, theta0))
        phi = p.features
        margins = p.beta * torch.einsum("ckld,d->ckl", phi.unsqueeze(2) - phi.unsqueeze(1),
                                        theta1 - p.theta_ref)
        s_min = float((torch.sigmoid(margins) * torch.sigmoid(-margins)).min())
        assert kappa_sigma / p.beta**2 <= v * (1 + 1e-9)
        assert v <= p.dim * kappa_sigma / (4 * p.beta**2 * s_min) * (1 + 1e-9)


def test_one_step_floor_in_small_simulation():
    """S2: one finite-sample step lands, on average, at the population limit theta_1 (the floor
    (1 - alpha) e_0 that no n removes) and scatters around it with
    E ||theta_hat_1 - theta_1||^2 = param_variance / n.

    The spread is measured around theta_1 itself, not around theta* (where the cross term
    2 (theta_1 - theta*) . xi made the old tolerance 25 times the variance term): over 400
    seeds the standard error is 4% of the term and the tolerance 4 standard errors, so a
    variance term of zero, half or double the prediction fails."""
    config = SimulationConfig(alpha=ALPHA, beta=1.5, n=5000, iters=1, d=4, K=4, contexts=8,
                              init_dist=2.0, seeds=400, seed=1)  # beta != 1: a lost beta^2 shows
    runner = SelfRewardingRunner(config)
    thetas = runner.run().thetas
    p = runner.problem
    pred = one_step_prediction.predict_one_step(p, thetas[0, 0], ALPHA)
    theta1 = one_step_prediction.one_step_limit(p, thetas[0, 0], ALPHA)
    squared = ((thetas[1] - theta1) ** 2).sum(-1)
    predicted = pred.param_variance / config.n
    sem = float(squared.std() / len(squared) ** 0.5)
    assert sem < 0.05 * predicted  # the check resolves the term
    assert abs(float(squared.mean()) - predicted) < 4 * sem
    # the floor: the mean estimate sits at theta_1, (1 - alpha) e_0 = 1 from theta* (up to the
    # logistic MLE's O(d / n) bias, about 1% here)
    centre = thetas[1].mean(0)
    assert float((centre - theta1).norm()) < 0.02 * (1 - ALPHA) * config.init_dist
    assert float(metrics.param_distance(p, centre)) == pytest.approx(
        (1 - ALPHA) * config.init_dist, rel=0.02)
