"""Autoregressive models by enumeration: greedy decoding, the mode and Proposition 4.3."""

import itertools

import numpy as np
import pytest

from srlm_core.model.sharpening import autoregressive as ar


def _hand_built():
    # V = 2, H = 2: pi(0) = 0.6 then pi(.|0) = (0.5, 0.5); pi(1) = 0.4 then pi(.|1) = (0, 1)
    return (np.array([0.6, 0.4]), np.array([[0.5, 0.5], [0.0, 1.0]]))


def test_enumeration_and_greedy_on_a_hand_built_model():
    tables = _hand_built()
    joint = ar.sequence_probs(tables)
    assert joint == pytest.approx(np.array([[0.3, 0.3], [0.0, 0.4]]))
    assert ar.mode(tables) == (1, 1)  # 0.4 beats 0.3
    assert ar.greedy(tables) == (0, 0)  # takes 0.6 first: misses the mode
    assert ar.all_sequences(2, 2) == [(0, 0), (0, 1), (1, 0), (1, 1)]


@pytest.mark.parametrize("p", [0.3, 0.45, 0.49])
def test_the_construction_meets_its_conditions_and_greedy_fails(p):
    eta = (1 - 2 * p) / 2
    tables = ar.trap(p, eta, horizon=3)
    joint = ar.sequence_probs(tables)
    assert joint.sum() == pytest.approx(1)
    assert ar.mode(tables) == (ar.ANSWER,) * 3 and joint[(ar.ANSWER,) * 3] == pytest.approx(p)
    others = np.delete(joint.ravel(), 0)  # index 0 is (a, a, a)
    assert others.max() < p  # y* is the unique mode
    assert ar.greedy(tables)[0] == ar.TRAP and ar.greedy(tables) != ar.mode(tables)


@pytest.mark.parametrize("p, eta, horizon, vocab", [
    (0.5, 0.0, 3, 3), (0.3, 0.5, 3, 3), (0.3, 0.05, 3, 3),  # eta = 0; 2p + eta > 1; c beats b
    (0.1, 0.3, 2, 3),  # a b-sequence has 0.4 / 3 > p
])
def test_the_construction_refuses_parameters_that_break_it(p, eta, horizon, vocab):
    with pytest.raises(ValueError):
        ar.trap(p, eta, horizon, vocab)


def test_greedy_finds_the_mode_whenever_it_has_more_than_half():
    rng = np.random.default_rng(0)
    for _ in range(300):
        tables = ar.random_model(3, 3, 0.3, rng)
        joint = ar.sequence_probs(tables)
        assert joint.sum() == pytest.approx(1)
        if joint.max() > 0.5:
            assert ar.greedy(tables) == ar.mode(tables)
        # the share identity: pi(greedy) > 1/2 exactly when max pi > 1/2
        assert (joint[ar.greedy(tables)] > 0.5) == (joint.max() > 0.5)
    assert set(itertools.chain(*ar.all_sequences(3, 1))) == {0, 1, 2}
