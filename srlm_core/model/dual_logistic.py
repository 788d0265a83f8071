r"""Ridge logistic regression in sample space, for d >> n (the DPO update with lambda > 0).

The DPO step is the ridge logistic regression of :func:`srlm_core.model.dpo.fit_logistic`,

.. math::

   \min_u \sum_i w_i\, l(u \cdot z_i; p_i) + \frac\lambda2 \|u\|^2, \qquad
   l(s; p) = -p \log \sigma(s) - (1 - p) \log \sigma(-s).

For :math:`\lambda > 0` its minimiser lies in the row space of
:math:`Z = (z_1, \dots, z_n)^\top` (representer theorem), :math:`u = Z^\top a`.  The Newton
step of the primal problem, :math:`(Z^\top D Z + \lambda I)^{-1} Z^\top r` with
:math:`D = \operatorname{diag}(w p (1 - p))` and :math:`r = w (\sigma(s) - p) + \lambda a`,
equals :math:`Z^\top (D G + \lambda I)^{-1} r` by the push-through identity, with the
:math:`n \times n` Gram matrix :math:`G = Z Z^\top`.  So each Newton step costs
:math:`O(n^3)` instead of :math:`O(d^3)` and no :math:`d \times d` matrix is formed.
"""

from __future__ import annotations

import torch

from srlm_core.model import newton
from srlm_core.model.dpo import fit_logistic, soft_label_nll


def _dual_objective(
    a: torch.Tensor, gram: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, lam: float
) -> torch.Tensor:
    """The primal objective at u = Z^T a: s = G a and ||u||^2 = a^T G a.  Shapes (S, n) -> (S,)."""
    s = torch.einsum("smn,sn->sm", gram, a)
    return (weight * soft_label_nll(s, target)).sum(-1) + 0.5 * lam * (a * s).sum(-1)


def fit_logistic_dual(
    z: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor,
    lam: float,
    max_steps: int = 200,
    tol: float = 1e-10,
) -> torch.Tensor:
    r"""Minimise :func:`srlm_core.model.dpo.logistic_objective` (:math:`\lambda > 0`) by damped
    Newton (:mod:`srlm_core.model.newton`) in the coefficients :math:`a` of
    :math:`u = Z^\top a`, batched over seeds.

    Shapes: z (S, n, d), target and weight (S, n); returns u (S, d).  Starts at :math:`u = 0`.
    Stops when the primal gradient norm :math:`\|Z^\top r\| = \sqrt{r^\top G r}` is below
    ``tol``."""
    if not lam > 0.0:
        raise ValueError(f"the sample-space solver needs lambda > 0, got {lam!r}")
    S, n, _ = z.shape
    gram = torch.einsum("smd,snd->smn", z, z)
    eye = torch.eye(n, dtype=z.dtype, device=z.device)

    def objective(a):
        return _dual_objective(a, gram, target, weight, lam)

    def newton_step(a):
        p = torch.sigmoid(torch.einsum("smn,sn->sm", gram, a))
        r = weight * (p - target) + lam * a
        grad_norm = torch.einsum("sm,smn,sn->s", r, gram, r).clamp_min(0.0).sqrt()
        system = (weight * p * (1.0 - p)).unsqueeze(-1) * gram + lam * eye
        return grad_norm, torch.linalg.solve(system, r.unsqueeze(-1)).squeeze(-1)

    a = newton.minimise(objective, newton_step, torch.zeros(S, n, dtype=z.dtype, device=z.device),
                        max_steps, tol)
    return torch.einsum("sn,snd->sd", a, z)


def fit_ridge_logistic(
    z: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, lam: float
) -> torch.Tensor:
    r"""The same minimiser from :math:`u = 0` by whichever Newton method is cheaper: in
    parameter space (:func:`srlm_core.model.dpo.fit_logistic`, :math:`O(d^3)` per step) when
    :math:`d \le n`, in sample space (:func:`fit_logistic_dual`, :math:`O(n^3)` per step) when
    :math:`d > n`."""
    S, n, d = z.shape
    if d <= n:
        u0 = torch.zeros(S, d, dtype=z.dtype, device=z.device)
        return fit_logistic(z, target, weight, lam, u0, max_steps=200)
    return fit_logistic_dual(z, target, weight, lam)
