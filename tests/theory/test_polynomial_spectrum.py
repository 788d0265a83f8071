"""S5: the SymPy derivation of d_eff for mu_j ∝ j^(-p) and of the balanced ridge."""

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

from srlm_core.theory import polynomial_spectrum as e


def test_integral_constant_is_pi_over_p_sin_pi_over_p():
    c_p = e.integral_constant()
    assert sp.simplify(c_p - sp.pi / (e.p * sp.sin(sp.pi / e.p))) == 0
    assert sp.simplify(c_p.subs(e.p, 2) - sp.pi / 2) == 0
    assert sp.simplify(c_p.subs(e.p, 3) - 2 * sp.pi / (3 * sp.sqrt(3))) == 0


def test_integral_equals_the_closed_form_and_is_free_of_d():
    integral = e.effective_dimension_integral()
    closed = e.effective_dimension_asymptotic()
    assert sp.simplify(integral - closed) == 0
    assert e.d not in closed.free_symbols
    # Theta(lambda^(-1/p)): d log d_eff / d log lambda = -1/p
    elasticity = sp.simplify(e.lam * sp.diff(sp.log(closed), e.lam))
    assert sp.simplify(elasticity + 1 / e.p) == 0


def test_spectrum_term_decreases():
    derivative = e.integral_comparison().derivative
    assert derivative.subs({e.p: 2, e.lam: sp.Rational(1, 10), e.mu1: 1, e.x: 3}) < 0
    assert sp.simplify(derivative * (e.lam * e.x**e.p + e.mu1) ** 2 / e.x ** (e.p - 1)) == (
        -e.lam * e.mu1 * e.p
    )


@pytest.mark.parametrize("p", [1.5, 2.0, 3.0])
@pytest.mark.parametrize("lam", [1e-4, 1e-2, 0.3])
def test_integral_comparison_sandwiches_the_finite_sums(p, lam):
    """C_p lam^(-1/p) - 1 <= d_eff(lam; oo) and d_eff(lam; d) <= C_p lam^(-1/p) for every d."""
    bounds = e.integral_comparison()
    upper = e.numeric(bounds.upper, p=p, lam=lam, mu1=1.0)
    lower = e.numeric(bounds.lower, p=p, lam=lam, mu1=1.0)
    # d = oo: partial sum to J plus the tail, bracketed by integrals (f decreases)
    j = np.arange(1, 65537, dtype=float)
    partial = np.cumsum(1.0 / (1.0 + lam * j**p))
    J = len(j)
    tail_lo = float(mpmath.quad(lambda t: 1 / (1 + lam * t**p), [J + 1, mpmath.inf]))
    tail_hi = float(mpmath.quad(lambda t: 1 / (1 + lam * t**p), [J, mpmath.inf]))
    assert lower <= partial[-1] + tail_lo
    assert partial[-1] + tail_hi <= upper
    assert upper - (partial[-1] + tail_lo) <= 1.0
    for d in (1, 16, 256, 4096, 65536):
        assert partial[d - 1] <= upper


def test_direction_risk_terms_are_bounded():
    risk = e.second_order_risk()
    mu, w = sp.symbols("mu w", positive=True)
    slack = e.lam * w**2 * (e.lam - mu) ** 2 / (4 * (e.lam + mu) ** 2)
    assert sp.simplify(risk.bias_slack - slack) == 0
    assert sp.simplify(risk.variance_slack - e.lam * mu / (e.n * (e.lam + mu) ** 2)) == 0
    # at lambda -> 0 each direction contributes 1/n to the variance, whatever its mu
    assert sp.limit(risk.variance * e.n, e.lam, 0) == 1
    assert sp.simplify(e.unregularised_variance() - e.d / e.n) == 0


def test_balanced_ridge_is_the_minimiser_and_gives_the_rate():
    b = e.balanced_ridge()
    derivative = sp.diff(b.risk_bound, e.lam).subs(e.lam, b.lam_star)
    values = {e.p: 2, e.mu1: sp.Rational(1, 10), e.n: 1000, e.W: sp.Rational(3, 2)}
    assert abs(float(derivative.subs(values))) < 1e-12
    assert float(sp.diff(b.risk_bound, e.lam, 2).subs(values).subs(e.lam, 0.01)) > 0
    assert sp.simplify(b.rate + e.p / (e.p + 1)) == 0
    assert sp.simplify(b.d_eff_rate - 1 / (e.p + 1)) == 0
    assert e.d not in b.lam_star.free_symbols | b.risk_star.free_symbols
    # p = 2: lambda* = (4 C_2 sqrt(mu_1) / (2 n W^2))^(2/3) with C_2 = pi/2
    expected = (math.pi * math.sqrt(0.1) / (1000 * 2.25)) ** (2 / 3)
    assert math.isclose(e.numeric(b.lam_star, p=2, mu1=0.1, n=1000, W=1.5), expected, rel_tol=1e-12)


@pytest.fixture(scope="module")
def iterated():
    return e.iterated_ridge()


def test_iterated_ridge_has_the_effective_ridge_lambda_over_alpha(iterated):
    mu, w = sp.symbols("mu w", positive=True)
    assert sp.simplify(iterated.bias_factor - e.lam / (e.alpha * mu + e.lam)) == 0
    lam_e = iterated.effective_ridge
    assert sp.simplify(lam_e - e.lam / e.alpha) == 0
    assert sp.simplify(iterated.bias_factor - lam_e / (mu + lam_e)) == 0
    assert sp.simplify(iterated.fixed_point - e.alpha * mu * w / (e.alpha * mu + e.lam)) == 0
    assert sp.simplify(iterated.contraction - (1 - e.alpha) * mu / (mu + e.lam)) == 0
    # lambda = 0: S1's contraction 1 - alpha and the unbiased fixed point w
    assert sp.simplify(iterated.contraction.subs(e.lam, 0) - (1 - e.alpha)) == 0
    assert iterated.fixed_point.subs(e.lam, 0) == w


def test_iterated_ridge_reduces_to_one_step_and_to_s4(iterated):
    one = e.second_order_risk()
    assert sp.simplify(iterated.bias.subs(e.alpha, 1) - one.bias) == 0
    assert sp.simplify(iterated.variance.subs(e.alpha, 1) - one.variance) == 0
    # no ridge: S4's stationary variance 1 / (n (1 - (1 - alpha)^2)) per direction
    assert sp.simplify(iterated.variance.subs(e.lam, 0)
                       - 1 / (e.n * (1 - (1 - e.alpha) ** 2))) == 0


def test_iterated_ridge_slacks_are_nonnegative(iterated):
    mu, w = sp.symbols("mu w", positive=True)
    assert sp.simplify(iterated.bias_slack - e.lam * w**2 * (e.alpha * mu - e.lam) ** 2
                       / (4 * e.alpha * (e.alpha * mu + e.lam) ** 2)) == 0
    point = {mu: 0.3, e.lam: 0.05, e.n: 100, w: 0.7}
    for a in (0.1, 0.5, 1.0):
        assert float(iterated.variance_slack.subs(point).subs(e.alpha, a)) >= 0
        assert float(iterated.bias_slack.subs(point).subs(e.alpha, a)) >= 0


def test_iterated_balanced_ridge_scales_with_alpha(iterated):
    ratio = iterated.lam_star_ratio
    assert sp.simplify(ratio.subs(e.alpha, 1)) == 1
    assert math.isclose(float(ratio.subs({e.p: 2, e.alpha: sp.Rational(1, 4)})),
                        0.25 ** (1 / 3) * 1.75 ** (-2 / 3), rel_tol=1e-12)
    values = {e.p: 2, e.mu1: 0.1, e.n: 1000, e.W: 1.5, e.alpha: 0.25}
    lam_star = float(iterated.lam_star.subs(values))
    derivative = sp.diff(iterated.risk_bound, e.lam).subs(values).subs(e.lam, lam_star)
    assert abs(float(derivative)) < 1e-9
    one = e.balanced_ridge().lam_star.subs(values)
    assert math.isclose(lam_star / float(one), float(ratio.subs(values)), rel_tol=1e-12)
    # the one-step ridge costs a factor >= 1 in the iterated bound, 1 exactly at alpha = 1
    cost = iterated.one_step_cost
    assert sp.simplify(cost.subs(e.alpha, 1)) == 1
    at = {e.p: 2, e.alpha: 0.25}
    u_one = float(iterated.risk_bound.subs(values).subs(e.lam, one))
    u_star = float(iterated.risk_bound.subs(values).subs(e.lam, lam_star))
    assert math.isclose(float(cost.subs(at)), u_one / u_star, rel_tol=1e-10)
    assert u_one / u_star > 1.2
    assert math.isclose(float(iterated.risk_star_ratio.subs(at)), (0.25 * 1.75) ** (-2 / 3))


def test_closed_forms_are_checked_against_the_derivation():
    closed = 2 * e.alpha - e.alpha**2
    assert e._same(e.alpha * (2 - e.alpha), closed) is closed
    with pytest.raises(ArithmeticError):
        e._same(e.alpha ** (1 / (e.p + 1)), e.alpha ** (1 / e.p))
