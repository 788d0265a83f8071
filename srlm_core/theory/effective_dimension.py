"""S5 in SymPy: the effective dimension of a polynomially decaying spectrum, and the ridge that
balances bias and variance.

Sigma has eigenvalues mu_j = mu_1 j^(-p), p > 1, and d_eff(lambda) = tr(Sigma (Sigma + lambda I)^-1)
= sum_{j<=d} f(j) with f(x) = 1 / (1 + (lambda / mu_1) x^p).  The derivation, step by step:

1. :func:`integral_constant` - int_0^oo du / (1 + u^p) = (pi/p) / sin(pi/p) =: C_p.
2. :func:`effective_dimension_integral` - int_0^oo f = C_p (lambda/mu_1)^(-1/p).
3. :func:`integral_comparison` - f decreases and 0 < f <= 1, so for every d
   C_p (lambda/mu_1)^(-1/p) - 1 <= d_eff(lambda; d = oo) and
   d_eff(lambda; d) <= C_p (lambda/mu_1)^(-1/p):
   d_eff = Theta(lambda^(-1/p)), with an upper bound free of d.
4. :func:`second_order_risk` - one eigendirection of the linearised ridge estimator
   delta = -lambda (Sigma + lambda)^-1 w* + (Sigma + lambda)^-1 g, Cov g = Sigma / n: its risk
   E delta^2 mu splits into bias lambda^2 mu w^2 / (mu + lambda)^2 and variance
   mu^2 / (n (mu + lambda)^2), bounded termwise by lambda w^2 / 4 and mu / (n (mu + lambda)).
   Summed: E ||theta_hat - theta*||_Sigma^2 <= lambda ||w*||^2 / 4 + d_eff(lambda) / n.
5. :func:`balanced_ridge` - minimising lambda W^2 / 4 + C_p (lambda/mu_1)^(-1/p) / n gives
   lambda* ∝ n^(-p/(p+1)), d_eff(lambda*) ∝ n^(1/(p+1)) and the rate n^(-p/(p+1)), none of which
   involves d.  As lambda -> 0 the variance term is d / n instead.
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
    """C_p = int_0^oo du / (1 + u^p), valid for p > 1."""
    return sp.simplify(_convergent_branch(sp.integrate(1 / (1 + u**p), (u, 0, sp.oo))))


def spectrum_term(at: sp.Expr = x) -> sp.Expr:
    """f(x) = mu(x) / (mu(x) + lambda) with mu(x) = mu_1 x^(-p): the contribution of one
    eigendirection to d_eff."""
    mu = mu1 * at ** (-p)
    return mu / (mu + lam)


def effective_dimension_integral() -> sp.Expr:
    """int_0^oo f(x) dx = C_p (lambda / mu_1)^(-1/p)."""
    f = sp.simplify(spectrum_term())
    return sp.powsimp(sp.simplify(_convergent_branch(sp.integrate(f, (x, 0, sp.oo)))), force=True)


def effective_dimension_asymptotic() -> sp.Expr:
    """The closed form C_p (lambda / mu_1)^(-1/p) that :func:`effective_dimension_integral`
    must equal."""
    return integral_constant() * (lam / mu1) ** (-1 / p)


@dataclass(frozen=True)
class IntegralComparison:
    upper: sp.Expr  # bounds d_eff(lambda; d) for every d: int_0^oo f
    lower: sp.Expr  # bounds d_eff(lambda; oo) from below: int_0^oo f - 1 <= int_1^oo f
    derivative: sp.Expr  # f'(x), negative: f decreases
    head: sp.Expr  # int_0^1 f <= 1 since 0 < f <= 1


def integral_comparison() -> IntegralComparison:
    """For a decreasing f >= 0: int_1^{d+1} f <= sum_{j=1}^d f(j) <= int_0^d f <= int_0^oo f."""
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
    bias: sp.Expr  # mu E[delta]^2
    variance: sp.Expr  # mu Var(delta)
    bias_slack: sp.Expr  # lambda w^2 / 4 - bias, >= 0
    variance_slack: sp.Expr  # mu / (n (mu + lambda)) - variance, >= 0


def second_order_risk() -> DirectionRisk:
    """One eigendirection (eigenvalue mu, target coordinate w) of the ridge estimator linearised
    at the truth: delta = (-lambda w + g) / (mu + lambda), E g = 0, Var g = mu / n."""
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
    risk_bound: sp.Expr  # U(lambda) = lambda W^2 / 4 + C_p (lambda/mu_1)^(-1/p) / n
    lam_star: sp.Expr  # argmin U
    d_eff_star: sp.Expr  # C_p (lambda*/mu_1)^(-1/p)
    risk_star: sp.Expr  # U(lambda*)
    rate: sp.Expr  # d log U(lambda*) / d log n = -p / (p + 1)
    d_eff_rate: sp.Expr  # d log d_eff(lambda*) / d log n = 1 / (p + 1)


def balanced_ridge() -> BalancedRidge:
    """Balance bias lambda W^2 / 4 against variance d_eff(lambda) / n with the d-free
    asymptotic d_eff: U'(lambda*) = 0."""
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
    """lim_{lambda -> 0} sum_{j<=d} mu_j^2 / (n (mu_j + lambda)^2) = d / n: every direction
    counts fully, however small its variance."""
    mu = sp.symbols("mu", positive=True)
    return d * sp.limit(mu**2 / (n * (mu + lam) ** 2), lam, 0)


def numeric(expr: sp.Expr, **values: float) -> float:
    """Evaluate one of the expressions above at numbers, e.g. ``numeric(lam_star, p=2, ...)``."""
    table = {"p": p, "lam": lam, "mu1": mu1, "n": n, "W": W, "d": d}
    return float(expr.subs({table[k]: v for k, v in values.items()}))
