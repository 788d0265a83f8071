"""S2: the SymPy derivation of the single-step limit."""

import sympy as sp

from srlm_core.theory import single_step as s2


def test_one_step_limit_is_contraction_once():
    limit = s2.one_step_limit()
    assert sp.simplify(limit.factor - (1 - s2.alpha)) == 0
    assert sp.simplify(limit.squared_floor_ratio - (1 - s2.alpha) ** 2) == 0


def test_kl_series_is_half_variance_plus_third_cumulant():
    c = s2.kl_cumulant_series(K=3)
    assert sp.simplify(c.series.coeff(c.t, 0)) == 0
    assert sp.simplify(c.series.coeff(c.t, 1)) == 0
    assert sp.simplify(c.series.coeff(c.t, 2) - c.variance / 2) == 0
    assert sp.simplify(c.series.coeff(c.t, 3) - c.third_moment / 6) == 0


def test_kl_series_matches_exact_kl_numerically():
    c = s2.kl_cumulant_series(K=3)
    values = {sp.Symbol("a_1", real=True): 0.3, sp.Symbol("a_2", real=True): -0.2,
              sp.Symbol("a_3", real=True): 0.1, sp.Symbol("g_1", real=True): 1.0,
              sp.Symbol("g_2", real=True): -0.5, sp.Symbol("g_3", real=True): 0.2}
    for step in (1e-2, 2e-2):
        exact = float(c.kl.subs(values).subs(c.t, step))
        approx = float(c.series.subs(values).subs(c.t, step))
        assert abs(exact - approx) < 1e-2 * step**3  # remainder is O(t^4)


def test_expected_quadratic_kl_decomposition():
    expectation, closed = s2.expected_quadratic_kl(d=2)
    assert sp.simplify(expectation - closed) == 0


def test_one_versus_iterated_floors_and_crossing():
    o = s2.one_versus_iterated()
    assert sp.simplify(o.one_step_floor - s2.rho**2 * s2.q0) == 0
    assert sp.simplify(o.iterated_floor - s2.rho ** (2 * s2.T) * s2.q0) == 0
    # the geometric noise factor is the finite sum, and at the crossing both costs agree
    k = sp.Symbol("k", integer=True)
    for T in range(1, 5):
        finite = sp.summation(s2.rho ** (2 * k), (k, 0, T - 1))
        assert sp.simplify(s2.geometric_noise().subs(s2.T, T) - finite) == 0
    point = {s2.rho: sp.Rational(1, 2), s2.T: 8, s2.v: 10, s2.q0: sp.Rational(1, 5)}
    n_x = o.crossing_n.subs(point)
    assert n_x > 0
    assert sp.simplify((o.one_step - o.iterated).subs(point).subs(s2.n, n_x)) == 0
    # more data per step than n_x: iterating wins
    assert (o.one_step - o.iterated).subs(point).subs(s2.n, 2 * n_x) > 0
