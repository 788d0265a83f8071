"""Linear-softmax policies over a finite response set (theory.md, *Setting*).

pi_theta(y|x) = exp(theta . phi(x, y)) / sum_y' exp(theta . phi(x, y')), with prompts
x ~ rho over ``C`` contexts, ``K`` responses per prompt and features phi in R^d,
||phi||_2 <= 1.  The true reward is r*(x, y) = beta w* . phi(x, y) and the KL-regularised
target is pi* = pi_{theta*} with theta* = theta_ref + w*.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

DTYPE = torch.float64


@dataclass(frozen=True)
class LinearSoftmaxProblem:
    """One instance of the model world.

    Attributes:
        features: phi, shape (C, K, d).
        context_probs: rho, shape (C,).
        theta_ref: parameters of the reference policy pi_ref, shape (d,).
        w_star: true reward direction, r* = beta w* . phi, shape (d,).
        beta: KL strength.
    """

    features: torch.Tensor
    context_probs: torch.Tensor
    theta_ref: torch.Tensor
    w_star: torch.Tensor
    beta: float

    @property
    def dim(self) -> int:
        return self.features.shape[-1]

    @property
    def theta_star(self) -> torch.Tensor:
        """theta* = theta_ref + w*: the KL-regularised optimum pi* ∝ pi_ref exp(r*/beta)."""
        return self.theta_ref + self.w_star

    def logits(self, theta: torch.Tensor) -> torch.Tensor:
        """theta . phi(x, y) for theta of shape (..., d); returns (..., C, K)."""
        return torch.einsum("ckd,...d->...ck", self.features, theta)

    def log_probs(self, theta: torch.Tensor) -> torch.Tensor:
        """log pi_theta(y|x), shape (..., C, K)."""
        return torch.log_softmax(self.logits(theta), dim=-1)

    def true_reward(self) -> torch.Tensor:
        """r*(x, y) = beta w* . phi(x, y), shape (C, K)."""
        return self.beta * self.logits(self.w_star)

    def to(self, device: torch.device) -> LinearSoftmaxProblem:
        return LinearSoftmaxProblem(
            features=self.features.to(device),
            context_probs=self.context_probs.to(device),
            theta_ref=self.theta_ref.to(device),
            w_star=self.w_star.to(device),
            beta=self.beta,
        )


def random_unit_vectors(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """Gaussian vectors normalised to unit Euclidean norm along the last axis."""
    v = torch.randn(shape, generator=generator, dtype=DTYPE)
    return v / v.norm(dim=-1, keepdim=True)


def make_problem(
    *,
    d: int,
    K: int,
    contexts: int,
    beta: float = 1.0,
    signal: float = 1.0,
    seed: int = 0,
    tabular: bool = False,
) -> LinearSoftmaxProblem:
    """Draw a problem: unit-norm random features (or one-hot, the tabular case), uniform rho,
    theta_ref = 0 and a true reward direction w* of norm ``signal``.

    Identifiability of theta from pairs needs the differences phi(x,y) - phi(x,y') to span
    R^d, i.e. ``contexts * (K - 1) >= d`` for random features.
    """
    g = torch.Generator().manual_seed(seed)
    if tabular:
        features = torch.eye(contexts * K, dtype=DTYPE).reshape(contexts, K, contexts * K)
        d = contexts * K
    else:
        features = random_unit_vectors((contexts, K, d), g)
    w_star = signal * random_unit_vectors((d,), g)
    return LinearSoftmaxProblem(
        features=features,
        context_probs=torch.full((contexts,), 1.0 / contexts, dtype=DTYPE),
        theta_ref=torch.zeros(d, dtype=DTYPE),
        w_star=w_star,
        beta=beta,
    )


def initial_parameters(
    problem: LinearSoftmaxProblem, init_dist: float, seed: int = 0
) -> torch.Tensor:
    """theta_0 = theta* + init_dist * u with u a seeded random unit direction, so that
    ||theta_0 - theta*||_2 = init_dist (the initial model's quality)."""
    g = torch.Generator().manual_seed(seed + 7919)
    u = random_unit_vectors((problem.dim,), g).to(problem.features.device)
    return problem.theta_star + init_dist * u
