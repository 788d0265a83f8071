import torch

from srlm_core.model.dpo import dpo_sigmoid_loss, dpo_update, fit_logistic, logistic_objective


def test_sigmoid_loss_matches_formula():
    pc, pr, rc, rr = (torch.tensor([v]) for v in (-1.0, -2.0, -1.5, -1.2))
    expected = -torch.log(torch.sigmoid(torch.tensor(0.3 * ((-1.0 + 1.5) - (-2.0 + 1.2)))))
    assert torch.allclose(dpo_sigmoid_loss(pc, pr, rc, rr, beta=0.3), expected)


def test_newton_solution_is_a_stationary_point():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(3, 200, 4, generator=g, dtype=torch.float64)
    target = torch.rand(3, 200, generator=g, dtype=torch.float64)
    weight = torch.full_like(target, 1 / 200)
    u = fit_logistic(z, target, weight, lam=0.1, u0=torch.zeros(3, 4, dtype=torch.float64))
    u.requires_grad_(True)
    logistic_objective(u, z, target, weight, 0.1).sum().backward()
    assert u.grad.abs().max() < 1e-8


def test_dpo_update_recovers_the_generating_parameters():
    g = torch.Generator().manual_seed(1)
    u_true = torch.tensor([0.8, -0.5, 0.3], dtype=torch.float64)
    dphi = torch.randn(2, 20000, 3, generator=g, dtype=torch.float64) / 3
    label = (torch.rand(2, 20000, generator=g, dtype=torch.float64)
             < torch.sigmoid(2.0 * dphi @ u_true)).double()
    theta_ref = torch.tensor([1.0, 1.0, 1.0], dtype=torch.float64)
    theta = dpo_update(dphi, label, beta=2.0, lam=0.0, theta_reference=theta_ref,
                       theta_init=theta_ref.expand(2, -1))
    assert torch.allclose(theta - theta_ref, u_true.expand(2, -1), atol=0.08)
