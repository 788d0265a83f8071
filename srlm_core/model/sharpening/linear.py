r"""The paper's update (Eq. 3) for linear-softmax policies (Definition 6.1), exactly.

A policy is :math:`\pi_\theta(y\mid x)\propto\exp(\theta\cdot\phi(x,y))` with
:math:`\lVert\phi\rVert_2\le1`; the class of Theorem 6.2 is the ball
:math:`\lVert\theta\rVert_2\le B`.
The features here are :math:`\phi=\Sigma^{1/2}g/\lVert\Sigma^{1/2}g\rVert` with
:math:`g\sim N(0,I_d)` and a diagonal :math:`\Sigma` of eigenvalues :math:`\lambda_j=e^{-aj}`
(:math:`a=0`: isotropic), as in Corollary 6.4.

With the reward :math:`r_t=\log\pi_t` a pair's label is :math:`\Delta r=\theta_t\cdot\Delta\phi`
(:math:`\Delta\phi=\phi(x,y)-\phi(x,y')`; the normalisers cancel), so Eq. 3 is least squares in
:math:`\theta`:

.. math:: \sum_i\big(\beta(\theta-\theta_t)\cdot\Delta\phi_i-\theta_t\cdot\Delta\phi_i\big)^2 .

Its minimum-norm solution is :math:`\theta_{t+1}=\theta_t+P_S\theta_t/\beta`, with :math:`P_S` the
orthogonal projector on the span :math:`S` of the sampled :math:`\Delta\phi`; once they span
:math:`\mathbb R^d` it is the population step :math:`\theta_{t+1}=(1+1/\beta)\theta_t` exactly.
The ridge arm regresses the label on :math:`\Delta\phi` with penalty :math:`\lambda` on the
scaled step :math:`v=\beta(\theta-\theta_t)`:
:math:`v=(\hat\Sigma_\Delta+\lambda I)^{-1}\hat\Sigma_\Delta\theta_t` with
:math:`\hat\Sigma_\Delta=\frac1n\sum\Delta\phi\Delta\phi^\top` (:math:`\lambda\to0` gives
:math:`P_S\theta_t`).  The ball arm projects onto :math:`\lVert\theta\rVert\le B` after the step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import log_softmax

from srlm_core.model.sharpening import observables
from srlm_core.model.sharpening.pair_graph import independent_pairs


def spectrum(d: int, decay: float) -> np.ndarray:
    r"""The feature covariance's eigenvalues :math:`\lambda_j=e^{-a j}`, :math:`j=1..d`
    (``decay`` :math:`a`; 0 is isotropic)."""
    return np.exp(-decay * np.arange(1, d + 1))


def features(prompts: int, responses: int, d: int, decay: float,
             rng: np.random.Generator) -> np.ndarray:
    r"""Unit-norm features :math:`\phi(x,y)=\Sigma^{1/2}g/\lVert\Sigma^{1/2}g\rVert`: array
    (prompts, responses, d)."""
    raw = rng.normal(size=(prompts, responses, d)) * np.sqrt(spectrum(d, decay))
    return raw / np.linalg.norm(raw, axis=-1, keepdims=True)


def log_policy(theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    r""":math:`\log\pi_\theta(y\mid x)`: array (prompts, responses)."""
    return log_softmax(phi @ theta, axis=-1)


def policy(theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    r"""The policy table :math:`\pi_\theta(y\mid x)` (prompts x responses)."""
    return np.exp(log_policy(theta, phi))


def scale_for_kappa(direction: np.ndarray, phi: np.ndarray, kappa: float) -> float:
    r"""The scale :math:`s` with :math:`\kappa(\pi_{s u})=` ``kappa`` (Eq. 5; :math:`\kappa` falls
    as :math:`s` grows), by bisection on :math:`\log s`."""
    lo, hi = -10.0, 10.0
    for _ in range(45):
        mid = (lo + hi) / 2
        if observables.kappa(policy(np.exp(mid) * direction, phi)) > kappa:
            lo = mid
        else:
            hi = mid
    return float(np.exp((lo + hi) / 2))


def problem(prompts: int, responses: int, d: int, decay: float, kappa0: float,
            rng: np.random.Generator):
    r"""One problem instance: features (:func:`features`) and :math:`\theta_0=s u` with
    :math:`u` a uniform unit direction and :math:`s` set so that :math:`\kappa(\pi_0)=`
    ``kappa0`` (:func:`scale_for_kappa`)."""
    phi = features(prompts, responses, d, decay, rng)
    direction = rng.normal(size=d)
    direction /= np.linalg.norm(direction)
    return phi, scale_for_kappa(direction, phi, kappa0) * direction


def sample_pairs(theta: np.ndarray, phi: np.ndarray, n: int, rng: np.random.Generator):
    r"""``n`` i.i.d. triples :math:`x\sim` uniform, :math:`y,y'\sim\pi_\theta(\cdot\mid x)`: the
    prompts and the two responses, three integer arrays of length ``n``."""
    x = rng.integers(phi.shape[0], size=n)
    cdf = np.cumsum(policy(theta, phi)[x], axis=-1)
    u = rng.random((n, 2))
    draws = np.minimum((u[:, :, None] >= cdf[:, None, :]).sum(axis=-1), phi.shape[1] - 1)
    return x, draws[:, 0], draws[:, 1]


def differences(phi: np.ndarray, x: np.ndarray, y: np.ndarray, y2: np.ndarray) -> np.ndarray:
    r"""The pair rows :math:`\Delta\phi_i=\phi(x_i,y_i)-\phi(x_i,y'_i)`: array (n, d)."""
    return phi[x, y] - phi[x, y2]


def squared_loss(theta: np.ndarray, theta_t: np.ndarray, rows: np.ndarray, beta: float) -> float:
    r"""Eq. 3 for linear softmax:
    :math:`\sum_i(\beta(\theta-\theta_t)\cdot\Delta\phi_i-\theta_t\cdot\Delta\phi_i)^2`."""
    return float(np.sum((beta * rows @ (theta - theta_t) - rows @ theta_t) ** 2))


#: Singular values below this share of the largest count as zero (span and rank); directions
#: this weak carry a share below 1e-14 of the pairs' second moment.
RANK_TOLERANCE = 1e-7


def span_basis(rows: np.ndarray) -> np.ndarray:
    r"""An orthonormal basis of the span :math:`S` of the pair rows, array (rank, d), from the
    eigenvectors of the smaller Gram matrix (:math:`XX^\top` or :math:`X^\top X`)."""
    if not np.any(rows):
        return np.zeros((0, rows.shape[1]))
    wide = len(rows) < rows.shape[1]
    eig, vectors = np.linalg.eigh(rows @ rows.T if wide else rows.T @ rows)
    keep = eig > RANK_TOLERANCE**2 * eig.max()
    if wide:
        return (rows.T @ vectors[:, keep] / np.sqrt(eig[keep])).T
    return vectors[:, keep].T


def update(theta: np.ndarray, rows: np.ndarray, beta: float, ridge: float = 0.0,
           basis: np.ndarray | None = None) -> np.ndarray:
    r"""One round of Eq. 3 minimised exactly (module docstring): the minimum-norm step
    :math:`\theta+P_S\theta/\beta` at ``ridge`` 0, else the ridge step
    :math:`\theta+(\hat\Sigma_\Delta+\lambda I)^{-1}\hat\Sigma_\Delta\theta/\beta` (with fewer
    pairs than dimensions as :math:`X^\top(XX^\top+n\lambda I)^{-1}X\theta/\beta`); ``basis``:
    the span's basis (:func:`span_basis`) when already computed."""
    if ridge < 0:
        raise ValueError(f"ridge must be non-negative, got {ridge!r}")
    n, d = rows.shape
    if ridge == 0:
        basis = span_basis(rows) if basis is None else basis
        step = basis.T @ (basis @ theta)
    elif n < d:
        step = rows.T @ np.linalg.solve(rows @ rows.T + n * ridge * np.eye(n), rows @ theta)
    else:
        gram = rows.T @ rows / n
        step = np.linalg.solve(gram + ridge * np.eye(d), gram @ theta)
    return theta + step / beta


def project(theta: np.ndarray, radius: float) -> np.ndarray:
    r"""The Euclidean projection onto the ball :math:`\lVert\theta\rVert_2\le B` of
    Definition 6.1."""
    norm = np.linalg.norm(theta)
    return theta if norm <= radius else theta * (radius / norm)


def informative_share(probs: np.ndarray) -> np.ndarray | float:
    r"""The chance that a pair carries information, :math:`\mathbb P(y\ne y')=1-\mathbb
    E_x\sum_y\pi(y\mid x)^2` (a pair with :math:`y=y'` has :math:`\Delta\phi=0`)."""
    return 1.0 - np.mean(np.sum(probs**2, axis=-1), axis=-1)


@dataclass(frozen=True)
class Round:
    """What one round saw and did: the pairs with :math:`\\Delta\\phi\\ne0`, how many of them
    are independent (:func:`srlm_core.model.sharpening.pair_graph.independent_pairs`), the rank
    of their span, and the relative distance of the step to the population step
    :math:`\\lVert\\theta_{t+1}-(1+1/\\beta)\\theta_t\\rVert/\\lVert(1+1/\\beta)\\theta_t\\rVert`
    (before any projection)."""

    informative: int
    independent: int
    rank: int
    deviation: float


def iterate(theta0: np.ndarray, phi: np.ndarray, beta: float, rounds: int, n: int,
            rng: np.random.Generator, ridge: float = 0.0, radius: float | None = None):
    r"""The paper's loop on a linear-softmax class: each round ``n`` fresh pairs from
    :math:`\pi_{\theta_t}`, the exact step (:func:`update`), then the projection onto the ball
    of ``radius`` if one is given.  Returns :math:`[\theta_0,\dots,\theta_T]` and one
    :class:`Round` per round."""
    thetas, log = [theta0], []
    for _ in range(rounds):
        theta = thetas[-1]
        pairs = sample_pairs(theta, phi, n, rng)
        rows = differences(phi, *pairs)
        basis = span_basis(rows)
        new = update(theta, rows, beta, ridge, basis)
        population = (1 + 1 / beta) * theta
        informative = int(np.count_nonzero(pairs[1] != pairs[2]))
        log.append(Round(informative, independent_pairs(*pairs, phi.shape[1]),
                         len(basis),
                         float(np.linalg.norm(new - population) / np.linalg.norm(population))))
        thetas.append(new if radius is None else project(new, radius))
    return thetas, log
