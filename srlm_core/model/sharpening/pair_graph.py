r"""The minimum-norm rule of :func:`srlm_core.model.sharpening.tabular.update` for any number
of pairs per prompt, by connected components instead of a pseudo-inverse.

Zero loss in Eq. 3 asks :math:`\delta_y-\delta_{y'}=(\ell_y-\ell_{y'})/\beta` on every sampled
pair (:math:`\ell=\log\pi_t`, :math:`\log\pi=\ell+\delta` up to normalisation).  On a connected
component :math:`C` of a prompt's pair graph this fixes :math:`\delta=\ell/\beta+\text{const}`;
the minimum-norm solution takes the constant that makes :math:`\sum_C\delta=0`:

.. math::  \delta_y=(\ell_y-\bar\ell_C)/\beta,

and a response in no pair (a component of its own) keeps :math:`\delta_y=0`.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.special import log_softmax


def min_norm_update(log_probs: np.ndarray, prompts: np.ndarray, first: np.ndarray,
                    second: np.ndarray, beta: float) -> np.ndarray:
    r"""One round of Eq. 3, minimum-norm rule, from :math:`\log\pi_t` = ``log_probs``
    (prompts x responses) and the pairs ``(prompts[k], first[k], second[k])``: returns
    :math:`\log\pi_{t+1}`."""
    P, K = log_probs.shape
    nodes = P * K
    graph = coo_matrix((np.ones(len(prompts)), (prompts * K + first, prompts * K + second)),
                       shape=(nodes, nodes))
    _, component = connected_components(graph, directed=False)
    finite = np.where(np.isfinite(log_probs), log_probs, 0.0).ravel()
    mean = np.bincount(component, finite) / np.bincount(component)
    step = (finite - mean[component]).reshape(P, K) / beta
    return log_softmax(log_probs + step, axis=-1)
