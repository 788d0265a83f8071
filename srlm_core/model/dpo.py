r"""The DPO update for linear-softmax policies (the book's model chapter, *Update*).

For a linear-softmax policy, the DPO implicit reward margin of a pair is
:math:`\beta (\theta - \theta_{\mathrm{ref}}) \cdot (\phi(x, y) - \phi(x, y'))`, so DPO with
reference :math:`\theta_{\mathrm{ref}}` and ridge :math:`\lambda` is a regularised logistic
regression in :math:`u = \theta - \theta_{\mathrm{ref}}`:

.. math::

   \theta_{t+1} = \operatorname*{argmin}_\theta\; -\frac1n \sum_i
   \log \sigma(\pm \beta\, u \cdot \Delta\phi_i) + \frac\lambda2 \|u\|^2.

We solve it exactly with damped Newton steps, batched over seeds.  The same solver takes
soft labels and weights, which gives the population (:math:`n = \infty`) update.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from srlm_core.model import newton


def dpo_sigmoid_loss(
    policy_chosen_logps: torch.Tensor,
    policy_rejected_logps: torch.Tensor,
    ref_chosen_logps: torch.Tensor,
    ref_rejected_logps: torch.Tensor,
    beta: float,
) -> torch.Tensor:
    r"""Per-pair sigmoid DPO loss (Rafailov et al. 2023, eq. 7):
    :math:`-\log \sigma(\beta [(\log \pi(y_w) - \log \pi_{\mathrm{ref}}(y_w))
    - (\log \pi(y_l) - \log \pi_{\mathrm{ref}}(y_l))])`."""
    margin = (policy_chosen_logps - ref_chosen_logps) - (policy_rejected_logps - ref_rejected_logps)
    return -F.logsigmoid(beta * margin)


def soft_label_nll(s: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    r"""Per-pair loss at margin :math:`s` with soft label :math:`p`:
    :math:`-p \log \sigma(s) - (1 - p) \log \sigma(-s)`."""
    return -(target * F.logsigmoid(s) + (1.0 - target) * F.logsigmoid(-s))


def logistic_objective(
    u: torch.Tensor,
    z: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor,
    lam: float,
) -> torch.Tensor:
    r""":math:`\sum_i w_i [-p_i \log \sigma(u \cdot z_i) - (1 - p_i) \log \sigma(-u \cdot z_i)]
    + \frac\lambda2 \|u\|^2`.

    Shapes: u (S, d), z (S, m, d), target and weight (S, m); returns (S,)."""
    s = torch.einsum("smd,sd->sm", z, u)
    return (weight * soft_label_nll(s, target)).sum(-1) + 0.5 * lam * (u * u).sum(-1)


def fit_logistic(
    z: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor,
    lam: float,
    u0: torch.Tensor,
    max_steps: int = 100,
    tol: float = 1e-10,
) -> torch.Tensor:
    """Minimise :func:`logistic_objective` per seed by damped Newton
    (:mod:`srlm_core.model.newton`).

    A jitter of 1e-10 keeps the Newton system solvable when lambda = 0 and the data do not
    span the feature space; it does not change the objective."""
    d = u0.shape[-1]
    eye = torch.eye(d, dtype=u0.dtype, device=u0.device)

    def objective(u):
        return logistic_objective(u, z, target, weight, lam)

    def newton_step(u):
        p = torch.sigmoid(torch.einsum("smd,sd->sm", z, u))
        grad = torch.einsum("sm,smd->sd", weight * (p - target), z) + lam * u
        curvature = weight * p * (1.0 - p)
        hess = torch.einsum("sm,smd,sme->sde", curvature, z, z) + (lam + 1e-10) * eye
        return grad.norm(dim=-1), torch.linalg.solve(hess, grad.unsqueeze(-1)).squeeze(-1)

    return newton.minimise(objective, newton_step, u0, max_steps, tol)


def dpo_update(
    dphi: torch.Tensor,
    label: torch.Tensor,
    beta: float,
    lam: float,
    theta_reference: torch.Tensor,
    theta_init: torch.Tensor,
) -> torch.Tensor:
    r"""One finite-sample DPO step: :math:`\theta_{t+1}` from n labelled pairs per seed.

    ``dphi`` (S, n, d) are :math:`\phi(x, y) - \phi(x, y')`, ``label`` (S, n) is 1 where y won.
    The reference ``theta_reference`` (S, d) or (d,) is :math:`\pi_{\mathrm{ref}}` (fixed) or
    :math:`\pi_t` (moving)."""
    n = dphi.shape[1]
    weight = torch.full_like(label, 1.0 / n)
    u0 = (theta_init - theta_reference).expand_as(theta_init)
    u = fit_logistic(beta * dphi, label, weight, lam, u0)
    return theta_reference + u
