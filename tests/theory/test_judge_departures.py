"""The SymPy derivations of the judge failures: each derived form asserted."""

import math

import pytest
import sympy as sp

from srlm_core.theory import judge_departures

A, B, W, S, U = (judge_departures.alpha, judge_departures.beta, judge_departures.w,
                 judge_departures.s, judge_departures.u)


def test_feature_bias_contracts_at_one_minus_alpha_to_a_displaced_point():
    fb = judge_departures.feature_bias()
    ws, c, u0 = sp.symbols("w^* c_psi u_0", real=True)
    assert sp.simplify(fb.rate - (1 - A)) == 0
    assert sp.simplify(fb.fixed_point - (ws + judge_departures.b * c / (A * B))) == 0
    assert sp.simplify(fb.displacement - judge_departures.b * c / (A * B)) == 0
    # the error decays exactly like (1 - alpha)^t from u_0 - u_inf
    assert sp.simplify(fb.error - (1 - A) ** judge_departures.t * (u0 - fb.fixed_point)) == 0
    assert fb.limit_alpha_zero == sp.oo
    # b = 0 is S1
    assert sp.simplify(fb.update.subs(judge_departures.b, 0) - (A * ws + (1 - A) * U)) == 0


def test_nonlinear_map_reduces_to_s1_and_its_rate_is_one_minus_alpha_times_g_prime():
    for g in (judge_departures.saturating_g(), judge_departures.amplifying_g()):
        m = judge_departures.nonlinear_map(g)
        # the rate is (1 - alpha) g'(beta u / 2)
        g_prime = sp.diff(g, judge_departures.z).subs(judge_departures.z, B * U / 2)
        assert sp.simplify(m.rate - (1 - A) * g_prime) == 0
        # s -> 0 gives the identity g and the S1 map
        assert sp.simplify(sp.limit(m.update, S, 0) - m.identity_update) == 0
    linear = judge_departures.nonlinear_map(judge_departures.z)
    assert sp.simplify(linear.update - (A * W + (1 - A) * U)) == 0


def test_saturating_fixed_point_is_short_of_w_and_contracts_faster():
    m = judge_departures.nonlinear_map(judge_departures.saturating_g())
    values = {A: 0.5, B: 1.0, W: 1.0, S: 1.0}
    u_inf = judge_departures.solve_fixed_point(m, values, 1.0)
    assert 0 < u_inf < 1.0
    assert float(m.update.subs(values).subs(U, u_inf)) == pytest.approx(u_inf, abs=1e-12)
    assert judge_departures.local_rate(m, values, u_inf) < 0.5


def test_amplifying_fixed_point_is_beyond_w_and_the_threshold():
    m = judge_departures.nonlinear_map(judge_departures.amplifying_g())
    values = {A: 0.5, B: 1.0, W: 1.0, S: 1.0}
    u_inf = judge_departures.solve_fixed_point(m, values, 1.0)
    assert u_inf > 1.0 and judge_departures.local_rate(m, values, u_inf) > 0.5
    th = judge_departures.amplifying_threshold()
    s_c = float(th.critical_s.subs({A: 0.5, B: 1.0, W: 1.0}))
    closed = 4 * (math.acosh(2) - math.sqrt(0.75))
    assert s_c == pytest.approx(closed, rel=1e-12)
    # just below s_c a fixed point exists, just above the gap u - F(u) stays below zero
    gap = (U - m.update).subs({A: 0.5, B: 1.0, W: 1.0})
    u_c = th.critical_u.subs({A: 0.5, B: 1.0})
    assert float(gap.subs(S, 0.99 * s_c).subs(U, u_c.subs(S, 0.99 * s_c))) > 0
    assert float(gap.subs(S, 1.01 * s_c).subs(U, u_c.subs(S, 1.01 * s_c))) < 0


def test_confidence_noise_map_shrinks_the_margin():
    m = judge_departures.confidence_noise_map()
    assert sp.simplify(m.identity_update - (A * W + (1 - A) * U)) == 0
    values = {A: 0.5, B: 1.0, W: 1.0, S: 1.0}
    u_inf = judge_departures.solve_fixed_point(m, values, 1.0)
    assert 0 < u_inf < 1.0
    # the fixed point solves u^2 (1 + pi s^2 beta^2 u^2 / 8) = (alpha w + (1 - alpha) u)^2
    lhs = u_inf**2 * (1 + math.pi * u_inf**2 / 8)
    assert lhs == pytest.approx((0.5 + 0.5 * u_inf) ** 2, rel=1e-10)


def test_vanishing_signal():
    v = judge_departures.vanishing_signal()
    assert v.rate_limit == 1
    assert sp.simplify(v.rounds_leading + sp.log(judge_departures.epsilon) / A) == 0
    assert sp.simplify(v.stationary_variance - judge_departures.sigma2 / (A * (2 - A))) == 0
    assert v.variance_limit == sp.oo
    assert v.map_at_zero == sp.Symbol("u_t", real=True)


def test_bias_displacement_number():
    fb = judge_departures.feature_bias()
    assert judge_departures.bias_displacement(fb, 0.2, 0.1, 1.0) == pytest.approx(2.0)
    assert judge_departures.bias_displacement(fb, -0.2, 0.5, 2.0) == pytest.approx(0.2)
