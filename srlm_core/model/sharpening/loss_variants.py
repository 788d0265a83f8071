r"""The paper's round with the squared loss of Eq. 3 swapped for a logistic (DPO) loss.

Same setting as :mod:`~srlm_core.model.sharpening.tabular`: pairs :math:`y,y'\sim\pi_t`, reward
:math:`\ell_t=\log\pi_t`, reference :math:`\pi_t`, a tabular policy :math:`z=\ell_t+\delta`.  With
:math:`u_i=\beta(\delta_y-\delta_{y'})` the implicit reward margin of pair :math:`i` and a label
:math:`p_i\in[0,1]`, the logistic loss is

.. math::  \mathcal L(\delta)=\sum_i\big[\log(1+e^{u_i})-p_iu_i\big]+\lambda\lVert\delta\rVert^2 .

* **soft labels** :math:`p_i=\sigma(\Delta\ell_i)` (:func:`soft_labels`): each term is minimised
  exactly at :math:`u_i=\Delta\ell_i`, the zero-loss condition of Eq. 3; the sampled pairs are
  consistent, so with :math:`\lambda=0` the minimiser *set* is that of Eq. 3, and the
  minimum-norm choice (where gradient descent from :math:`\pi_t` goes) is the same policy;
* **Bradley–Terry labels** :math:`p_i\sim\mathrm{Bernoulli}(\sigma(\Delta\ell_i))`
  (:func:`bradley_terry_labels`), i.e. :math:`P(y\succ y')=\pi_t(y)/(\pi_t(y)+\pi_t(y'))`: in
  expectation the soft loss, so the same population minimiser, but a hard label makes its pair
  separable (:math:`u_i\to\pm\infty`), so the update needs :math:`\lambda>0`.

:func:`logistic_update` minimises :math:`\mathcal L` per prompt by damped Newton steps (the
pseudo-inverse of the Hessian at :math:`\lambda=0`, which keeps the iterate in the row space of
the pair design and so lands on the minimum-norm minimiser; full steps once the step is small,
where the loss can no longer resolve a decrease).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, log_softmax

from srlm_core.model.sharpening import tabular

#: The updates the loss-swap experiment compares: Eq. 3 (minimum norm or ridge) and the
#: logistic loss with soft or Bradley–Terry labels.
UPDATES = ("squared", "squared_ridge", "logistic_soft", "logistic_bt")

#: Step sizes the damped Newton iteration tries, largest first.
_STEPS = 0.5 ** np.arange(12)
#: Below this largest Newton step the iteration is in its quadratic phase and steps in full.
_LOCAL = 1e-3


def _finite_log(probs: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        log_probs = np.log(probs)
    return np.where(np.isfinite(log_probs), log_probs, 0.0)


def reward_gaps(probs: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    r"""The exact self-reward label of Eq. 3 on every pair, :math:`\Delta\ell=\ell_t(y)-\ell_t(y')`:
    array (prompts, pairs)."""
    return np.einsum("pnk,pk->pn", tabular.design(pairs, probs.shape[1]), _finite_log(probs))


def soft_labels(probs: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    r"""The soft preference :math:`\sigma(\Delta\ell)` of every pair."""
    return expit(reward_gaps(probs, pairs))


def bradley_terry_labels(probs: np.ndarray, pairs: np.ndarray,
                         rng: np.random.Generator) -> np.ndarray:
    r"""One Bradley–Terry draw per pair, :math:`\mathbb 1[y\succ y']\sim\mathrm{Bernoulli}
    (\sigma(\Delta\ell))`, as 0.0/1.0."""
    return (rng.random(pairs.shape[:2]) < soft_labels(probs, pairs)).astype(float)


def logistic_loss(step: np.ndarray, pairs: np.ndarray, labels: np.ndarray, beta: float,
                  ridge: float = 0.0) -> np.ndarray:
    r"""The per-prompt loss :math:`\sum_i[\log(1+e^{u_i})-p_iu_i]+\lambda\lVert\delta\rVert^2` of a
    logit step :math:`\delta` = ``step`` (prompts, responses)."""
    return _loss(step, tabular.design(pairs, step.shape[-1]), labels, beta, ridge)


def _loss(step: np.ndarray, rows: np.ndarray, labels: np.ndarray, beta: float,
          ridge: float) -> np.ndarray:
    """:func:`logistic_loss` on the pair design ``rows`` built once."""
    u = beta * np.einsum("pnk,pk->pn", rows, step)
    return (np.logaddexp(0.0, u) - labels * u).sum(axis=-1) + ridge * (step**2).sum(axis=-1)


def logistic_update(probs: np.ndarray, pairs: np.ndarray, labels: np.ndarray, beta: float,
                    ridge: float = 0.0, tolerance: float = 1e-11,
                    max_iterations: int = 300) -> np.ndarray:
    r""":math:`\pi_{t+1}=\mathrm{softmax}(\ell_t+\hat\delta)` with :math:`\hat\delta` the minimiser
    of the logistic loss (module docstring) over the tabular class, per prompt; ``ridge`` =
    :math:`\lambda`; with ``ridge = 0`` the minimum-norm minimiser (which exists only for
    labels strictly inside (0, 1)).  Stops when the largest Newton step is below
    ``tolerance``."""
    if not ridge >= 0:
        raise ValueError(f"ridge must be non-negative, got {ridge!r}")
    rows = tabular.design(pairs, probs.shape[1])
    step = np.zeros(probs.shape)
    eye = np.eye(probs.shape[1])
    for _ in range(max_iterations):
        u = beta * np.einsum("pnk,pk->pn", rows, step)
        gradient = beta * np.einsum("pnk,pn->pk", rows, expit(u) - labels) + 2 * ridge * step
        weights = expit(u) * expit(-u)
        hessian = beta**2 * np.einsum("pnk,pn,pnj->pkj", rows, weights, rows) + 2 * ridge * eye
        if ridge > 0:
            direction = -np.linalg.solve(hessian, gradient[..., None])[..., 0]
        else:
            direction = -np.einsum("pkj,pj->pk", np.linalg.pinv(hessian, hermitian=True),
                                   gradient)
        if np.abs(direction).max() < tolerance:
            break
        current = _loss(step, rows, labels, beta, ridge)
        trials = np.stack([_loss(step + a * direction, rows, labels, beta, ridge)
                           for a in _STEPS])  # (steps, prompts)
        better = trials <= current + 1e-15
        chosen = np.where(better.any(axis=0), _STEPS[np.argmax(better, axis=0)], 0.0)
        # Near the minimum the loss cannot resolve the last digits: take full Newton steps.
        chosen = np.where(np.abs(direction).max(axis=-1) < _LOCAL, 1.0, chosen)
        step = step + chosen[:, None] * direction
    return np.exp(log_softmax(_finite_log(probs) + step, axis=-1))


def update(name: str, probs: np.ndarray, pairs: np.ndarray, beta: float,
           rng: np.random.Generator, ridge: float = 0.0) -> np.ndarray:
    r"""One round of the update ``name`` (one of :data:`UPDATES`) from :math:`\pi_t` = ``probs``
    on the round's ``pairs``; ``ridge`` is :math:`\lambda` of ``squared_ridge`` and
    ``logistic_bt``; ``rng`` draws the Bradley–Terry labels."""
    if name == "squared":
        return tabular.update(probs, pairs, beta)
    if name == "squared_ridge":
        return tabular.update(probs, pairs, beta, "ridge", ridge)
    if name == "logistic_soft":
        return logistic_update(probs, pairs, soft_labels(probs, pairs), beta)
    if name == "logistic_bt":
        if not ridge > 0:
            raise ValueError("hard labels make pairs separable: logistic_bt needs ridge > 0, "
                             f"got {ridge!r}")
        return logistic_update(probs, pairs, bradley_terry_labels(probs, pairs, rng), beta,
                               ridge)
    raise ValueError(f"update must be one of {', '.join(UPDATES)}, got {name!r}")


def iterate(name: str, probs: np.ndarray, beta: float, rounds: int, pairs: int,
            rng: np.random.Generator, ridge: float = 0.0) -> list[np.ndarray]:
    r"""The paper's loop with the update ``name``: ``pairs`` fresh pairs per prompt and round
    from the current policy; returns :math:`[\pi_0,\dots,\pi_T]`."""
    policies = [probs]
    for _ in range(rounds):
        current = policies[-1]
        policies.append(update(name, current, tabular.sample_pairs(current, pairs, rng), beta,
                               rng, ridge))
    return policies
