"""The sample-space Newton solver agrees with the parameter-space one (srlm_core.model.dpo)."""

import pytest
import torch

from srlm_core.model.dpo import fit_logistic, logistic_objective
from srlm_core.model.dual_logistic import fit_logistic_dual, fit_ridge_logistic


def data(n, d, seed):
    g = torch.Generator().manual_seed(seed)
    z = 2.0 * torch.randn(3, n, d, generator=g, dtype=torch.float64) / d**0.5
    target = (torch.rand(3, n, generator=g, dtype=torch.float64) < torch.sigmoid(3 * z[..., 0]))
    return z, target.double(), torch.full((3, n), 1.0 / n, dtype=torch.float64)


@pytest.mark.parametrize(("n", "d", "lam"), [(200, 10, 0.1), (60, 40, 1e-3), (50, 300, 0.01)])
def test_dual_newton_matches_primal_newton(n, d, lam):
    z, target, weight = data(n, d, seed=n + d)
    u0 = torch.zeros(3, d, dtype=torch.float64)
    primal = fit_logistic(z, target, weight, lam, u0, max_steps=200)
    dual = fit_logistic_dual(z, target, weight, lam)
    assert torch.allclose(dual, primal, atol=1e-9)
    dual.requires_grad_(True)
    logistic_objective(dual, z, target, weight, lam).sum().backward()
    assert dual.grad.abs().max() < 1e-9


def test_separable_data_with_tiny_ridge_converge():
    z, target, weight = data(50, 300, seed=1)  # d > n: separable
    u = fit_ridge_logistic(z, target, weight, 1e-9)
    u.requires_grad_(True)
    logistic_objective(u, z, target, weight, 1e-9).sum().backward()
    assert u.grad.abs().max() < 1e-9
    assert u.detach().norm(dim=-1).min() > 50  # the norm grows as lambda -> 0


def test_dual_solver_rejects_zero_ridge():
    z, target, weight = data(10, 20, seed=0)
    with pytest.raises(ValueError, match="lambda > 0"):
        fit_logistic_dual(z, target, weight, 0.0)
