r"""Judges that break the theory's assumptions (the book's chapter *When self-rewarding fails*).

The theory's judge (:func:`srlm_core.model.judge.judge_rewards`) is

.. math::

   r_t(x, y) = \alpha\, r^*(x, y) + (1 - \alpha)\, \ell_t(x, y),
   \qquad \ell_t(x, y) = \beta \log \frac{\pi_t(y|x)}{\pi_{\mathrm{ref}}(y|x)},

and a pair's label is :math:`\operatorname{Bernoulli}(\sigma(r_t(x, y) - r_t(x, y')))`.  A
:class:`JudgeVariant` departs from it in one way, of size ``strength`` (:math:`s`):

``bias``
    a feature bias unrelated to :math:`r^*`, :math:`r_t + b\,\psi(x, y)` with :math:`b = s` and
    :math:`\psi(x, y) = c_\psi \cdot \phi(x, y)`, :math:`c_\psi` a seeded unit vector
    (:func:`bias_direction`; a "length" feature inside the feature span);
``saturating`` / ``amplifying``
    a nonlinear self-preference :math:`\alpha r^* + (1 - \alpha)\, g(\bar\ell_t)` with
    :math:`g(z) = \tanh(s z) / s` (saturating) or :math:`g(z) = \sinh(s z) / s` (amplifying),
    applied to the per-prompt centred log-ratio
    :math:`\bar\ell_t(x, y) = \ell_t(x, y) - \frac1K \sum_{y'} \ell_t(x, y')
    = \beta\, u_t \cdot (\phi(x, y) - \bar\phi(x))` (a judge sees no normalisers; for the
    identity the centring changes no margin), :math:`u_t = \theta_t - \theta_{\mathrm{ref}}`;
``confidence_noise``
    the judge's logit gets Gaussian noise that grows with the model's confidence in the pair,
    :math:`\ell \sim \operatorname{Bernoulli}(\sigma(m + \varepsilon))`,
    :math:`\varepsilon \sim N(0, \varsigma^2)`, :math:`\varsigma = s\, |\ell_t(x, y) -
    \ell_t(x, y')| = s\,\beta\,|u_t \cdot \Delta|`.  Drawn independently per pair, the noise
    leaves labels that are exactly :math:`\operatorname{Bernoulli}(\mathbb E_\varepsilon
    \sigma(m + \varepsilon))`: :func:`pair_probabilities` computes that mean by Gauss-Hermite
    quadrature, so population and finite-n runs both use it.

``theory`` (or ``strength = 0``) is the theory's judge; :class:`VariantRunner` then runs the
unchanged :class:`~srlm_core.model.self_rewarding.SelfRewardingRunner` step, bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from srlm_core.errors import ConfigError, require
from srlm_core.model.dpo import dpo_update, fit_logistic
from srlm_core.model.judge import PreferencePairs, judge_rewards
from srlm_core.model.pair_counts import PairCounts
from srlm_core.model.policy import DTYPE, LinearSoftmaxProblem, random_unit_vectors
from srlm_core.model.self_rewarding import SelfRewardingRunner, SimulationConfig

#: the kinds of judge: the theory's and its four departures
KINDS = ("theory", "bias", "saturating", "amplifying", "confidence_noise")
#: Gauss-Hermite nodes for the mean of the noisy judge's sigmoid
QUADRATURE_NODES = 48
#: offset of the seed of the bias direction c_psi from the problem's seed
BIAS_SEED_OFFSET = 104729


@dataclass(frozen=True)
class JudgeVariant:
    """One departure from the theory's judge: ``kind`` (one of :data:`KINDS`) and its
    ``strength`` s (b for ``bias``, the curvature s of g for ``saturating`` and
    ``amplifying``, the noise-per-confidence s for ``confidence_noise``)."""

    kind: str = "theory"
    strength: float = 0.0

    def validate(self) -> JudgeVariant:
        """Raise :class:`~srlm_core.errors.ConfigError` naming the invalid field."""
        require(self, ("kind", self.kind in KINDS, f"must be one of {', '.join(KINDS)}"),
                ("strength", math.isfinite(self.strength), "must be finite"),
                ("strength", self.kind == "bias" or self.strength >= 0.0, "must be >= 0"))
        return self

    @property
    def is_theory(self) -> bool:
        """Whether this is the theory's judge (kind ``theory`` or strength 0)."""
        return self.kind == "theory" or self.strength == 0.0

    def g(self, z: torch.Tensor) -> torch.Tensor:
        r"""The self-preference function: :math:`\tanh(sz)/s`, :math:`\sinh(sz)/s` or
        :math:`z`."""
        s = self.strength
        if self.kind == "saturating" and s > 0:
            return torch.tanh(s * z) / s
        if self.kind == "amplifying" and s > 0:
            return torch.sinh(s * z) / s
        return z


def bias_direction(d: int, seed: int) -> torch.Tensor:
    r""":math:`c_\psi`: a unit vector drawn from ``seed + BIAS_SEED_OFFSET``, independent of
    :math:`w^*` (which the problem draws from ``seed``)."""
    g = torch.Generator().manual_seed(seed + BIAS_SEED_OFFSET)
    return random_unit_vectors((d,), g)


def centred_log_ratio(problem: LinearSoftmaxProblem, theta: torch.Tensor) -> torch.Tensor:
    r""":math:`\bar\ell_t(x, y) = \beta\,(\theta - \theta_{\mathrm{ref}}) \cdot
    (\phi(x, y) - \bar\phi(x))`, shape (..., C, K)."""
    logits = problem.logits(theta - problem.theta_ref)
    return problem.beta * (logits - logits.mean(-1, keepdim=True))


def variant_rewards(variant: JudgeVariant, problem: LinearSoftmaxProblem, theta: torch.Tensor,
                    alpha: float, direction: torch.Tensor | None = None) -> torch.Tensor:
    r"""The judge's scores :math:`r_t(x, y)`, shape (..., C, K): the theory's
    (:func:`~srlm_core.model.judge.judge_rewards`) plus :math:`b\,c_\psi \cdot \phi` for
    ``bias``, or :math:`\alpha r^* + (1 - \alpha) g(\bar\ell_t)` for the nonlinear kinds.
    (``confidence_noise`` scores like the theory; its noise is in :func:`pair_probabilities`.)
    """
    if variant.kind in ("saturating", "amplifying") and not variant.is_theory:
        ell = centred_log_ratio(problem, theta)
        return alpha * problem.true_reward() + (1.0 - alpha) * variant.g(ell)
    rewards = judge_rewards(problem, theta, alpha)
    if variant.kind == "bias" and not variant.is_theory:
        rewards = rewards + variant.strength * problem.logits(direction)
    return rewards


def pair_probabilities(variant: JudgeVariant, problem: LinearSoftmaxProblem,
                       theta: torch.Tensor, alpha: float,
                       direction: torch.Tensor | None = None) -> torch.Tensor:
    r""":math:`P(y \succ y' \mid x)`, shape (S, C, K, K): :math:`\sigma(m)` with
    :math:`m = r_t(x, y) - r_t(x, y')`, or for ``confidence_noise``
    :math:`\mathbb E\,\sigma(m + \varsigma Z) = \pi^{-1/2} \sum_i w_i\,
    \sigma(m + \sqrt2\, \varsigma z_i)` (Gauss-Hermite nodes :math:`z_i`, weights :math:`w_i`),
    :math:`\varsigma = s\,|\ell_t(x, y) - \ell_t(x, y')|`."""
    rewards = variant_rewards(variant, problem, theta, alpha, direction)
    margin = rewards.unsqueeze(-1) - rewards.unsqueeze(-2)
    if variant.kind != "confidence_noise" or variant.is_theory:
        return torch.sigmoid(margin)
    ell = problem.beta * problem.logits(theta - problem.theta_ref)
    spread = variant.strength * (ell.unsqueeze(-1) - ell.unsqueeze(-2)).abs()
    nodes, weights = np.polynomial.hermite.hermgauss(QUADRATURE_NODES)
    z = torch.as_tensor(nodes * math.sqrt(2.0), dtype=margin.dtype, device=margin.device)
    w = torch.as_tensor(weights / math.sqrt(math.pi), dtype=margin.dtype, device=margin.device)
    return (torch.sigmoid(margin.unsqueeze(-1) + spread.unsqueeze(-1) * z) * w).sum(-1)


def variant_population_update(variant: JudgeVariant, problem: LinearSoftmaxProblem,
                              theta: torch.Tensor, alpha: float, lam: float,
                              theta_reference: torch.Tensor,
                              direction: torch.Tensor | None = None) -> torch.Tensor:
    r"""The :math:`n = \infty` DPO step of
    :func:`~srlm_core.model.self_rewarding.population_update` with the soft labels
    :func:`pair_probabilities` of the variant: the logistic regression of
    :math:`\sigma(\beta u \cdot \Delta)` on them, weighted by
    :math:`\rho(x) \pi_t(y|x) \pi_t(y'|x)`."""
    S = theta.shape[0]
    phi = problem.features
    dphi = (phi.unsqueeze(2) - phi.unsqueeze(1)).reshape(-1, problem.dim)
    probs = problem.log_probs(theta).exp()
    weight = problem.context_probs[:, None, None] * probs.unsqueeze(-1) * probs.unsqueeze(-2)
    target = pair_probabilities(variant, problem, theta, alpha, direction)
    z = problem.beta * dphi.expand(S, -1, -1)
    u0 = (theta - theta_reference).expand_as(theta)
    u = fit_logistic(z, target.reshape(S, -1), weight.reshape(S, -1), lam, u0)
    return theta_reference + u


def _sample_rows(probs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    flat = probs.reshape(-1, probs.shape[-1])
    return torch.multinomial(flat, 1, generator=generator).reshape(probs.shape[:-1])


def sample_variant_pairs(variant: JudgeVariant, problem: LinearSoftmaxProblem,
                         theta: torch.Tensor, alpha: float, n: int,
                         generator: torch.Generator,
                         direction: torch.Tensor | None = None) -> PreferencePairs:
    r"""n triples per seed as :func:`~srlm_core.model.judge.sample_pairs`:
    :math:`x \sim \rho`, :math:`y, y' \sim \pi_t(\cdot|x)`, label
    :math:`\operatorname{Bernoulli}(P(y \succ y' \mid x))` from :func:`pair_probabilities`."""
    S = theta.shape[0]
    probs = problem.log_probs(theta).exp()
    rho = problem.context_probs.expand(S, -1)
    contexts = torch.multinomial(rho, n, replacement=True, generator=generator)
    seed_index = torch.arange(S, device=theta.device)[:, None]
    row_probs = probs[seed_index, contexts]
    first = _sample_rows(row_probs, generator)
    second = _sample_rows(row_probs, generator)
    win = pair_probabilities(variant, problem, theta, alpha, direction)
    p = win[seed_index, contexts, first, second]
    uniform = torch.rand(p.shape, generator=generator, dtype=p.dtype, device=p.device)
    label = (uniform < p).to(p.dtype)
    return PreferencePairs(contexts=contexts, first=first, second=second, label=label)


class VariantRunner(SelfRewardingRunner):
    """:class:`~srlm_core.model.self_rewarding.SelfRewardingRunner` with the judge replaced
    by ``judge``; the theory's judge runs the parent's step unchanged.  Finite n uses the
    per-sample engine (whatever ``engine`` says)."""

    def __init__(self, config: SimulationConfig, judge: JudgeVariant = JudgeVariant(),
                 problem: LinearSoftmaxProblem | None = None):
        super().__init__(config, problem)
        self.judge = judge.validate()
        self.direction = bias_direction(self.problem.dim, config.seed).to(self.device)

    def step(self, theta: torch.Tensor, generator: torch.Generator,
             reference: torch.Tensor) -> torch.Tensor:
        r""":math:`\theta_{t+1}` under the variant judge (population for n = 0, else n
        sampled pairs and the finite-sample DPO step)."""
        c, p, j = self.config, self.problem, self.judge
        if j.is_theory:
            return super().step(theta, generator, reference)
        if c.n == 0:
            return variant_population_update(j, p, theta, c.alpha, c.lam, reference,
                                             self.direction)
        pairs = sample_variant_pairs(j, p, theta, c.alpha, c.n, generator, self.direction)
        theta_next = dpo_update(pairs.feature_differences(p), pairs.label, p.beta, c.lam,
                                reference, theta)
        if c.lam == 0.0:
            self._require_mle(PairCounts.from_pairs(pairs, p), theta_next - reference)
        return theta_next


def two_response_problem(w: float = 1.0, beta: float = 1.0) -> LinearSoftmaxProblem:
    r"""The scalar world of the derivations: one prompt, two responses with features
    :math:`\pm\tfrac12` (so :math:`\Delta = 1`), :math:`\theta_{\mathrm{ref}} = 0` and
    :math:`w^* =` ``w``.  One pair direction makes the population DPO step exact:
    :math:`\beta u_{t+1} = \operatorname{logit} P(y_1 \succ y_2)`."""
    if beta <= 0:
        raise ConfigError("beta", f"must be positive, got {beta!r}")
    return LinearSoftmaxProblem(
        features=torch.tensor([[[0.5], [-0.5]]], dtype=DTYPE),
        context_probs=torch.ones(1, dtype=DTYPE),
        theta_ref=torch.zeros(1, dtype=DTYPE),
        w_star=torch.tensor([w], dtype=DTYPE),
        beta=beta,
    )
