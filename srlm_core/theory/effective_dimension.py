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
"""

from __future__ import annotations

from dataclasses import dataclass

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


def unregularised_variance() -> sp.Expr:
    r""":math:`\lim_{\lambda \to 0} \sum_{j \le d} \mu_j^2 / (n (\mu_j + \lambda)^2) = d / n`:
    every direction counts fully, however small its variance."""
    mu = sp.symbols("mu", positive=True)
    return d * sp.limit(mu**2 / (n * (mu + lam) ** 2), lam, 0)


def numeric(expr: sp.Expr, **values: float) -> float:
    """Evaluate one of the expressions above at numbers, e.g. ``numeric(lam_star, p=2, ...)``."""
    table = {"p": p, "lam": lam, "mu1": mu1, "n": n, "W": W, "d": d}
    return float(expr.subs({table[k]: v for k, v in values.items()}))
