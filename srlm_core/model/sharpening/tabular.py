r"""The paper's update (Eq. 3) for a tabular policy class, exactly, and its population limit.

A tabular policy has a free logit :math:`z(x,y)` per prompt and response,
:math:`\pi=\mathrm{softmax}(z)`.  With :math:`\ell_t=\log\pi_t` the round's reward and reference,
a sampled pair :math:`(x,y,y')` contributes the squared residual

.. math::  \big(\beta[(z_y-z_{y'})-(\ell_y-\ell_{y'})]-(\ell_y-\ell_{y'})\big)^2 ,

in which the log-normalisers cancel.  Writing :math:`z=\ell_t+\delta`, the loss is zero exactly
when :math:`\delta_y-\delta_{y'}=(\ell_y-\ell_{y'})/\beta` on every sampled pair, a consistent
linear system :math:`A\delta=b/\beta` (rows :math:`e_y-e_{y'}`).  Responses that no pair pins
down are free, so the class needs a rule:

* ``min_norm``: the minimum-norm step :math:`\delta=A^+b/\beta` (what gradient descent from
  :math:`\pi_t` converges to).  Unsampled responses keep their logit; within each connected
  component :math:`C` of a prompt's pair graph, :math:`\delta_y=(\ell_y-\bar\ell_C)/\beta`
  (:func:`srlm_core.model.sharpening.pair_graph.min_norm_update`).
* ``ridge``: :math:`\min_\delta\sum(\beta(A\delta)_i-b_i)^2+\lambda\lVert\delta\rVert^2`, a
  ridge to the reference; it shrinks the step and tends to ``min_norm`` as
  :math:`\lambda\to0`.

With every pair observed (:math:`n\to\infty`) both give the population step, Huang et al.'s
sharpening :math:`\pi_{t+1}\propto\pi_t^{1+1/\beta}`, and :math:`T` rounds give
:math:`\pi_T\propto\pi_0^{(1+1/\beta)^T}` (:func:`sharpen`).
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_softmax

from srlm_core.model.sharpening.pair_graph import min_norm_update

#: How the update fixes the responses no sampled pair pins down.
RULES = ("min_norm", "ridge")


def exponent(beta: float, rounds: int) -> float:
    r"""The population exponent :math:`s_T=(1+1/\beta)^T`."""
    return (1.0 + 1.0 / beta) ** rounds


def matched_beta(beta: float, rounds: int) -> float:
    r"""The single-step strength :math:`\beta'` with :math:`1+1/\beta'=(1+1/\beta)^T`: one
    population step at :math:`\beta'` equals :math:`T` rounds at :math:`\beta`."""
    return 1.0 / (exponent(beta, rounds) - 1.0)


def sharpen(probs: np.ndarray, beta: float, rounds: int = 1) -> np.ndarray:
    r"""The population map iterated: :math:`\pi_T\propto\pi_0^{(1+1/\beta)^T}` (in log space)."""
    with np.errstate(divide="ignore"):
        return np.exp(log_softmax(exponent(beta, rounds) * np.log(probs), axis=-1))


def sample_pairs(probs: np.ndarray, pairs: int, rng: np.random.Generator) -> np.ndarray:
    r"""``pairs`` i.i.d. pairs :math:`y,y'\sim\pi(\cdot\mid x)` per prompt: integer array
    (prompts, pairs, 2) by inverse-CDF sampling."""
    cdf = np.cumsum(probs, axis=-1)
    u = rng.random((probs.shape[0], pairs * 2))
    draws = (u[:, :, None] >= cdf[:, None, :]).sum(axis=-1)
    return np.minimum(draws, probs.shape[1] - 1).reshape(probs.shape[0], pairs, 2)


def design(pairs: np.ndarray, responses: int) -> np.ndarray:
    r"""The pair rows :math:`e_y-e_{y'}`: array (prompts, pairs, responses)."""
    eye = np.eye(responses)
    return eye[pairs[..., 0]] - eye[pairs[..., 1]]


def squared_loss(logits: np.ndarray, log_probs: np.ndarray, pairs: np.ndarray,
                 beta: float) -> float:
    r"""Eq. 3 summed over the sampled pairs: :math:`\sum(\beta[\Delta z-\Delta\ell]-\Delta\ell)^2`
    with :math:`\Delta` the difference between a pair's two responses."""
    rows = design(pairs, log_probs.shape[1])
    dz = np.einsum("pnk,pk->pn", rows, logits)
    dl = np.einsum("pnk,pk->pn", rows, log_probs)
    return float(np.sum((beta * (dz - dl) - dl) ** 2))


def update(probs: np.ndarray, pairs: np.ndarray, beta: float, rule: str = "min_norm",
           ridge: float = 0.0) -> np.ndarray:
    r"""One round of Eq. 3 minimised exactly over the tabular class (the module docstring):
    returns :math:`\pi_{t+1}` from :math:`\pi_t` = ``probs`` and the round's sampled ``pairs``
    (prompts, pairs, 2); ``ridge`` is :math:`\lambda` of the ``ridge`` rule."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {', '.join(RULES)}, got {rule!r}")
    if rule == "ridge" and not ridge > 0:
        raise ValueError(f"the ridge rule needs ridge > 0, got {ridge!r}")
    with np.errstate(divide="ignore"):
        log_probs = np.log(probs)
    if rule == "min_norm":
        prompts = np.repeat(np.arange(len(probs)), pairs.shape[1])
        return np.exp(min_norm_update(log_probs, prompts, pairs[..., 0].ravel(),
                                      pairs[..., 1].ravel(), beta))
    rows = design(pairs, probs.shape[1])
    # Unsampled responses of zero mass never enter a pair; keep the system finite.
    finite = np.where(np.isfinite(log_probs), log_probs, 0.0)
    target = np.einsum("pnk,pk->pn", rows, finite)  # Delta l on every pair
    gram = beta**2 * np.einsum("pnk,pnj->pkj", rows, rows) + ridge * np.eye(probs.shape[1])
    rhs = beta * np.einsum("pnk,pn->pk", rows, target)
    step = np.linalg.solve(gram, rhs[..., None])[..., 0]
    return np.exp(log_softmax(log_probs + step, axis=-1))


def iterate(probs: np.ndarray, beta: float, rounds: int, pairs: int, rng: np.random.Generator,
            rule: str = "min_norm", ridge: float = 0.0) -> list[np.ndarray]:
    r"""The paper's loop for ``rounds`` rounds with ``pairs`` fresh pairs per prompt and round,
    each drawn from the current policy: :math:`[\pi_0,\pi_1,\dots,\pi_T]`."""
    policies = [probs]
    for _ in range(rounds):
        policies.append(update(policies[-1], sample_pairs(policies[-1], pairs, rng), beta,
                               rule, ridge))
    return policies
