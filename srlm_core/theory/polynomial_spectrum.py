r"""S5 in SymPy: the effective dimension of a polynomially decaying spectrum, and the ridge that
balances bias and variance.

:math:`\Sigma` has eigenvalues :math:`\mu_j = \mu_1 j^{-p}`, :math:`p > 1`, and

.. math::

   d_{\mathrm{eff}}(\lambda) = \operatorname{tr}(\Sigma (\Sigma + \lambda I)^{-1})
   = \sum_{j \le d} f(j), \qquad f(x) = \frac{1}{1 + (\lambda / \mu_1) x^p}.

The derivation, step by step:

1. :func:`integral_constant` - :math:`\int_0^\infty \frac{du}{1 + u^p}
   = \frac{\pi/p}{\sin(\pi/p)} =: C_p`.
2. :func:`effective_dimension_integral` - :math:`\int_0^\infty f = C_p
   (\lambda/\mu_1)^{-1/p}`.
3. :func:`integral_comparison` - :math:`f` decreases and :math:`0 < f \le 1`, so for every
   :math:`d`, :math:`C_p (\lambda/\mu_1)^{-1/p} - 1 \le d_{\mathrm{eff}}(\lambda; d = \infty)`
   and :math:`d_{\mathrm{eff}}(\lambda; d) \le C_p (\lambda/\mu_1)^{-1/p}`:
   :math:`d_{\mathrm{eff}} = \Theta(\lambda^{-1/p})`, with an upper bound free of :math:`d`.
4. :func:`second_order_risk` - one eigendirection of the linearised ridge estimator
   :math:`\delta = -\lambda (\Sigma + \lambda)^{-1} w^* + (\Sigma + \lambda)^{-1} g`,
   :math:`\operatorname{Cov} g = \Sigma / n`: its risk :math:`\mu\, \mathbb E \delta^2` splits
   into bias :math:`\lambda^2 \mu w^2 / (\mu + \lambda)^2` and variance
   :math:`\mu^2 / (n (\mu + \lambda)^2)`, bounded termwise by :math:`\lambda w^2 / 4` and
   :math:`\mu / (n (\mu + \lambda))`.  Summed:

   .. math:: \mathbb E \|\hat\theta - \theta^*\|_\Sigma^2 \le \lambda \|w^*\|^2 / 4
      + d_{\mathrm{eff}}(\lambda) / n.

5. :func:`balanced_ridge` - minimising :math:`\lambda W^2 / 4 + C_p (\lambda/\mu_1)^{-1/p} / n`
   gives :math:`\lambda^* \propto n^{-p/(p+1)}`,
   :math:`d_{\mathrm{eff}}(\lambda^*) \propto n^{1/(p+1)}` and the rate :math:`n^{-p/(p+1)}`,
   none of which involves :math:`d`.  As :math:`\lambda \to 0` the variance term is
   :math:`d / n` instead.
6. :func:`iterated_ridge` - the same ridge inside the iterated procedure with signal share
   :math:`\alpha < 1`.  Linearising the population round at its fixed point gives the map
   :math:`u' = \mu (\alpha w + (1 - \alpha) u) / (\mu + \lambda)` per eigendirection, whose
   fixed point is biased by :math:`\lambda / (\alpha \mu + \lambda)`: the effective ridge
   is :math:`\lambda / \alpha`.  The stationary risk is bounded by
   :math:`U_\alpha(\lambda) = \lambda W^2 / (4 \alpha) +
   d_{\mathrm{eff}}(\lambda / \alpha) / (\alpha (2 - \alpha) n)`, whose minimiser is the
   one-step :math:`\lambda^*` times :math:`\alpha^{1/(p+1)} (2 - \alpha)^{-p/(p+1)}`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import sympy as sp

p = sp.symbols("p", positive=True)
lam = sp.symbols("lambda", positive=True)
mu1 = sp.symbols("mu_1", positive=True)
n = sp.symbols("n", positive=True)
W = sp.symbols("W", positive=True)  # ||w*||
x, u = sp.symbols("x u", positive=True)
d = sp.symbols("d", positive=True, integer=True)


def _convergent_branch(result: sp.Expr) -> sp.Expr:
    """SymPy returns Piecewise((value, 1/p < 1), (unevaluated, True)); take the p > 1 branch."""
    if isinstance(result, sp.Piecewise):
        value, condition = result.args[0]
        assert condition == (1 / p < 1), condition
        return value
    return result


def integral_constant() -> sp.Expr:
    r""":math:`C_p = \int_0^\infty du / (1 + u^p)`, valid for :math:`p > 1`."""
    return sp.simplify(_convergent_branch(sp.integrate(1 / (1 + u**p), (u, 0, sp.oo))))


def spectrum_term(at: sp.Expr = x) -> sp.Expr:
    r""":math:`f(x) = \mu(x) / (\mu(x) + \lambda)` with :math:`\mu(x) = \mu_1 x^{-p}`: the
    contribution of one eigendirection to :math:`d_{\mathrm{eff}}`."""
    mu = mu1 * at ** (-p)
    return mu / (mu + lam)


def effective_dimension_integral() -> sp.Expr:
    r""":math:`\int_0^\infty f(x)\, dx = C_p (\lambda / \mu_1)^{-1/p}`."""
    f = sp.simplify(spectrum_term())
    return sp.powsimp(sp.simplify(_convergent_branch(sp.integrate(f, (x, 0, sp.oo)))), force=True)


def effective_dimension_asymptotic() -> sp.Expr:
    r"""The closed form :math:`C_p (\lambda / \mu_1)^{-1/p}` that
    :func:`effective_dimension_integral` must equal."""
    return integral_constant() * (lam / mu1) ** (-1 / p)


@dataclass(frozen=True)
class IntegralComparison:
    """Sum against integral (:func:`integral_comparison`)."""

    #: bounds :math:`d_{\mathrm{eff}}(\lambda; d)` for every :math:`d`: :math:`\int_0^\infty f`
    upper: sp.Expr
    #: bounds :math:`d_{\mathrm{eff}}(\lambda; \infty)` from below:
    #: :math:`\int_0^\infty f - 1 \le \int_1^\infty f`
    lower: sp.Expr
    derivative: sp.Expr  #: :math:`f'(x)`, negative: :math:`f` decreases
    head: sp.Expr  #: :math:`\int_0^1 f \le 1` since :math:`0 < f \le 1`


def integral_comparison() -> IntegralComparison:
    r"""For a decreasing :math:`f \ge 0`: :math:`\int_1^{d+1} f \le \sum_{j=1}^d f(j)
    \le \int_0^d f \le \int_0^\infty f`."""
    f = spectrum_term()
    upper = effective_dimension_asymptotic()
    return IntegralComparison(
        upper=upper,
        lower=upper - 1,
        derivative=sp.simplify(sp.diff(f, x)),
        head=sp.Integral(f, (x, 0, 1)),
    )


@dataclass(frozen=True)
class DirectionRisk:
    """The risk of one eigendirection (:func:`second_order_risk`)."""

    bias: sp.Expr  #: :math:`\mu\, \mathbb E[\delta]^2`
    variance: sp.Expr  #: :math:`\mu \operatorname{Var}(\delta)`
    bias_slack: sp.Expr  #: :math:`\lambda w^2 / 4 - \text{bias} \ge 0`
    variance_slack: sp.Expr  #: :math:`\mu / (n (\mu + \lambda)) - \text{variance} \ge 0`


def second_order_risk() -> DirectionRisk:
    r"""One eigendirection (eigenvalue :math:`\mu`, target coordinate :math:`w`) of the ridge
    estimator linearised at the truth: :math:`\delta = (-\lambda w + g) / (\mu + \lambda)`,
    :math:`\mathbb E g = 0`, :math:`\operatorname{Var} g = \mu / n`."""
    mu, w = sp.symbols("mu w", positive=True)
    mean = -lam * w / (mu + lam)
    var = (mu / n) / (mu + lam) ** 2
    bias, variance = sp.simplify(mu * mean**2), sp.simplify(mu * var)
    return DirectionRisk(
        bias=bias,
        variance=variance,
        bias_slack=sp.factor(lam * w**2 / 4 - bias),
        variance_slack=sp.factor(mu / (n * (mu + lam)) - variance),
    )


@dataclass(frozen=True)
class BalancedRidge:
    """The ridge that balances bias and variance (:func:`balanced_ridge`)."""

    #: :math:`U(\lambda) = \lambda W^2 / 4 + C_p (\lambda/\mu_1)^{-1/p} / n`
    risk_bound: sp.Expr
    lam_star: sp.Expr  #: :math:`\lambda^* = \operatorname{argmin} U`
    d_eff_star: sp.Expr  #: :math:`C_p (\lambda^*/\mu_1)^{-1/p}`
    risk_star: sp.Expr  #: :math:`U(\lambda^*)`
    rate: sp.Expr  #: :math:`d \log U(\lambda^*) / d \log n = -p / (p + 1)`
    #: :math:`d \log d_{\mathrm{eff}}(\lambda^*) / d \log n = 1 / (p + 1)`
    d_eff_rate: sp.Expr


def balanced_ridge() -> BalancedRidge:
    r"""Balance bias :math:`\lambda W^2 / 4` against variance
    :math:`d_{\mathrm{eff}}(\lambda) / n` with the :math:`d`-free asymptotic
    :math:`d_{\mathrm{eff}}`: :math:`U'(\lambda^*) = 0`."""
    d_eff = effective_dimension_asymptotic()
    risk = lam * W**2 / 4 + d_eff / n
    (lam_star,) = sp.solve(sp.diff(risk, lam), lam)
    lam_star = sp.powsimp(sp.simplify(lam_star), force=True)
    risk_star = sp.simplify(risk.subs(lam, lam_star))
    d_eff_star = sp.simplify(d_eff.subs(lam, lam_star))

    def elasticity(expr: sp.Expr) -> sp.Expr:
        return sp.simplify(n * sp.diff(sp.expand_log(sp.log(expr), force=True), n))

    return BalancedRidge(
        risk_bound=risk,
        lam_star=lam_star,
        d_eff_star=d_eff_star,
        risk_star=risk_star,
        rate=elasticity(risk_star),
        d_eff_rate=elasticity(d_eff_star),
    )


alpha = sp.symbols("alpha", positive=True)


@dataclass(frozen=True)
class IteratedRidge:
    """Ridge inside the iterated procedure, one eigendirection (:func:`iterated_ridge`)."""

    #: :math:`u_{t+1}` as a function of :math:`u_t`: :math:`\mu v_t / (\mu + \lambda)`
    round_map: sp.Expr
    contraction: sp.Expr  #: :math:`\partial u_{t+1} / \partial u_t = (1-\alpha)\mu/(\mu+\lambda)`
    fixed_point: sp.Expr  #: :math:`u_\infty = \alpha \mu w / (\alpha \mu + \lambda)`
    bias_factor: sp.Expr  #: :math:`(w - u_\infty) / w = \lambda / (\alpha \mu + \lambda)`
    #: :math:`\lambda_e = \lambda / \alpha`: the bias factor is
    #: :math:`\lambda_e / (\mu + \lambda_e)`
    effective_ridge: sp.Expr
    bias: sp.Expr  #: :math:`\mu (w - u_\infty)^2`
    variance: sp.Expr  #: :math:`\mu` times the stationary variance of :math:`u_t`
    bias_slack: sp.Expr  #: :math:`\lambda w^2 / (4 \alpha) - \text{bias} \ge 0`
    #: :math:`\mu / (\alpha (2 - \alpha) n (\mu + \lambda / \alpha)) - \text{variance} \ge 0`
    variance_slack: sp.Expr
    #: :math:`U_\alpha(\lambda) = \lambda W^2 / (4 \alpha) +
    #: C_p (\lambda / (\alpha \mu_1))^{-1/p} / (\alpha (2 - \alpha) n)`
    risk_bound: sp.Expr
    #: :math:`\lambda^*_\alpha = \operatorname{argmin} U_\alpha`, as :math:`\lambda^*_1` times
    #: ``lam_star_ratio``
    lam_star: sp.Expr
    #: :math:`\lambda^*_\alpha / \lambda^*_1 = \alpha^{1/(p+1)} (2 - \alpha)^{-p/(p+1)}`
    lam_star_ratio: sp.Expr
    risk_star_ratio: sp.Expr  #: :math:`U_\alpha(\lambda^*_\alpha) / U_1(\lambda^*_1)`
    #: :math:`U_\alpha(\lambda^*_1) / U_\alpha(\lambda^*_\alpha) \ge 1`: the cost of the
    #: one-step ridge in the iterated procedure
    one_step_cost: sp.Expr


@functools.cache
def iterated_ridge() -> IteratedRidge:
    r"""The ridge :math:`\lambda` inside the iterated procedure with signal share
    :math:`\alpha`, along one eigendirection (eigenvalue :math:`\mu` of the Fisher
    information of a pair, target coordinate :math:`w`).

    The judge's margin is :math:`\beta v_t \cdot \Delta` with
    :math:`v_t = \alpha w + (1 - \alpha) u_t`.  The linearised ridge DPO step solves
    :math:`\mu (u_{t+1} - v_t) + \lambda u_{t+1} = 0`.  At a fixed point
    :math:`v - u = \alpha (w - u)`, so the linearisation is in the bias :math:`u - w`, not in
    the signal.  Round noise of variance :math:`\mu / (n (\mu + \lambda)^2)` accumulates
    through the contraction :math:`a` to :math:`\cdot / (1 - a^2)`.  The balanced ridge
    minimises :math:`U_\alpha` with the :math:`d`-free :math:`d_{\mathrm{eff}}`."""
    mu, w = sp.symbols("mu w", positive=True)
    u_t, u_next = sp.symbols("u_t u_next", real=True)
    v_t = alpha * w + (1 - alpha) * u_t
    (round_map,) = sp.solve(mu * (u_next - v_t) + lam * u_next, u_next)
    contraction = sp.simplify(sp.diff(round_map, u_t))
    (fixed,) = sp.solve(round_map.subs(u_t, u_next) - u_next, u_next)
    fixed = sp.factor(fixed)
    bias_factor = sp.factor((w - fixed) / w)
    effective = lam / alpha
    if sp.simplify(bias_factor - effective / (mu + effective)) != 0:
        raise ArithmeticError(f"the bias factor {bias_factor} is not one step's at lambda/alpha")
    noise = mu / (n * (mu + lam) ** 2)
    bias = sp.factor(mu * (w - fixed) ** 2)
    variance = _same(mu * noise / (1 - contraction**2),
                     mu**2 / (n * (alpha * mu + lam) * ((2 - alpha) * mu + lam)))
    variance_slack = _same(
        mu / (alpha * (2 - alpha) * n * (mu + lam / alpha)) - variance,
        lam * mu / (n * (2 - alpha) * (alpha * mu + lam) * ((2 - alpha) * mu + lam)))
    c_p = sp.Symbol("C_p", positive=True)  # integral_constant(), kept symbolic until the end

    def risk_bound(share):
        d_eff = c_p * (lam / (share * mu1)) ** (-1 / p)
        return lam * W**2 / (4 * share) + d_eff / (share * (2 - share) * n)

    risk, risk_one = risk_bound(alpha), risk_bound(1)
    (lam_star,) = sp.solve(sp.diff(risk, lam), lam)
    (lam_one,) = sp.solve(sp.diff(risk_one, lam), lam)
    ratio = _same(lam_star / lam_one, alpha ** (1 / (p + 1)) * (2 - alpha) ** (-p / (p + 1)))
    risk_ratio = _same(risk.subs(lam, lam_star) / risk_one.subs(lam, lam_one),
                       (alpha * (2 - alpha)) ** (-p / (p + 1)))
    mismatch = 1 / ratio
    cost = _same(risk.subs(lam, lam_one) / risk.subs(lam, lam_star),
                 (mismatch + p * mismatch ** (-1 / p)) / (p + 1))
    one_step = balanced_ridge()
    if sp.simplify(lam_one.subs(c_p, integral_constant()) - one_step.lam_star) != 0:
        raise ArithmeticError(f"at alpha = 1 the balanced ridge {lam_one} is not S5's")
    return IteratedRidge(
        round_map=sp.factor(round_map),
        contraction=contraction,
        fixed_point=fixed,
        bias_factor=bias_factor,
        effective_ridge=effective,
        bias=bias,
        variance=variance,
        bias_slack=sp.factor(lam * w**2 / (4 * alpha) - bias),
        variance_slack=variance_slack,
        risk_bound=risk.subs(c_p, integral_constant()),
        lam_star=one_step.lam_star * ratio,
        lam_star_ratio=ratio,
        risk_star_ratio=risk_ratio,
        one_step_cost=cost,
    )


def _same(derived: sp.Expr, closed: sp.Expr) -> sp.Expr:
    r"""``closed`` after checking that it equals SymPy's ``derived`` form: symbolically, else at
    random points of the parameter range (:math:`0 < \alpha < 2`, :math:`p > 1`, the rest
    positive)."""
    if sp.simplify(sp.powsimp(sp.expand_power_base(derived - closed, force=True),
                              force=True)) == 0:
        return closed
    rng = np.random.default_rng(0)
    for _ in range(20):
        point = {s: float(rng.uniform(0.05, 1.95 if s == alpha else 3.0))
                 for s in derived.free_symbols | closed.free_symbols}
        point.update({p: 1.2 + 3 * rng.random()} if p in point else {})
        a, b = complex(derived.evalf(subs=point)), complex(closed.evalf(subs=point))
        if not abs(a - b) <= 1e-9 * max(1.0, abs(b)):
            raise ArithmeticError(f"{derived} is not {closed} at {point}")
    return closed


def unregularised_variance() -> sp.Expr:
    r""":math:`\lim_{\lambda \to 0} \sum_{j \le d} \mu_j^2 / (n (\mu_j + \lambda)^2) = d / n`:
    every direction counts fully, however small its variance."""
    mu = sp.symbols("mu", positive=True)
    return d * sp.limit(mu**2 / (n * (mu + lam) ** 2), lam, 0)


def numeric(expr: sp.Expr, **values: float) -> float:
    """Evaluate one of the expressions above at numbers, e.g. ``numeric(lam_star, p=2, ...)``."""
    table = {"p": p, "lam": lam, "mu1": mu1, "n": n, "W": W, "d": d, "alpha": alpha}
    return float(expr.subs({table[k]: v for k, v in values.items()}))
