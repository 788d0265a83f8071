"""The partial-step recursions of S1 on a pool, checked against direct iteration of the
log-ratio updates (numbers, not the same formula retyped)."""

import math

import pytest
import sympy as sp

from srlm_core.theory import partial_step as ps


def _iterate(alpha, gamma, rounds, moving):
    """h_t of one prompt with g = (1, 0), c = 2, from the update rules themselves."""
    c, g = 2.0, [1.0, 0.0]
    h = [0.0, 0.0]
    errors = []
    for _ in range(rounds + 1):
        e = [hi - c * gi for hi, gi in zip(h, g, strict=True)]
        errors.append(abs((e[0] - e[1]) / (c * (g[0] - g[1]))))
        r = [alpha * c * gi + (1 - alpha) * hi for hi, gi in zip(h, g, strict=True)]
        if moving:
            h = [hi + gamma * ri for hi, ri in zip(h, r, strict=True)]
        else:
            h = [hi + gamma * (ri - hi) for hi, ri in zip(h, r, strict=True)]
    return errors


@pytest.mark.parametrize(("alpha", "gamma"), [(0.5, 1.0), (0.25, 0.8), (0.7, 0.6)])
def test_fixed_reference_closed_form(alpha, gamma):
    form = ps.fixed_reference().closed_form
    direct = _iterate(alpha, gamma, 5, moving=False)
    for t, value in enumerate(direct):
        assert float(form.subs({ps.alpha: alpha, ps.gamma: gamma, ps.t: t})) == pytest.approx(
            value, rel=1e-12)


@pytest.mark.parametrize(("alpha", "gamma"), [(0.5, 1.0), (0.5, 0.9), (0.25, 0.7)])
def test_moving_reference_closed_form_and_crossing(alpha, gamma):
    assert ps.moving_ratio(alpha, gamma, 5) == pytest.approx(
        _iterate(alpha, gamma, 5, moving=True), rel=1e-12)
    crossing = float(ps.moving_reference().crossing.subs({ps.alpha: alpha, ps.gamma: gamma}))
    a = ps.moving_reference().closed_form.subs({ps.alpha: alpha, ps.gamma: gamma})
    assert float(a.subs(ps.t, crossing)) == pytest.approx(0.0, abs=1e-12)


def test_gamma_one_recovers_s1():
    fixed = ps.fixed_reference()
    assert sp.simplify(fixed.error_factor.subs(ps.gamma, 1) - (1 - ps.alpha)) == 0
    assert sp.simplify(ps.moving_reference().growth.subs(ps.gamma, 1) - (2 - ps.alpha)) == 0
    rho1 = sp.symbols("rho_1", positive=True)
    assert sp.simplify(ps.calibration() - (1 - rho1)) == 0
    assert math.isclose(float(ps.single_step().subs({ps.alpha: 0.5, ps.gamma: 1})), 0.5)
