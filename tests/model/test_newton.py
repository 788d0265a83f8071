"""model.newton: the damped Newton loop shared by the DPO solvers."""

import torch

from srlm_core.model import newton


def test_a_quadratic_is_solved_in_one_step():
    target = torch.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=torch.float64)
    calls = []

    def step(x):
        calls.append(1)
        return (x - target).norm(dim=-1), x - target

    x = newton.minimise(lambda x: ((x - target) ** 2).sum(-1), step, torch.zeros_like(target),
                        max_steps=10, tol=1e-12)
    assert torch.equal(x, target) and len(calls) == 2  # one step, then the gradient check


def test_backtracking_rescues_an_overshooting_newton_step():
    # f(x) = sqrt(1 + x^2): the full Newton step from x sends x to -x^3, which raises f for
    # |x| > 1, so undamped Newton diverges from x = 2; the damped loop must not.
    def objective(x):
        return torch.sqrt(1 + x**2).sum(-1)

    def step(x):
        grad = x / torch.sqrt(1 + x**2)
        hess = (1 + x**2) ** -1.5
        return grad.abs().sum(-1), grad / hess

    x0 = torch.tensor([[2.0], [0.5]], dtype=torch.float64)
    x = newton.minimise(objective, step, x0, max_steps=50, tol=1e-12)
    assert torch.allclose(x, torch.zeros_like(x), atol=1e-10)
    undamped = x0 - step(x0)[1]
    assert objective(undamped)[0] > objective(x0)[0]  # the regime where damping matters
