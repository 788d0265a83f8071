r"""The minimum-norm update of :mod:`srlm_core.model.sharpening.tabular` by its closed form,
without a pseudo-inverse.

Within each connected component :math:`C` of a prompt's pair graph the minimum-norm minimiser
of Eq. 3 moves the logits by :math:`\delta_y=(\ell_t(y)-\bar\ell_C)/\beta` (:math:`\bar\ell_C`
the plain mean of :math:`\ell_t=\log\pi_t` over :math:`C`); responses in no pair keep their
logit.  The same policy as ``tabular.update(..., rule="min_norm")`` to rounding error, in
time linear in the number of pairs (a batched pseudo-inverse of tall pair matrices is slow
when BLAS threads compete for cores)."""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.special import log_softmax

from srlm_core.model.sharpening.tabular import sample_pairs


def min_norm_update(probs: np.ndarray, pairs: np.ndarray, beta: float) -> np.ndarray:
    r""":math:`\pi_{t+1}` from :math:`\pi_t` = ``probs`` and the round's ``pairs``
    (prompts, pairs, 2) by the component closed form."""
    prompts, responses = probs.shape
    nodes = (np.arange(prompts)[:, None, None] * responses + pairs).reshape(-1, 2)
    size = prompts * responses
    graph = coo_matrix((np.ones(len(nodes)), (nodes[:, 0], nodes[:, 1])), shape=(size, size))
    _, labels = connected_components(graph, directed=False)
    sampled = np.zeros(size, bool)
    sampled[nodes.ravel()] = True
    with np.errstate(divide="ignore"):
        log_probs = np.log(probs).ravel()
    counts = np.bincount(labels[sampled], minlength=size)
    sums = np.bincount(labels[sampled], weights=log_probs[sampled], minlength=size)
    step = np.zeros(size)
    step[sampled] = (log_probs[sampled] - sums[labels[sampled]] / counts[labels[sampled]]) / beta
    return np.exp(log_softmax((log_probs + step).reshape(prompts, responses), axis=-1))


def iterate_min_norm(probs: np.ndarray, beta: float, rounds: int, pairs: int,
                     rng: np.random.Generator) -> list[np.ndarray]:
    r"""``tabular.iterate`` with the minimum-norm rule, by :func:`min_norm_update` (the same
    draws from ``rng``): :math:`[\pi_0,\dots,\pi_T]`."""
    policies = [probs]
    for _ in range(rounds):
        policies.append(min_norm_update(policies[-1], sample_pairs(policies[-1], pairs, rng),
                                        beta))
    return policies
