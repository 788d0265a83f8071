"""Damped Newton's method for a batch of smooth convex objectives (the DPO solvers).

The DPO solvers, in parameter space (:func:`srlm_core.model.dpo.fit_logistic`), on pair counts
(:func:`srlm_core.model.pair_counts.fit_logistic_counts`) and in sample space
(:func:`srlm_core.model.dual_logistic.fit_logistic_dual`), minimise one strictly convex
objective per seed.  They share this loop: take the Newton step :math:`x - s\\,H^{-1}g` with
:math:`s = 1`, and halve :math:`s` for the seeds whose objective would rise (backtracking),
until every seed's gradient norm is below ``tol``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

#: Most step halvings per Newton step: 2^-40 of a Newton step is below float64 resolution.
MAX_HALVINGS = 40


def minimise(
    objective: Callable[[torch.Tensor], torch.Tensor],
    newton_step: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
    x0: torch.Tensor,
    max_steps: int,
    tol: float,
) -> torch.Tensor:
    """Minimise ``objective`` (batch (S, k) -> (S,)) from ``x0``.

    ``newton_step(x)`` returns the gradient norms (S,) and the Newton steps :math:`H^{-1}g`
    (S, k).  Stops after ``max_steps`` steps or when every gradient norm is below ``tol``."""
    x = x0.clone()
    value = objective(x)
    for _ in range(max_steps):
        grad_norm, step = newton_step(x)
        if grad_norm.max() < tol:
            break
        scale = torch.ones(x.shape[0], 1, dtype=x.dtype, device=x.device)
        for _ in range(MAX_HALVINGS):  # backtrack where the full step would not decrease it
            candidate = x - scale * step
            new_value = objective(candidate)
            worse = new_value > value + 1e-14
            if not worse.any():
                break
            scale = torch.where(worse[:, None], scale / 2, scale)
        x, value = candidate, new_value
    return x
