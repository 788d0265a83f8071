"""The controlled self-judge of the controlled-alpha experiment, and its pair labels.

On a pool prompt with answers y_1..y_K, checker verdicts g_i and the policy's log-ratio
against the initial model h_t(y_i) = log pi_t(y_i|x) - log pi_0(y_i|x), the judge's reward is

    r_t(y) = alpha * c * g(y) + (1 - alpha) * h_t(y)

(the book's self-judge with beta = 1 and true reward r*(y) = c g(y): signal share alpha,
self-preference 1 - alpha).  Every within-prompt pair gets the Bradley-Terry soft label
p_ij = sigma(r_t(y_i) - r_t(y_j)) (the population, n = infinity, labels) or one Bernoulli
draw of it (the finite-sample labels).
"""

from __future__ import annotations

import torch

LABELS = ("soft", "bernoulli")


def judge_rewards(g: torch.Tensor, h: torch.Tensor, alpha: float, scale: float) -> torch.Tensor:
    """r_t = alpha c g + (1 - alpha) h_t, elementwise."""
    return alpha * scale * g + (1.0 - alpha) * h


def soft_labels(rewards: torch.Tensor) -> torch.Tensor:
    """(K, K) matrix of p_ij = sigma(r_i - r_j) for one prompt's K answers."""
    return torch.sigmoid(rewards[:, None] - rewards[None, :])


def bernoulli_labels(labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One Bernoulli(p_ij) draw per unordered pair i < j; the (K, K) result is antisymmetric
    in the sense l_ji = 1 - l_ij (the diagonal keeps 1/2, unused)."""
    draw = torch.bernoulli(labels, generator=generator)
    upper = torch.triu(draw, diagonal=1)
    out = upper + torch.tril(1.0 - upper.T, diagonal=-1)
    return out + 0.5 * torch.eye(len(labels), dtype=labels.dtype)
