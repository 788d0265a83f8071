r"""The self-judge and Bradley-Terry pair sampling (the book's model chapter, *Self-judge* and
*Data*).

At iteration :math:`t` the model scores responses itself,

.. math::

   r_t(x, y) = \alpha\, r^*(x, y)
   + (1 - \alpha)\, \beta \log \frac{\pi_t(y|x)}{\pi_{\mathrm{ref}}(y|x)},

with signal share :math:`\alpha \in (0, 1]` and self-preference :math:`1 - \alpha`.  A training
triple is :math:`x \sim \rho`, :math:`y, y' \sim \pi_t(\cdot|x)` independently, and label
:math:`l \sim \operatorname{Bernoulli}(\sigma(r_t(x, y) - r_t(x, y')))`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from srlm_core.model.policy import LinearSoftmaxProblem


def judge_rewards(
    problem: LinearSoftmaxProblem, theta: torch.Tensor, alpha: float
) -> torch.Tensor:
    r""":math:`r_t(x, y)` for every context and response; theta (..., d) -> (..., C, K).

    The self-preference term is measured against the fixed :math:`\pi_{\mathrm{ref}}` of the
    problem, also when DPO itself uses a moving reference (against :math:`\pi_t` itself it
    would vanish identically).
    """
    self_pref = problem.log_probs(theta) - problem.log_probs(problem.theta_ref)
    return alpha * problem.true_reward() + (1.0 - alpha) * problem.beta * self_pref


@dataclass(frozen=True)
class PreferencePairs:
    """n labelled pairs per seed."""

    contexts: torch.Tensor  #: the prompts x, shape (S, n)
    first: torch.Tensor  #: the responses y, shape (S, n)
    second: torch.Tensor  #: the responses y', shape (S, n)
    label: torch.Tensor  #: 1.0 where y is preferred to y', else 0.0, shape (S, n)

    def feature_differences(self, problem: LinearSoftmaxProblem) -> torch.Tensor:
        r""":math:`\phi(x, y) - \phi(x, y')`, shape (S, n, d)."""
        phi = problem.features
        return phi[self.contexts, self.first] - phi[self.contexts, self.second]


def _sample_rows(probs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One categorical draw per row of ``probs`` (..., K) -> (...)."""
    flat = probs.reshape(-1, probs.shape[-1])
    return torch.multinomial(flat, 1, generator=generator).reshape(probs.shape[:-1])


def sample_pairs(
    problem: LinearSoftmaxProblem,
    theta: torch.Tensor,
    alpha: float,
    n: int,
    generator: torch.Generator,
) -> PreferencePairs:
    """Draw n self-judged triples for each of the S parameter vectors in theta (S, d)."""
    S = theta.shape[0]
    probs = problem.log_probs(theta).exp()  # (S, C, K)
    rho = problem.context_probs.expand(S, -1)
    contexts = torch.multinomial(rho, n, replacement=True, generator=generator)  # (S, n)
    seed_index = torch.arange(S, device=theta.device)[:, None]
    row_probs = probs[seed_index, contexts]  # (S, n, K)
    first = _sample_rows(row_probs, generator)
    second = _sample_rows(row_probs, generator)
    rewards = judge_rewards(problem, theta, alpha)  # (S, C, K)
    margin = rewards[seed_index, contexts, first] - rewards[seed_index, contexts, second]
    uniform = torch.rand(
        margin.shape, generator=generator, dtype=margin.dtype, device=margin.device
    )
    label = (uniform < torch.sigmoid(margin)).to(margin.dtype)
    return PreferencePairs(contexts=contexts, first=first, second=second, label=label)
