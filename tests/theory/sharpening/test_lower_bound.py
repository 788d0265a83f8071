"""Theorem 4.1's derivations: the hard instance, the unseen-bump probability, the budget
relation and its Lambert-W inverse."""

import numpy as np
import pytest
import sympy as sp

from srlm_core.model.sharpening.hard_instance import HardInstance, sample_pairs
from srlm_core.theory.sharpening import lower_bound as lb


def test_hard_instance_masses_and_kappa():
    inst = lb.hard_instance()
    assert inst.total == 1
    assert sp.simplify(inst.kappa0 - ((1 - lb.eps) + lb.eps * lb.M * (1 - lb.gamma))) == 0
    at_half = {lb.gamma: sp.Rational(1, 2)}
    assert sp.simplify(inst.bump.subs(at_half) - 2 / lb.M) == 0
    # the model's numbers are the closed form's
    model = HardInstance(d=8, M=20, epsilon=0.3, gamma=0.4)
    values = {lb.M: 20, lb.eps: sp.Rational(3, 10), lb.gamma: sp.Rational(2, 5)}
    assert model.kappa0 == pytest.approx(float(inst.kappa0.subs(values)))
    assert model.other_mass == pytest.approx(float(inst.other.subs(values)))


def test_unseen_probability_matches_the_sampler():
    model = HardInstance(d=4, M=8, epsilon=0.5)
    rng = np.random.default_rng(0)
    bumps = np.zeros(4, int)
    probs = model.policy(bumps)
    unseen = []
    for _ in range(3000):
        prompts, first, second = sample_pairs(probs, model.weights, 20, rng)
        seen = prompts[(first == 0) != (second == 0)]
        unseen.append(1 not in seen)
    closed = lb.unseen_probability().subs({lb.eps: sp.Rational(1, 2), lb.d: 4, lb.M: 8,
                                           lb.gamma: sp.Rational(1, 2), lb.n: 20})
    assert np.mean(unseen) == pytest.approx(float(closed), abs=0.03)


def test_budget_inverse_and_its_shape():
    b = lb.budget()
    values = {lb.C: 16, lb.L: 32 * np.log(100)}
    for pairs in (1e4, 1e6, 1e9):
        at = {**values, lb.n: pairs}
        epsilon = float(b.epsilon.subs(at).evalf())
        # the inverse really inverts the budget relation
        assert float(b.pairs.subs({**values, lb.eps: epsilon})) == pytest.approx(pairs, rel=1e-9)
        assert float(b.epsilon_squared.subs(at).evalf()) == pytest.approx(epsilon**2, rel=1e-9)
    # epsilon(n)^2 / shape^2 tends to 2 (slowly: the log-log term)
    ratio = [float((b.epsilon_squared / lb.bound_shape() ** 2).subs({**values, lb.n: m}).evalf())
             for m in (1e6, 1e12, 1e40)]
    gaps = [abs(r - 2) for r in ratio]
    assert gaps[0] > gaps[1] > gaps[2] and ratio[2] == pytest.approx(2, rel=0.05)
    # the W identity the inverse rests on: W e^W = z on the -1 branch, W <= -1
    w = float(sp.LambertW(b.argument, -1).subs({**values, lb.n: 1e6}).evalf())
    assert w <= -1 and w * np.exp(w) == pytest.approx(float(b.argument.subs({**values,
                                                                               lb.n: 1e6})))
