r"""The DPO round on pair counts: a sampler and solvers whose cost does not grow with n.

The model world has finitely many triples :math:`(x, y, y')`, and the DPO loss of a pair and of
its reverse are related by :math:`l(-s; 1 - l) = l(s; l)`, so the n self-judged pairs of a round
(:func:`srlm_core.model.judge.sample_pairs`) are summarised without loss, per context x and
unordered pair :math:`y < y'`, by the number :math:`M_{xyy'}` of pairs drawn on
:math:`\{y, y'\}` (either order) and the number :math:`V_{xyy'}` of them that :math:`y` won.
Pairs with :math:`y = y'` carry no information and fall into one bin of ties:

.. math::

   (M, \text{ties}) \sim \operatorname{Multinomial}\big(n;\;
   (2 \rho(x) \pi_t(y|x) \pi_t(y'|x))_{x, y < y'},\;
   \textstyle\sum_{x, y} \rho(x) \pi_t(y|x)^2\big), \qquad
   V \,|\, M \sim \operatorname{Binomial}\big(M,\; \sigma(r_t(x, y) - r_t(x, y'))\big),

because y wins a pair on :math:`\{y, y'\}` with probability
:math:`\sigma(r_t(x, y) - r_t(x, y'))` in either order.  Drawing these counts
(:func:`sample_pair_counts`) is exact in distribution and costs :math:`O(C K^2)` per seed
whatever n.  With :math:`l(s; p) = \log(1 + e^s) - p s` the DPO objective of
:func:`srlm_core.model.dpo.logistic_objective` on the n pairs is

.. math::

   \sum_x \sum_{y < y'} \Big[\frac{M_{xyy'}}{n} \log(1 + e^{s_{xyy'}})
   - \frac{V_{xyy'}}{n} s_{xyy'}\Big] + \frac\lambda2 \|u\|^2,
   \qquad s_{xyy'} = a_{xy} - a_{xy'}, \quad a_x = \beta\, \Phi_x u,

with :math:`\Phi_x` the :math:`K \times d` feature rows of context x: weights :math:`M / n` and
soft targets :math:`V / M` (the population update has weights :math:`2 \rho \pi_t \pi_t` and
targets :math:`\sigma(r_t - r_t')`).  Its Hessian over the pairs collapses, per context, to a
weighted graph Laplacian of the K feature rows,

.. math::

   \beta^2 \sum_x \Phi_x^\top \big(\operatorname{diag}(D \mathbf 1 + D^\top \mathbf 1)
   - D - D^\top\big) \Phi_x, \qquad D_{yy'} = \frac{M_{xyy'}}{n}\, \sigma(s_{xyy'})
   (1 - \sigma(s_{xyy'})) \ (y < y'),

so a Newton step costs :math:`O(C (K^2 d + K d^2) + d^3)` per seed instead of
:math:`O(n d^2)` (:func:`fit_logistic_counts`).  With a ridge and d above the number m of
distinct pairs in the sample, the sample-space solver
(:func:`srlm_core.model.dual_logistic.fit_logistic_dual`) runs on those m pairs instead of the
n samples (:func:`fit_ridge_logistic_counts`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from srlm_core.model import newton
from srlm_core.model.dual_logistic import fit_logistic_dual
from srlm_core.model.judge import PreferencePairs, judge_rewards
from srlm_core.model.policy import LinearSoftmaxProblem
from srlm_core.model.separation import mle_exists

#: Jitter added to the Newton system, as in :func:`srlm_core.model.dpo.fit_logistic`.
JITTER = 1e-10
#: Seeds whose Hessian at the estimate has a smallest eigenvalue below this share of its trace
#: at zero are checked for separation exactly (:func:`mle_missing`).
SUSPECT_RATIO = 1e-6
#: Elements of the per-context intermediates computed at once: the Hessian is built over
#: blocks of seeds that fit in the processor cache, so batching seeds does not lose to a loop.
BLOCK_ELEMENTS = 2**17


def pair_index(K: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The unordered pairs :math:`y < y'` of K responses, in the order of the last axis of
    :class:`PairCounts`: two index tensors of length :math:`P = K (K - 1) / 2`."""
    first, second = torch.triu_indices(K, K, offset=1, device=device)
    return first, second


def incidence(K: int, dtype=torch.float64, device=None) -> torch.Tensor:
    r"""The :math:`K \times P` incidence matrix E of the pairs: :math:`E_{y p} = 1` and
    :math:`E_{y' p} = -1` for pair :math:`p = (y, y')`, so that :math:`s = a E`."""
    first, second = pair_index(K, device)
    E = torch.zeros(K, len(first), dtype=dtype, device=device)
    columns = torch.arange(len(first), device=device)
    E[first, columns] = 1.0
    E[second, columns] = -1.0
    return E


def pair_features(z_features: torch.Tensor) -> torch.Tensor:
    r""":math:`z_y - z_{y'}` for every context and pair :math:`y < y'`: (C, K, d) -> (C, P, d)."""
    first, second = pair_index(z_features.shape[1], z_features.device)
    return z_features[:, first] - z_features[:, second]


@dataclass(frozen=True)
class PairCounts:
    r"""The n labelled pairs of each seed as counts per context and unordered pair."""

    n: int  #: pairs per seed, ties included
    counts: torch.Tensor  #: :math:`M_{xyy'}`, pairs drawn on :math:`\{y, y'\}`, shape (S, C, P)
    wins: torch.Tensor  #: :math:`V_{xyy'}`, those won by y (:math:`y < y'`), shape (S, C, P)

    def weights(self) -> torch.Tensor:
        r"""The weights :math:`M / n` of the count objective, shape (S, C, P)."""
        return self.counts / self.n

    def targets(self) -> torch.Tensor:
        r"""The soft targets :math:`V / M` (0 where no pair was drawn), shape (S, C, P)."""
        return torch.where(self.counts > 0, self.wins / self.counts.clamp_min(1.0), 0.0)

    @classmethod
    def from_pairs(cls, pairs: PreferencePairs, problem: LinearSoftmaxProblem) -> PairCounts:
        """The counts of a per-sample draw (:func:`srlm_core.model.judge.sample_pairs`)."""
        C, K = problem.features.shape[:2]
        S, n = pairs.label.shape
        first, second = pair_index(K, pairs.label.device)
        P = len(first)
        lookup = torch.zeros(K, K, dtype=torch.long, device=pairs.label.device)
        lookup[first, second] = lookup[second, first] = torch.arange(P, device=lookup.device)
        cell = pairs.contexts * P + lookup[pairs.first, pairs.second]
        informative = (pairs.first != pairs.second).to(pairs.label.dtype)
        won = torch.where(pairs.first < pairs.second, pairs.label, 1.0 - pairs.label)
        counts = torch.zeros(S, C * P, dtype=pairs.label.dtype, device=pairs.label.device)
        wins = torch.zeros_like(counts)
        counts.scatter_add_(1, cell, informative)
        wins.scatter_add_(1, cell, won * informative)
        return cls(n, counts.reshape(S, C, P), wins.reshape(S, C, P))


def expected_pair_counts(
    problem: LinearSoftmaxProblem, theta: torch.Tensor, alpha: float, mix: float = 0.0
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The population's weights :math:`2 \rho(x) \pi_t(y|x) \pi_t(y'|x)` and soft targets
    :math:`\sigma(r_t(x, y) - r_t(x, y'))` for theta (S, d), each of shape (S, C, P): the
    limits of :meth:`PairCounts.weights` and :meth:`PairCounts.targets` as n grows.  With
    ``mix`` :math:`= m > 0` the responses are drawn from
    :math:`(1 - m)\pi_t + m\,\pi_{\mathrm{ref}}` instead of :math:`\pi_t` (the judge is
    unchanged)."""
    first, second = pair_index(problem.features.shape[1], theta.device)
    probs = problem.log_probs(theta).exp()
    if mix:
        probs = (1.0 - mix) * probs + mix * problem.log_probs(problem.theta_ref).exp()
    weight = 2.0 * problem.context_probs[:, None] * probs[..., first] * probs[..., second]
    rewards = judge_rewards(problem, theta, alpha)
    return weight, torch.sigmoid(rewards[..., first] - rewards[..., second])


def sample_pair_counts(
    problem: LinearSoftmaxProblem,
    theta: torch.Tensor,
    alpha: float,
    n: int,
    generator: torch.Generator,
    mix: float = 0.0,
) -> PairCounts:
    r"""Draw the counts of n self-judged pairs for each of the S parameter vectors in theta
    (S, d): the distribution of :meth:`PairCounts.from_pairs` of
    :func:`srlm_core.model.judge.sample_pairs` (responses from the mixture of
    :func:`expected_pair_counts` when ``mix`` > 0).

    One multinomial draw of n per seed over :math:`2 C P + 1` outcomes, "pair
    :math:`\{y, y'\}` of x won by y", "won by y'" and a tie, gives V, M - V and the ties at
    once: :math:`O(C K^2)` binomial draws (numpy's exact sampler, seeded from ``generator``)."""
    S = theta.shape[0]
    weight, target = expected_pair_counts(problem, theta, alpha, mix)
    weight = weight / problem.context_probs.sum()  # rho need not be normalised
    w, q = weight.reshape(S, -1).cpu().numpy(), target.reshape(S, -1).cpu().numpy()
    outcomes = np.zeros((S, 2 * w.shape[1] + 1))  # the last, the ties, takes the remainder
    outcomes[:, 0:-1:2] = w * q
    outcomes[:, 1:-1:2] = w - outcomes[:, 0:-1:2]
    seed = torch.randint(2**62, (1,), generator=generator, device=generator.device)
    drawn = np.random.default_rng(int(seed)).multinomial(n, outcomes)[:, :-1].reshape(S, -1, 2)
    wins, counts = drawn[..., 0], drawn.sum(-1)
    return PairCounts(n, *(torch.from_numpy(a.astype(np.float64)).to(weight).reshape(weight.shape)
                           for a in (counts, wins)))


def laplacian_hessian(z_features: torch.Tensor, curvature: torch.Tensor) -> torch.Tensor:
    r"""Per context, :math:`\sum_{y < y'} D_{yy'} (z_y - z_{y'}) (z_y - z_{y'})^\top
    = Z^\top (\operatorname{diag}(D \mathbf 1 + D^\top \mathbf 1) - D - D^\top) Z`, summed over
    contexts.

    Shapes: z_features (C, K, d), the rows :math:`z_y`; curvature (S, C, P), the
    :math:`D_{yy'}` of the pairs :func:`pair_index`; returns (S, d, d).  Seeds are taken in
    blocks of :data:`BLOCK_ELEMENTS`, so that batching them does not lose to a loop."""
    C, K, d = z_features.shape
    first, second = pair_index(K, z_features.device)
    upper, lower = first * K + second, second * K + first
    rows = z_features.reshape(C * K, d).T
    blocks = []
    for part in curvature.split(max(1, BLOCK_ELEMENTS // (C * K * (K + d)))):
        laplacian = part.new_zeros(*part.shape[:-1], K * K)
        laplacian.index_copy_(-1, upper, -part).index_copy_(-1, lower, -part)
        laplacian = laplacian.view(*part.shape[:-1], K, K)
        laplacian.diagonal(dim1=-2, dim2=-1).copy_(-laplacian.sum(-1))
        product = torch.einsum("scij,cjd->scid", laplacian, z_features)
        blocks.append(torch.matmul(rows, product.reshape(-1, C * K, d)))
    return torch.cat(blocks)


def count_objective(
    u: torch.Tensor, z_features: torch.Tensor, target: torch.Tensor, weight: torch.Tensor,
    lam: float,
) -> torch.Tensor:
    r""":func:`srlm_core.model.dpo.logistic_objective` on pairs: the pair :math:`p = (y, y')`
    of context x has :math:`z = z_{xy} - z_{xy'}`.  Shapes: u (S, d), z_features (C, K, d),
    target and weight (S, C, P); returns (S,)."""
    E = incidence(z_features.shape[1], u.dtype, u.device)
    s = torch.einsum("ckd,sd->sck", z_features, u) @ E
    nll = -F.logsigmoid(-s) - target * s
    return (weight * nll).sum((1, 2)) + 0.5 * lam * (u * u).sum(-1)


def fit_logistic_counts(
    z_features: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor,
    lam: float,
    u0: torch.Tensor,
    max_steps: int = 100,
    tol: float = 1e-10,
) -> torch.Tensor:
    r"""Minimise :func:`count_objective` per seed by damped Newton
    (:mod:`srlm_core.model.newton`) with the Laplacian Hessian (:func:`laplacian_hessian`):
    the minimiser of :func:`srlm_core.model.dpo.fit_logistic` on the pairs the counts
    summarise.  ``z_features`` (C, K, d) are :math:`\beta \phi`; the Newton system gets the
    jitter of :func:`srlm_core.model.dpo.fit_logistic`.

    The linear part :math:`\sum w p\, s = b \cdot u` of the objective is computed once."""
    C, K, d = z_features.shape
    flat = z_features.reshape(C * K, d)
    E = incidence(K, u0.dtype, u0.device)
    eye = torch.eye(d, dtype=u0.dtype, device=u0.device)
    b = ((weight * target) @ E.T).reshape(-1, C * K) @ flat  # (S, d)

    def margins(u):
        return torch.einsum("ckd,sd->sck", z_features, u) @ E

    def objective(u):
        s = margins(u)
        return ((weight * -F.logsigmoid(-s)).sum((1, 2)) - (b * u).sum(-1)
                + 0.5 * lam * (u * u).sum(-1))

    def newton_step(u):
        p = torch.sigmoid(margins(u))
        grad = ((weight * p) @ E.T).reshape(-1, C * K) @ flat - b + lam * u
        hess = laplacian_hessian(z_features, weight * p * (1.0 - p)) + (lam + JITTER) * eye
        return grad.norm(dim=-1), torch.linalg.solve(hess, grad.unsqueeze(-1)).squeeze(-1)

    return newton.minimise(objective, newton_step, u0, max_steps, tol)


def distinct_pairs(
    z_features: torch.Tensor, counts: PairCounts
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""The pairs :math:`(x, \{y, y'\})` drawn at least once in each seed, as m weighted rows
    (m the most over seeds; padded with zero rows of zero weight): :math:`z_{xy} - z_{xy'}`,
    target :math:`V / M` and weight :math:`M / n`.  Returns z (S, m, d), target and weight
    (S, m)."""
    S = counts.counts.shape[0]
    drawn = counts.counts.reshape(S, -1)
    occupied = drawn > 0
    m = max(int(occupied.sum(-1).max()), 1)
    order = torch.argsort((~occupied).to(torch.int8), dim=-1, stable=True)[:, :m]
    kept = drawn.gather(1, order)
    z = pair_features(z_features).reshape(-1, z_features.shape[-1])[order]
    z = z * (kept > 0).unsqueeze(-1)
    target = counts.targets().reshape(S, -1).gather(1, order)
    return z, target, kept / counts.n


def fit_ridge_logistic_counts(
    z_features: torch.Tensor, counts: PairCounts, lam: float, u0: torch.Tensor
) -> torch.Tensor:
    r"""The ridge DPO step (:math:`\lambda > 0`) on counts by the cheaper Newton method: in
    parameter space with the Laplacian Hessian (:func:`fit_logistic_counts`) when
    :math:`d \le m`, the number of distinct pairs (:func:`distinct_pairs`), else in sample space
    on those m pairs (:func:`srlm_core.model.dual_logistic.fit_logistic_dual`, :math:`O(m^3)`
    per step with :math:`m \le \min(n, C K (K - 1) / 2)`, starting from :math:`u = 0`)."""
    most = int((counts.counts > 0).sum((1, 2)).max())
    if z_features.shape[-1] <= most:
        return fit_logistic_counts(z_features, counts.targets(), counts.weights(), lam, u0)
    z, target, weight = distinct_pairs(z_features, counts)
    return fit_logistic_dual(z, target, weight, lam)


def dpo_update_counts(
    problem: LinearSoftmaxProblem,
    counts: PairCounts,
    lam: float,
    theta_reference: torch.Tensor,
    theta_init: torch.Tensor,
) -> torch.Tensor:
    r"""One finite-sample DPO step from counts: the :math:`\theta_{t+1}` of
    :func:`srlm_core.model.dpo.dpo_update` on the pairs they summarise.  With
    :math:`\lambda > 0` it takes the cheaper solver (:func:`fit_ridge_logistic_counts`)."""
    z_features = problem.beta * problem.features
    u0 = (theta_init - theta_reference).expand_as(theta_init)
    if lam > 0.0:
        return theta_reference + fit_ridge_logistic_counts(z_features, counts, lam, u0)
    u = fit_logistic_counts(z_features, counts.targets(), counts.weights(), lam, u0)
    return theta_reference + u


def mle_missing(
    problem: LinearSoftmaxProblem, counts: PairCounts, u: torch.Tensor
) -> torch.Tensor:
    r"""For the unpenalised step u (S, d) fitted on ``counts``, a boolean (S,): has the sample
    no maximum-likelihood estimate?

    Where the MLE exists, the Hessian at u is positive definite on the scale of the data;
    where it does not (the pairs do not span :math:`\mathbb R^d`, or they are separable),
    Newton runs off along a direction of vanishing curvature.  So the seeds whose Hessian at u
    has a smallest eigenvalue below :data:`SUSPECT_RATIO` times
    :math:`\operatorname{tr} H(0) = \sum w \|z\|^2 / 4` get the exact linear programme of
    :func:`srlm_core.model.separation.mle_exists` on their distinct signed pairs (at most
    :math:`C K (K - 1)` rows, whatever n)."""
    z_features = problem.beta * problem.features
    E = incidence(z_features.shape[1], u.dtype, u.device)
    p = torch.sigmoid(torch.einsum("ckd,sd->sck", z_features, u) @ E)
    weight = counts.weights()
    smallest = torch.linalg.eigvalsh(laplacian_hessian(z_features, weight * p * (1.0 - p)))[:, 0]
    scale = (weight * pair_features(z_features).square().sum(-1)).sum((1, 2)) / 4
    suspect = smallest <= SUSPECT_RATIO * scale
    missing = torch.zeros(u.shape[0], dtype=torch.bool)
    if not suspect.any():
        return missing
    z, target, weight = distinct_pairs(z_features, counts)
    drawn = weight * counts.n
    won, lost = (target * drawn > 0.5), ((1.0 - target) * drawn > 0.5)
    rows = torch.cat((z * won.unsqueeze(-1), z * lost.unsqueeze(-1)), dim=1)
    labels = torch.cat((torch.ones_like(target), torch.zeros_like(target)), dim=1)
    index = suspect.nonzero().squeeze(-1)
    missing[index.cpu()] = ~mle_exists(rows[index], labels[index])
    return missing
