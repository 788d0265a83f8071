"""The component closed form of the minimum-norm update equals tabular.update's pseudo-inverse."""

import numpy as np
from scipy.special import softmax

from srlm_core.model.sharpening import components, tabular


def test_closed_form_equals_the_pseudo_inverse_update():
    rng = np.random.default_rng(5)
    probs = softmax(0.8 * rng.standard_normal((30, 7)), axis=-1)
    for n in (1, 3, 12):  # few pairs (many components) to more pairs than responses
        pairs = tabular.sample_pairs(probs, n, rng)
        for beta in (0.3, 1.0):
            expected = tabular.update(probs, pairs, beta, "min_norm")
            assert np.max(np.abs(components.min_norm_update(probs, pairs, beta)
                                 - expected)) < 1e-10


def test_iterate_draws_the_same_pairs_as_tabular_iterate():
    probs = softmax(np.random.default_rng(1).standard_normal((20, 6)), axis=-1)
    fast = components.iterate_min_norm(probs, 0.5, 4, 3, np.random.default_rng(9))
    slow = tabular.iterate(probs, 0.5, 4, 3, np.random.default_rng(9))
    assert len(fast) == 5
    assert max(np.max(np.abs(a - b)) for a, b in zip(fast, slow, strict=True)) < 1e-10


def test_zero_mass_responses_stay_at_zero():
    probs = np.array([[0.5, 0.3, 0.2, 0.0]])
    pairs = np.array([[[0, 1], [1, 2]]])
    new = components.min_norm_update(probs, pairs, 1.0)
    assert new[0, 3] == 0.0
    assert np.allclose(new, tabular.update(probs, pairs, 1.0))
