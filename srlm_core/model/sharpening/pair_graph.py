r"""The minimum-norm rule of :func:`srlm_core.model.sharpening.tabular.update` for any number
of pairs per prompt, by connected components instead of a pseudo-inverse; and how many of the
pairs are independent (:func:`independent_pairs`).

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


def _components(prompts: np.ndarray, first: np.ndarray, second: np.ndarray, responses: int,
                prompt_count: int) -> tuple[int, np.ndarray]:
    """The connected components of the pair graph (nodes: prompt x response; edges: pairs)."""
    nodes = prompt_count * responses
    graph = coo_matrix((np.ones(len(prompts)), (prompts * responses + first,
                                                prompts * responses + second)),
                       shape=(nodes, nodes))
    return connected_components(graph, directed=False)


def independent_pairs(prompts: np.ndarray, first: np.ndarray, second: np.ndarray,
                      responses: int) -> int:
    r"""The edges of a spanning forest of the pair graph, :math:`\#\text{nodes}-
    \#\text{components}`: the pairs that add a direction.  A pair with :math:`y=y'`, a repeated
    pair or one that closes a cycle (:math:`e_a-e_c=(e_a-e_b)+(e_b-e_c)`, and likewise for
    feature differences) adds none, so this is the rank of the rows :math:`e_y-e_{y'}` and
    bounds the rank of any feature differences."""
    count = int(prompts.max()) + 1 if len(prompts) else 0
    components, _ = _components(prompts, first, second, responses, count)
    return count * responses - components


def min_norm_update(log_probs: np.ndarray, prompts: np.ndarray, first: np.ndarray,
                    second: np.ndarray, beta: float) -> np.ndarray:
    r"""One round of Eq. 3, minimum-norm rule, from :math:`\log\pi_t` = ``log_probs``
    (prompts x responses) and the pairs ``(prompts[k], first[k], second[k])``: returns
    :math:`\log\pi_{t+1}`."""
    P, K = log_probs.shape
    _, component = _components(prompts, first, second, K, P)
    finite = np.where(np.isfinite(log_probs), log_probs, 0.0).ravel()
    mean = np.bincount(component, finite) / np.bincount(component)
    step = (finite - mean[component]).reshape(P, K) / beta
    return log_softmax(log_probs + step, axis=-1)
