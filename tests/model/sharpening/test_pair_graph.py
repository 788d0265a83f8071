"""The minimum-norm update by components equals the pseudo-inverse one of tabular.update."""

import numpy as np
import pytest
from scipy.special import log_softmax

from srlm_core.model.sharpening import pair_graph, tabular


@pytest.mark.parametrize("beta", [0.05, 1.0])
def test_components_give_the_pseudo_inverse_update(beta):
    rng = np.random.default_rng(3)
    probs = np.exp(log_softmax(rng.normal(size=(5, 7)), axis=-1))
    pairs = tabular.sample_pairs(probs, 3, rng)
    expected = tabular.update(probs, pairs, beta)
    prompts = np.repeat(np.arange(5), 3)
    got = pair_graph.min_norm_update(np.log(probs), prompts, pairs[..., 0].ravel(),
                                     pairs[..., 1].ravel(), beta)
    assert np.exp(got) == pytest.approx(expected, rel=1e-9, abs=1e-15)


def test_unpaired_responses_and_zero_mass_keep_their_logits():
    with np.errstate(divide="ignore"):
        log_probs = np.log(np.array([[0.5, 0.25, 0.25, 0.0]]))
    got = pair_graph.min_norm_update(log_probs, np.array([0]), np.array([0]), np.array([1]),
                                     beta=1.0)
    # delta = (l - mean) / beta on {0, 1}: +-log(2)/2; response 2 keeps delta 0; 3 stays at 0
    step = np.array([np.log(2) / 2, -np.log(2) / 2, 0.0])
    expected = log_softmax(log_probs[0, :3] + step)
    assert got[0, :3] == pytest.approx(expected) and got[0, 3] == -np.inf
