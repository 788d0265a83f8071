import torch

from srlm_core.model import metrics
from srlm_core.model.policy import make_problem


def _problem():
    return make_problem(d=4, K=5, contexts=6, beta=1.0, seed=5)


def test_metrics_vanish_at_the_target():
    p = _problem()
    star = p.theta_star.unsqueeze(0)
    assert metrics.param_distance(p, star).item() == 0.0
    assert abs(metrics.kl_target_to_policy(p, star).item()) < 1e-12
    assert abs(metrics.condition_number(p, star).item() - 1.0) < 1e-12
    assert abs(metrics.feature_condition_number(p, star).item() - 1.0) < 1e-9
    assert metrics.consistency_residual(p, star, alpha=0.4).item() < 1e-12


def test_condition_number_bounds():
    """kappa >= 1 and log kappa <= span <= 2 ||theta - theta*|| (S3)."""
    p = _problem()
    g = torch.Generator().manual_seed(0)
    theta = p.theta_star + torch.randn(50, 4, generator=g, dtype=torch.float64)
    kappa = metrics.condition_number(p, theta)
    span = metrics.log_ratio_span(p, theta)
    assert (kappa >= 1).all()
    assert (kappa.log() <= span + 1e-12).all()
    assert (span <= 2 * metrics.param_distance(p, theta) + 1e-12).all()


def test_pair_covariance_matches_pair_enumeration():
    p = _problem()
    theta = torch.randn(4, dtype=torch.float64)
    probs = p.log_probs(theta).exp()
    phi = p.features
    diff = phi[:, :, None, :] - phi[:, None, :, :]
    w = probs[:, :, None] * probs[:, None, :] * p.context_probs[:, None, None]
    brute = torch.einsum("cab,cabd,cabe->de", w, diff, diff)
    assert torch.allclose(metrics.pair_covariance(p, theta), brute)


def test_effective_dimension():
    mu = torch.tensor([1.0, 1.0, 0.0])
    assert metrics.effective_dimension(mu, 0.0 + 1e-12).item() > 1.999
    assert abs(metrics.effective_dimension(mu, 1.0).item() - 1.0) < 1e-12
