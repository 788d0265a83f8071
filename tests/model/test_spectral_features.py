"""S5 design: prescribed spectrum, fixed difficulty across d, Fisher information = gamma Sigma."""

import pytest
import torch

from srlm_core.errors import ConfigError
from srlm_core.model import metrics
from srlm_core.model.self_rewarding import population_update
from srlm_core.model.spectral_features import SpectralDesign

DESIGN = SpectralDesign(p=2.0, contexts=64, signal=1.5, beta=0.7, seed=3)


def exact_pair_fisher(problem):
    """beta^2 E_x E_{y,y' ~ pi_ref} [sigma'(m) dphi dphi^T] by enumeration of all pairs."""
    phi = problem.features
    C, K, d = phi.shape
    dphi = (phi[:, :, None, :] - phi[:, None, :, :]).reshape(-1, d)
    m = problem.beta * dphi @ problem.w_star
    weight = torch.sigmoid(m) * torch.sigmoid(-m) / (C * K * K)  # uniform rho and pi_ref
    return problem.beta**2 * (dphi.T * weight) @ dphi


@pytest.mark.parametrize("d", [1, 8, 64])
def test_feature_covariance_is_the_prescribed_spectrum(d):
    problem = DESIGN.problem(d)
    phi = problem.features.reshape(-1, d)
    assert problem.features.sum(dim=1).abs().max() == 0
    covariance = phi.T @ phi / phi.shape[0]
    mu = DESIGN.eigenvalues(d)
    assert torch.allclose(covariance, torch.diag(mu), atol=1e-14)
    j = torch.arange(1, d + 1, dtype=torch.float64)
    assert torch.allclose(mu, mu[0] * j**-2.0, rtol=1e-14)
    assert problem.features.norm(dim=-1).max() < 1.0


def test_difficulty_is_the_same_in_every_dimension():
    small, large = DESIGN.problem(4), DESIGN.problem(64)
    assert torch.equal(large.features[..., :4], small.features)  # nested: only nuisance added
    assert torch.allclose(small.log_probs(small.theta_star), large.log_probs(large.theta_star))
    kls = [float(metrics.kl_target_to_policy(p, p.theta_ref)) for p in (small, large)]
    assert kls[0] == pytest.approx(kls[1], rel=1e-14)
    assert kls[0] > 0.1


@pytest.mark.parametrize("d", [1, 16, 64])
def test_pair_fisher_is_curvature_times_sigma(d):
    problem = DESIGN.problem(d)
    expected = DESIGN.curvature() * torch.diag(DESIGN.eigenvalues(d))
    assert torch.allclose(exact_pair_fisher(problem), expected, atol=1e-15)


def test_bad_design_and_dimension_are_named():
    with pytest.raises(ConfigError, match="contexts"):
        SpectralDesign(contexts=48).validate()
    with pytest.raises(ConfigError, match="^p:"):
        SpectralDesign(p=1.0).validate()
    with pytest.raises(ConfigError, match="^d:"):
        DESIGN.problem(65)


def test_population_ridge_is_the_population_dpo_solution():
    lam = 0.01
    problem = DESIGN.problem(8)
    theta = problem.theta_ref.expand(1, -1)
    solved = population_update(problem, theta, alpha=1.0, lam=lam, theta_reference=theta)[0]
    expected = torch.zeros(8, dtype=torch.float64)
    expected[0] = DESIGN.population_ridge(lam)
    assert torch.allclose(solved, expected, atol=1e-10)
    assert 0 < expected[0] < DESIGN.signal  # shrunk towards pi_ref


def test_sandwich_coefficients_match_enumeration():
    d, v = 16, DESIGN.population_ridge(0.02)
    problem = DESIGN.problem(d)
    phi = problem.features
    C, K, _ = phi.shape
    dphi = (phi[:, :, None, :] - phi[:, None, :, :]).reshape(-1, d)
    z = problem.beta * dphi
    p_true = torch.sigmoid(z @ problem.w_star)
    p_v = torch.sigmoid(z[:, 0] * v)
    weight = 1.0 / (C * K * K)
    hessian = (z.T * (weight * p_v * (1 - p_v))) @ z
    score = (z.T * (weight * ((p_v - p_true) ** 2 + p_true * (1 - p_true)))) @ z
    h, s = DESIGN.sandwich_coefficients(v)
    sigma = torch.diag(DESIGN.eigenvalues(d))
    assert torch.allclose(hessian, h * sigma, atol=1e-15)
    assert torch.allclose(score, s * sigma, atol=1e-15)
    assert DESIGN.sandwich_coefficients(DESIGN.signal) == pytest.approx(
        (DESIGN.curvature(), DESIGN.curvature()), rel=1e-12
    )
