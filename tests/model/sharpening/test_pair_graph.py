"""The minimum-norm update by components equals the pseudo-inverse solution of Eq. 3."""

import numpy as np
import pytest
from scipy.special import log_softmax

from srlm_core.model.sharpening import pair_graph, tabular


@pytest.mark.parametrize("beta", [0.05, 1.0])
def test_components_give_the_pseudo_inverse_step(beta):
    rng = np.random.default_rng(3)
    log_probs = log_softmax(rng.normal(size=(5, 7)), axis=-1)
    pairs = tabular.sample_pairs(np.exp(log_probs), 3, rng)
    rows = tabular.design(pairs, 7)  # e_y - e_y' per pair
    target = np.einsum("pnk,pk->pn", rows, log_probs) / beta
    step = np.einsum("pkn,pn->pk", np.linalg.pinv(rows), target)  # minimum-norm solution
    expected = log_softmax(log_probs + step, axis=-1)
    prompts = np.repeat(np.arange(5), 3)
    got = pair_graph.min_norm_update(log_probs, prompts, pairs[..., 0].ravel(),
                                     pairs[..., 1].ravel(), beta)
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_unpaired_responses_and_zero_mass_keep_their_logits():
    with np.errstate(divide="ignore"):
        log_probs = np.log(np.array([[0.5, 0.25, 0.25, 0.0]]))
    got = pair_graph.min_norm_update(log_probs, np.array([0]), np.array([0]), np.array([1]),
                                     beta=1.0)
    # delta = (l - mean) / beta on {0, 1}: +-log(2)/2; response 2 keeps delta 0; 3 stays at 0
    step = np.array([np.log(2) / 2, -np.log(2) / 2, 0.0])
    expected = log_softmax(log_probs[0, :3] + step)
    assert got[0, :3] == pytest.approx(expected) and got[0, 3] == -np.inf


def test_independent_pairs_are_the_edges_of_a_spanning_forest():
    prompts = np.array([0, 0, 0, 0, 0, 2])
    first = np.array([0, 1, 0, 2, 1, 3])
    second = np.array([1, 2, 2, 2, 0, 1])  # cycle 0-1-2-0, a self pair, a repeat; prompt 2
    assert pair_graph.independent_pairs(prompts, first, second, 4) == 3
    rows = tabular.design(np.stack([first, second], axis=-1)[None], 4)[0]
    rows = np.hstack([rows * (prompts == p)[:, None] for p in range(3)])  # one block per prompt
    assert np.linalg.matrix_rank(rows) == 3
    assert pair_graph.independent_pairs(prompts[:0], first[:0], second[:0], 4) == 0
