"""S4: the SymPy derivation of the iterative bound (srlm_core.theory.iterative_bound)."""

import math

import sympy as sp

from srlm_core.theory import iterative_bound as ib
from srlm_core.theory.iterative_bound import T, alpha, c, e0, eps, n, t, v


def test_unrolled_recursion_matches_iteration_term_by_term():
    unrolled = ib.unrolled_recursion(max_T=6)
    assert len(unrolled.iterated) == 6
    for iterated, closed in zip(unrolled.iterated, unrolled.closed, strict=True):
        assert sp.expand(iterated - closed) == 0
    # T = 2 written out: (1 - alpha)^2 e_0 + (1 - alpha) eps_0 + eps_1
    eps_k = sp.IndexedBase("varepsilon")
    expected = (1 - alpha) ** 2 * e0 + (1 - alpha) * eps_k[0] + eps_k[1]
    assert sp.expand(unrolled.iterated[1] - expected) == 0


def test_geometric_sums_closed_forms_and_limits():
    g = ib.geometric_sum()
    assert ib.equal(g.finite, (1 - (1 - alpha) ** T) / alpha)
    assert sp.simplify(g.limit - 1 / alpha) == 0
    assert ib.equal(g.squared_finite, g.squared_stated)
    assert sp.simplify(g.squared_limit - 1 / (alpha * (2 - alpha))) == 0
    # numeric spot check: alpha = 0.3, T = 7
    value = sum(0.7 ** (7 - 1 - j) for j in range(7))
    assert math.isclose(float(g.finite.subs({alpha: 0.3, T: 7})), value)


def test_equal_detects_a_wrong_identity():
    assert not ib.equal((1 - (1 - alpha) ** T) / alpha, (1 - (1 - alpha) ** (T + 1)) / alpha)


def test_stationary_variance_and_amplification():
    s = ib.stationary_variance()
    assert ib.equal(s.solution, s.stated)
    assert sp.simplify(s.stationary - v / (1 - (1 - alpha) ** 2)) == 0
    assert sp.simplify(s.amplification - 1 / (alpha * (2 - alpha))) == 0
    assert ib.equal(s.amplification, s.amplification_stated)
    # alpha = 1/2: the noise is amplified by 4/3; alpha = 1: no amplification
    assert s.amplification.subs(alpha, sp.Rational(1, 2)) == sp.Rational(4, 3)
    assert s.amplification.subs(alpha, 1) == 1
    # the recursion itself: m_{t+1} - (1 - alpha)^2 m_t - v = 0
    assert ib.equal(s.stated.subs(t, t + 1) - (1 - alpha) ** 2 * s.stated - v, sp.S.Zero)


def test_burn_in_solves_the_equation():
    b = ib.burn_in()
    assert ib.equal(b.T_star, b.stated)
    point = {alpha: sp.Rational(1, 2), e0: 4, eps: sp.Rational(1, 32)}
    T_star = b.stated.subs(point)
    assert sp.simplify(T_star - 6) == 0  # (1/2)^6 4 = 1/16 = eps / alpha
    # the rate form is log(e_0 sqrt n) / log(1 / (1 - alpha)) + O(1)
    gap = b.rate_stated - sp.log(e0 * sp.sqrt(n)) / sp.log(1 / (1 - alpha))
    assert ib.equal(gap, sp.log(alpha / c) / sp.log(1 / (1 - alpha)))


def test_one_step_versus_iterating_critical_point():
    o = ib.one_step_versus_iterating()
    assert ib.equal(o.critical_e0_squared, o.critical_stated)
    point = {alpha: sp.Rational(1, 2), T: 4, v: 1}
    critical = o.critical_stated.subs(point)
    below = {**point, e0: sp.sqrt(critical) / 2}
    above = {**point, e0: 2 * sp.sqrt(critical)}
    assert o.one_step.subs(below) < o.iterating.subs(below)
    assert o.one_step.subs(above) > o.iterating.subs(above)
    # with alpha = 1 there is no self-preference to remove: one step wins for every e_0 (T > 1)
    at_one = {alpha: 1, T: 4, v: 1, e0: 10}
    assert o.one_step.subs(at_one) < o.iterating.subs(at_one)


def test_triangle_slack_is_sqrt_two_minus_alpha_over_alpha():
    """The triangle inequality's factor over the quadrature sum tends to sqrt((2 - a) / a);
    numeric check at alpha = 0.3, T = 7 against the weights summed by hand, and at T = 1
    (one step: nothing to add, factor 1)."""
    tri = ib.triangle_slack()
    assert ib.equal(tri.limit, tri.limit_stated)
    assert math.isclose(float(tri.limit.subs(alpha, 0.5)), math.sqrt(3.0))
    weights = [0.7 ** (7 - 1 - j) for j in range(7)]
    by_hand = sum(weights) / math.sqrt(sum(w * w for w in weights))
    assert math.isclose(float(tri.finite.subs({alpha: 0.3, T: 7})), by_hand)
    assert math.isclose(float(tri.finite.subs({alpha: 0.3, T: 1})), 1.0)
