r"""Linear-softmax policies over a finite response set (the book's model chapter, *Setting*).

.. math::

   \pi_\theta(y|x) = \frac{\exp(\theta \cdot \phi(x, y))}{\sum_{y'} \exp(\theta \cdot \phi(x, y'))},

with prompts :math:`x \sim \rho` over ``C`` contexts, ``K`` responses per prompt and features
:math:`\phi \in \mathbb R^d`, :math:`\|\phi\|_2 \le 1`.  The true reward is
:math:`r^*(x, y) = \beta\, w^* \cdot \phi(x, y)` and the KL-regularised target is
:math:`\pi^* = \pi_{\theta^*}` with :math:`\theta^* = \theta_{\mathrm{ref}} + w^*`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch

from srlm_core.errors import require
from srlm_core.options import option

DTYPE = torch.float64
#: Largest beta and signal (and a run's init_dist and lam): logits of this size already make
#: every policy and every judge label deterministic in float64 (the sigmoid saturates near 37).
MAX_SCALE = 1e4
#: Seeds stay below this: torch's generators take signed 64-bit seeds, and the initial
#: direction and the per-seed loops add small offsets.
MAX_SEED = 2**62


@dataclass(frozen=True)
class LinearSoftmaxProblem:
    """One instance of the model world."""

    features: torch.Tensor  #: :math:`\phi`, shape (C, K, d)
    context_probs: torch.Tensor  #: :math:`\rho`, shape (C,)
    #: parameters of the reference policy :math:`\pi_{\mathrm{ref}}`, shape (d,)
    theta_ref: torch.Tensor
    #: true reward direction, :math:`r^* = \beta\, w^* \cdot \phi`, shape (d,)
    w_star: torch.Tensor
    beta: float  #: KL strength :math:`\beta`

    @property
    def dim(self) -> int:
        """The feature dimension d."""
        return self.features.shape[-1]

    @property
    def theta_star(self) -> torch.Tensor:
        r""":math:`\theta^* = \theta_{\mathrm{ref}} + w^*`: the KL-regularised optimum
        :math:`\pi^* \propto \pi_{\mathrm{ref}} \exp(r^* / \beta)`."""
        return self.theta_ref + self.w_star

    def logits(self, theta: torch.Tensor) -> torch.Tensor:
        r""":math:`\theta \cdot \phi(x, y)` for theta of shape (..., d); returns (..., C, K)."""
        return torch.einsum("ckd,...d->...ck", self.features, theta)

    def log_probs(self, theta: torch.Tensor) -> torch.Tensor:
        r""":math:`\log \pi_\theta(y|x)`, shape (..., C, K)."""
        return torch.log_softmax(self.logits(theta), dim=-1)

    def true_reward(self) -> torch.Tensor:
        r""":math:`r^*(x, y) = \beta\, w^* \cdot \phi(x, y)`, shape (C, K)."""
        return self.beta * self.logits(self.w_star)

    def to(self, device: torch.device) -> LinearSoftmaxProblem:
        """The same problem with its tensors on ``device``."""
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


@dataclass(frozen=True)
class ProblemConfig:
    """A random problem of the model world (:func:`make_problem`); an experiment's config
    holds one nested (:func:`srlm_core.options.nested`)."""

    d: int = option(8, "feature dimension")
    K: int = option(8, "responses per prompt")
    contexts: int = option(32, "prompts")
    beta: float = option(1.0, "KL strength beta")
    signal: float = option(1.0, "norm of the target w*")
    seed: int = option(0, "seed of the problem (instance i of a sweep uses seed + i)")

    def checks(self) -> list[tuple[str, bool, str]]:
        """The rules :meth:`validate` applies, as (field, holds, message)."""
        scale = f"must be finite and at most {MAX_SCALE:g}"
        return [
            ("beta", self.beta > 0.0 and math.isfinite(self.beta), "must be positive"),
            ("beta", self.beta <= MAX_SCALE, scale),
            ("d", self.d >= 1, "must be >= 1"),
            ("K", self.K >= 2, "must be >= 2"),
            ("contexts", self.contexts >= 1, "must be >= 1"),
            ("signal", self.signal >= 0.0, "must be >= 0"),
            ("signal", self.signal <= MAX_SCALE, scale),
            ("seed", self.seed >= 0, "must be >= 0"),
            ("seed", self.seed < MAX_SEED, "must be below 2**62 (torch generators take 64 bits)"),
        ]

    def validate(self) -> ProblemConfig:
        """Raise :class:`~srlm_core.errors.ConfigError` naming the first invalid field."""
        require(self, *self.checks())
        return self

    def instance(self, i: int) -> ProblemConfig:
        """Instance ``i`` of a sweep over random problems: the same sizes, seed ``seed + i``."""
        return replace(self, seed=self.seed + i)

    def make(self) -> LinearSoftmaxProblem:
        """The problem itself (:func:`make_problem`)."""
        return make_problem(d=self.d, K=self.K, contexts=self.contexts, beta=self.beta,
                            signal=self.signal, seed=self.seed)


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
    r"""Draw a problem: unit-norm random features (or one-hot, the tabular case), uniform
    :math:`\rho`, :math:`\theta_{\mathrm{ref}} = 0` and a true reward direction :math:`w^*` of
    norm ``signal``.

    Identifiability of :math:`\theta` from pairs needs the differences
    :math:`\phi(x, y) - \phi(x, y')` to span :math:`\mathbb R^d`, i.e.
    ``contexts * (K - 1) >= d`` for random features.
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
    r""":math:`\theta_0 = \theta^* + D u` with :math:`D` = ``init_dist`` and :math:`u` a seeded
    random unit direction, so that :math:`\|\theta_0 - \theta^*\|_2 = D` (the initial model's
    quality)."""
    g = torch.Generator().manual_seed(seed + 7919)
    u = random_unit_vectors((problem.dim,), g).to(problem.features.device)
    return problem.theta_star + init_dist * u
