"""Theorem 6.2 and Corollary 6.4 in SymPy: population update, realizability horizon, metric
entropy, the effective dimension of an exponentially decaying spectrum."""

import numpy as np
import pytest
import sympy as sp

from srlm_core.theory.sharpening import linear_softmax as lin


def test_population_update_and_its_iterate():
    p = lin.population_update()
    assert sp.simplify(p.step - (1 + 1 / lin.beta) * lin.theta_t) == 0
    assert sp.simplify(p.iterate - (1 + 1 / lin.beta) ** lin.t * lin.theta0) == 0


def test_realizability_horizon_solves_the_ball_equation():
    h = lin.realizability_horizon()
    values = {lin.B: 20, lin.norm0: 2, lin.beta: sp.Rational(1, 3)}
    at = h.horizon.subs(values)
    assert float((4 ** at * 2).evalf()) == pytest.approx(20.0)
    assert sp.simplify(h.horizon_root_n - sp.log(lin.B / lin.norm0) / sp.log(1 + sp.sqrt(lin.n))
                       ) == 0
    assert h.ratio_limit == 1


def test_metric_entropy_grows_linearly_in_the_rounds():
    m = lin.metric_entropy()
    assert sp.simplify(m.complexity - lin.d * sp.log(3 * lin.B * lin.n)) == 0
    assert sp.simplify(m.per_round - lin.d * sp.log(1 + 1 / lin.beta)) == 0
    assert sp.diff(m.per_round, lin.T) == 0


def test_effective_dimension_bounds_bracket_the_sum():
    e = lin.effective_dimension()
    assert sp.simplify(e.upper - sp.log(1 + lin.C0 / lin.lam) / lin.a) == 0
    values = {lin.C0: 1, lin.a: sp.Rational(1, 4), lin.lam: sp.Rational(1, 100)}
    f = sp.lambdify(lin.x, e.summand.subs(values))
    total = sum(f(j) for j in range(1, 2000))
    assert float(e.lower.subs(values)) <= total <= float(e.upper.subs(values))
    assert float(e.upper.subs(values)) < float(sp.log(101) / sp.Rational(1, 4)) + 1e-12
    grid = np.linspace(0, 20, 50)
    assert np.all(sp.lambdify(lin.x, e.decreasing.subs(values))(grid) < 0)
