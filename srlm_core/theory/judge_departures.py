r"""When self-rewarding fails: the S1 recursion under judges that break its assumptions.

S1 (:mod:`srlm_core.theory.contraction_law`) needs the judge's margin to be linear in the
feature difference, :math:`\beta v_t \cdot \Delta` with
:math:`v_t = \alpha w^* + (1 - \alpha) u_t`; then the population DPO step returns
:math:`u_{t+1} = v_t`.  Each function below changes one ingredient of that judge
(:mod:`srlm_core.model.judge_variants` simulates the same departures):

1. :func:`feature_bias` - a bias :math:`b\,\psi` with :math:`\psi = c_\psi \cdot \phi` in the
   feature span keeps the margin linear:
   :math:`u_{t+1} = \alpha w^* + (1 - \alpha) u_t + (b / \beta) c_\psi`.  The map still
   contracts with factor :math:`1 - \alpha`, to the fixed point
   :math:`w^* + b\, c_\psi / (\alpha\beta)`: displaced from :math:`\pi^*` by
   :math:`|b| / (\alpha\beta)`, which diverges as :math:`\alpha \to 0`.
2. :func:`nonlinear_map` - a nonlinear self-preference :math:`g` makes the margin nonlinear.
   In the scalar world of one prompt and two responses (features :math:`\pm\frac12`, one pair
   direction, so the DPO step is exact) the map is
   :math:`u_{t+1} = \alpha w + \frac{2(1 - \alpha)}{\beta} g(\beta u_t / 2)` with local rate
   :math:`(1 - \alpha)\, g'(\beta u_\infty / 2)` at its fixed point.  A saturating g
   (:math:`g' \le 1`) contracts faster than :math:`1 - \alpha`, to a fixed point short of
   :math:`w`; an amplifying g (:math:`g' \ge 1`) slower, beyond it.
3. :func:`amplifying_threshold` - for :math:`g(z) = \sinh(sz)/s` the fixed point exists only
   while :math:`s \le s_c = \frac{2}{\alpha\beta w}\big(\operatorname{arccosh}\frac1{1-\alpha}
   - \sqrt{\alpha(2-\alpha)}\big)`; beyond it the iteration diverges.
4. :func:`confidence_noise_map` - Gaussian noise :math:`\varsigma = s\beta|u_t \cdot \Delta|` on
   the judge's logit: by the probit approximation
   :math:`\mathbb E\,\sigma(m + \varsigma Z) \approx \sigma(m / \sqrt{1 + \pi\varsigma^2/8})`
   the scalar map is :math:`u_{t+1} = (\alpha w + (1 - \alpha) u_t) /
   \sqrt{1 + \pi s^2 \beta^2 u_t^2 / 8}`: the margin shrinks where the model is confident, like
   a saturating g, and the fixed point falls short of :math:`w` by a factor that does not
   vanish with n.
5. :func:`vanishing_signal` - :math:`\alpha \to 0` in S1: the rate :math:`1 - \alpha \to 1`, the
   rounds to shrink the error by a factor :math:`\epsilon` grow as
   :math:`\log\epsilon / \log(1 - \alpha) \sim \log(1/\epsilon)/\alpha`, and with a per-round
   estimation noise of variance :math:`\sigma^2` the stationary variance
   :math:`\sigma^2 / (\alpha(2 - \alpha))` diverges.  At :math:`\alpha = 0` every point is a
   fixed point.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

alpha, beta = sp.symbols("alpha beta", positive=True)
b = sp.symbols("b", real=True)
s = sp.symbols("s", positive=True)
w = sp.symbols("w", positive=True)
u = sp.symbols("u", real=True)
t = sp.symbols("t", integer=True, nonnegative=True)
z = sp.symbols("z", real=True)
sigma2, epsilon = sp.symbols("sigma^2 epsilon", positive=True)


@dataclass(frozen=True)
class FeatureBias:
    """The S1 recursion with a feature bias (:func:`feature_bias`), one coordinate."""

    update: sp.Expr  #: :math:`u_{t+1}` in terms of :math:`u_t`
    rate: sp.Expr  #: :math:`\partial u_{t+1} / \partial u_t = 1 - \alpha`
    fixed_point: sp.Expr  #: :math:`u_\infty = w^* + b c_\psi / (\alpha\beta)`
    displacement: sp.Expr  #: :math:`u_\infty - w^*`
    error: sp.Expr  #: :math:`u_t - u_\infty` solved from :math:`u_0`
    limit_alpha_zero: sp.Expr  #: the displacement's limit as alpha -> 0 (for b c > 0)


def feature_bias() -> FeatureBias:
    r"""Judge :math:`r_t + b\,c_\psi \cdot \phi`: its margin is
    :math:`\beta(v_t + (b/\beta) c_\psi) \cdot \Delta`, so the population step gives
    :math:`u_{t+1} = \alpha w^* + (1 - \alpha) u_t + (b/\beta) c_\psi` (one coordinate, with
    :math:`c = c_\psi` there)."""
    ws, c, u0 = sp.symbols("w^* c_psi u_0", real=True)
    U = sp.Function("u")
    update = alpha * ws + (1 - alpha) * u + b / beta * c
    fixed = sp.solve(sp.Eq(u, update), u)[0]
    solution = sp.rsolve(U(t + 1) - update.subs(u, U(t)), U(t), {U(0): u0})
    displacement = sp.simplify(fixed - ws)
    cp = sp.symbols("c", positive=True)
    bp = sp.symbols("b", positive=True)
    limit = sp.limit(displacement.subs({c: cp, b: bp}), alpha, 0, "+")
    return FeatureBias(update=update, rate=sp.diff(update, u), fixed_point=sp.factor(fixed),
                       displacement=displacement, error=sp.simplify(solution - fixed),
                       limit_alpha_zero=limit)


def bias_displacement(fb: FeatureBias, b_value: float, alpha_value: float,
                      beta_value: float) -> float:
    r""":math:`\lVert u_\infty - w^*\rVert_2` for a unit :math:`c_\psi`: the derived
    displacement at numeric b, alpha and beta."""
    c = sp.Symbol("c_psi", real=True)
    value = fb.displacement.subs({b: b_value, alpha: alpha_value, beta: beta_value, c: 1})
    return float(abs(value))


def saturating_g() -> sp.Expr:
    r""":math:`g(z) = \tanh(sz)/s`, saturating (:math:`g' = 1 - \tanh^2(sz) \le 1`)."""
    return sp.tanh(s * z) / s


def amplifying_g() -> sp.Expr:
    r""":math:`g(z) = \sinh(sz)/s`, amplifying (:math:`g' = \cosh(sz) \ge 1`)."""
    return sp.sinh(s * z) / s


@dataclass(frozen=True)
class NonlinearMap:
    """The scalar-world map with self-preference g (:func:`nonlinear_map`)."""

    update: sp.Expr  #: :math:`u_{t+1} = F(u_t)`
    rate: sp.Expr  #: :math:`F'(u)`, the local contraction factor at a fixed point
    fixed_point_equation: sp.Expr  #: :math:`F(u) - u`, zero at the fixed point
    identity_update: sp.Expr  #: F for g = identity: the S1 map


def nonlinear_map(g: sp.Expr) -> NonlinearMap:
    r"""One prompt, responses with features :math:`\pm\frac12`: the centred log-ratios are
    :math:`\pm\beta u/2`, the judge margin is
    :math:`\alpha\beta w + (1 - \alpha)(g(\beta u/2) - g(-\beta u/2))`, and with one pair
    direction the DPO step solves :math:`\beta u_{t+1} =` margin.  ``g`` is an expression in
    the symbol ``z``."""
    margin = alpha * beta * w + (1 - alpha) * (g.subs(z, beta * u / 2) - g.subs(z, -beta * u / 2))
    update = sp.simplify(margin / beta)
    identity = sp.simplify((alpha * beta * w + (1 - alpha) * beta * u) / beta)
    return NonlinearMap(update=update, rate=sp.simplify(sp.diff(update, u)),
                        fixed_point_equation=update - u, identity_update=identity)


def solve_fixed_point(m: NonlinearMap | sp.Expr, values: dict, guess: float) -> float:
    """The fixed point u of a scalar map (a :class:`NonlinearMap` or an update expression in
    the symbol ``u``) at numeric ``values`` of its symbols, by ``sympy.nsolve`` from ``guess``."""
    update = m.update if isinstance(m, NonlinearMap) else m
    return float(sp.nsolve((update - u).subs(values), u, guess))


def local_rate(m: NonlinearMap | sp.Expr, values: dict, at: float) -> float:
    r""":math:`F'(u)` at ``at`` (the fixed point) for numeric ``values``."""
    update = m.update if isinstance(m, NonlinearMap) else m
    return float(sp.diff(update, u).subs(values).subs(u, at))


@dataclass(frozen=True)
class AmplifyingThreshold:
    """Where the amplifying map stops having a fixed point (:func:`amplifying_threshold`)."""

    critical_u: sp.Expr  #: the maximiser of :math:`u - (F(u) - \alpha w)`
    critical_s: sp.Expr  #: :math:`s_c`: a fixed point exists iff :math:`s \le s_c`


def amplifying_threshold() -> AmplifyingThreshold:
    r"""For :math:`F(u) = \alpha w + \frac{2(1-\alpha)}{\beta s}\sinh(s\beta u/2)` a fixed
    point exists iff :math:`\max_u [u - F(u) + \alpha w] \ge \alpha w`.  The maximiser has
    :math:`(1 - \alpha)\cosh(s\beta u/2) = 1`; there
    :math:`(1 - \alpha)\sinh = \sqrt{1 - (1-\alpha)^2}`.  Solving the equality for w gives the
    critical strength :math:`s_c`."""
    m = nonlinear_map(amplifying_g())
    gap = u - (m.update - alpha * w)
    u_c = 2 * sp.acosh(1 / (1 - alpha)) / (s * beta)
    assert sp.simplify(sp.diff(gap, u).subs(u, u_c)) == 0
    peak = u_c - 2 * sp.sqrt(1 - (1 - alpha) ** 2) / (beta * s)
    s_c = sp.solve(sp.Eq(peak, alpha * w), s)[0]
    return AmplifyingThreshold(critical_u=u_c, critical_s=sp.simplify(s_c))


def confidence_noise_map() -> NonlinearMap:
    r"""Scalar world with logit noise :math:`\varsigma = s\beta|u|` (the model's own log-odds
    of the pair): under the probit approximation the DPO step solves
    :math:`\beta u_{t+1} = m / \sqrt{1 + \pi\varsigma^2/8}` with
    :math:`m = \alpha\beta w + (1-\alpha)\beta u`."""
    margin = alpha * beta * w + (1 - alpha) * beta * u
    update = margin / sp.sqrt(1 + sp.pi * s**2 * beta**2 * u**2 / 8) / beta
    identity = sp.simplify(update.subs(s, 0))
    return NonlinearMap(update=update, rate=sp.diff(update, u),
                        fixed_point_equation=update - u, identity_update=identity)


@dataclass(frozen=True)
class VanishingSignal:
    """S1 as the signal share goes to zero (:func:`vanishing_signal`)."""

    rate_limit: sp.Expr  #: :math:`\lim_{\alpha\to0}(1 - \alpha) = 1`
    rounds: sp.Expr  #: rounds to shrink the error by :math:`\epsilon`
    rounds_leading: sp.Expr  #: the leading term of ``rounds`` as alpha -> 0
    stationary_variance: sp.Expr  #: fixed point of :math:`V_{t+1} = (1-\alpha)^2 V_t + \sigma^2`
    variance_limit: sp.Expr  #: its limit as alpha -> 0
    map_at_zero: sp.Expr  #: the S1 map at alpha = 0 (the identity)


def vanishing_signal() -> VanishingSignal:
    r"""The S1 map :math:`e_{t+1} = (1 - \alpha) e_t`, the rounds
    :math:`\log\epsilon / \log(1 - \alpha)` it needs to multiply the error by
    :math:`\epsilon`, and the stationary variance of
    :math:`e_{t+1} = (1 - \alpha) e_t + \xi_t` with independent :math:`\xi_t` of variance
    :math:`\sigma^2`."""
    V = sp.symbols("V", positive=True)
    rounds = sp.log(epsilon) / sp.log(1 - alpha)
    leading = sp.limit(rounds * alpha, alpha, 0, "+") / alpha
    stationary = sp.solve(sp.Eq(V, (1 - alpha) ** 2 * V + sigma2), V)[0]
    ws, ut = sp.symbols("w^* u_t", real=True)
    return VanishingSignal(
        rate_limit=sp.limit(1 - alpha, alpha, 0), rounds=rounds, rounds_leading=leading,
        stationary_variance=sp.factor(stationary),
        variance_limit=sp.limit(stationary, alpha, 0, "+"),
        map_at_zero=(alpha * ws + (1 - alpha) * ut).subs(alpha, 0))
