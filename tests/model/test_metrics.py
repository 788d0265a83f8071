import math

import numpy as np
import pytest
import torch
from scipy import linalg

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


def _off_target(p, scale=1.5, seed=3):
    g = torch.Generator().manual_seed(seed)
    return p.theta_star + scale * torch.randn(4, 4, generator=g, dtype=torch.float64)


def _pair_covariance_by_enumeration(p, theta):
    """E_x sum_{y, y'} pi(y|x) pi(y'|x) (phi_y - phi_y')(phi_y - phi_y')^T, in loops."""
    phi, rho = p.features.numpy(), p.context_probs.numpy()
    pi = p.log_probs(theta).exp().numpy()
    out = np.zeros((p.dim, p.dim))
    for c in range(phi.shape[0]):
        for a in range(phi.shape[1]):
            for b in range(phi.shape[1]):
                diff = phi[c, a] - phi[c, b]
                out += rho[c] * pi[c, a] * pi[c, b] * np.outer(diff, diff)
    return out


def test_feature_condition_number_off_target_is_the_largest_generalised_eigenvalue():
    """kappa_Sigma(pi) = max_v (v' H_* v) / (v' H_pi v): checked against SciPy's generalised
    symmetric eigensolver on the enumerated pair covariances, at parameters away from theta*
    (at theta* every generalised eigenvalue is 1, so lambda_min or the trace / d would pass
    there).  Bugs caught: the smallest eigenvalue, the matrices swapped (1 / lambda_min)."""
    p = _problem()
    theta = _off_target(p)
    kappa = metrics.feature_condition_number(p, theta).numpy()
    h_star = _pair_covariance_by_enumeration(p, p.theta_star)
    for i in range(len(theta)):
        eig = linalg.eigh(h_star, _pair_covariance_by_enumeration(p, theta[i]), eigvals_only=True)
        assert eig[0] < 0.9 * eig[-1]  # the case separates largest from smallest
        assert kappa[i] == pytest.approx(eig[-1], rel=1e-9)
        assert kappa[i] >= 1.0


def test_consistency_residual_off_target_by_enumeration():
    """E_x sum_{y, y'} pi(y) pi(y') |sigma(r_t(y) - r_t(y')) - sigma(beta u . (phi_y - phi_y'))|,
    u = theta - theta_ref, with r_t = alpha beta w* . phi + (1 - alpha) beta log(pi_t / pi_ref),
    computed in loops from the definitions, at alpha = 0.4 away from theta*.  Bugs caught: the
    pairs weighted uniformly instead of by pi_t, the judge without its self-preference term, or
    the policy's reward measured from theta* instead of theta_ref."""
    alpha = 0.4
    p = _problem()
    theta = _off_target(p, scale=1.0, seed=4)
    phi, rho, beta = p.features.numpy(), p.context_probs.numpy(), p.beta
    log_ref = p.log_probs(p.theta_ref).numpy()
    got = metrics.consistency_residual(p, theta, alpha).numpy()
    for i in range(len(theta)):
        log_pi = p.log_probs(theta[i]).numpy()
        u = (theta[i] - p.theta_ref).numpy()
        reward = alpha * beta * phi @ p.w_star.numpy() + (1 - alpha) * beta * (log_pi - log_ref)
        total = 0.0
        for c in range(phi.shape[0]):
            for a in range(phi.shape[1]):
                for b in range(phi.shape[1]):
                    judge = 1 / (1 + math.exp(-(reward[c, a] - reward[c, b])))
                    policy = 1 / (1 + math.exp(-beta * u @ (phi[c, a] - phi[c, b])))
                    total += rho[c] * math.exp(log_pi[c, a] + log_pi[c, b]) * abs(judge - policy)
        assert total > 0.01  # off target the residual is not small
        assert got[i] == pytest.approx(total, rel=1e-10)


def test_condition_number_and_kl_off_target_by_enumeration():
    """kappa = max_{x,y} pi*(y|x) / pi(y|x) and KL(pi* || pi) = E_x sum_y pi* log(pi*/pi) from
    explicit softmaxes; a min in place of the max, or KL(pi || pi*), fails."""
    p = _problem()
    theta = _off_target(p, seed=5)
    logits_star = p.features.numpy() @ p.theta_star.numpy()
    star = np.exp(logits_star) / np.exp(logits_star).sum(-1, keepdims=True)
    for i in range(len(theta)):
        logits = p.features.numpy() @ theta[i].numpy()
        pi = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
        kl = float(p.context_probs.numpy() @ (star * np.log(star / pi)).sum(-1))
        assert metrics.condition_number(p, theta[i]).item() == pytest.approx((star / pi).max())
        assert metrics.kl_target_to_policy(p, theta[i]).item() == pytest.approx(kl, rel=1e-10)


def test_feature_condition_number_is_infinite_where_pairs_do_not_span_and_nan_for_nan():
    """One prompt with three responses in R^3: the pair differences span a plane, so H_pi is
    singular and kappa_Sigma is infinite (its Cholesky factor used to raise); NaN parameters
    give NaN; a well-posed row in the same batch keeps its value."""
    flat = make_problem(d=3, K=3, contexts=1, seed=2)
    theta = torch.stack([flat.theta_star, flat.theta_star + 1.0])
    assert torch.isinf(metrics.feature_condition_number(flat, theta)).all()
    p = _problem()
    batch = torch.stack([p.theta_star, torch.full((4,), torch.nan, dtype=torch.float64)])
    out = metrics.feature_condition_number(p, batch)
    assert out[0].item() == pytest.approx(1.0) and torch.isnan(out[1])
