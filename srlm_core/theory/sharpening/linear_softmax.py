r"""Theorem 6.2 and Corollary 6.4 in SymPy: the linear-softmax population update, the round at
which it leaves the ball, and the two complexity terms of the bound.

1. :func:`population_update` - with :math:`r_t=\log\pi_{\theta_t}` a pair's label is
   :math:`\theta_t\cdot\Delta\phi`, and Eq. 3's residual vanishes for every :math:`\Delta\phi`
   exactly when :math:`\beta(\theta-\theta_t)=\theta_t`: :math:`\theta_{t+1}=(1+1/\beta)\theta_t`,
   so :math:`\theta_T=(1+1/\beta)^T\theta_0` (the recurrence solved by ``rsolve``).
2. :func:`realizability_horizon` - Definition 6.1's class is the ball
   :math:`\lVert\theta\rVert\le B`, so Assumption 5.1 holds only while
   :math:`(1+1/\beta)^T\lVert\theta_0\rVert\le B`:
   :math:`T^\dagger=\log(B/\lVert\theta_0\rVert)/\log(1+1/\beta)`; with the paper's
   :math:`\beta=n^{-1/2}`, :math:`T^\dagger\sim2\log(B/\lVert\theta_0\rVert)/\log n`.
3. :func:`metric_entropy` - Theorem 6.2's complexity, a net of size :math:`(3B/\epsilon)^d` at
   :math:`\epsilon=1/n`: :math:`d\log(3Bn)`; with the smallest radius that keeps every round
   realizable it grows linearly in :math:`T`.
4. :func:`effective_dimension` - Corollary 6.4: for :math:`\lambda_j=C_0e^{-aj}`,
   :math:`d_\lambda=\sum_j\lambda_j/(\lambda_j+\lambda)` lies between the integrals of its
   decreasing summand over :math:`[1,\infty)` and :math:`[0,\infty)`:
   :math:`\frac1a\log(1+C_0e^{-a}/\lambda)\le d_\lambda\le\frac1a\log(1+C_0/\lambda)`, free of
   :math:`d`.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

beta, n, B, a, C0, lam, eps = sp.symbols("beta n B a C_0 lambda epsilon", positive=True)
norm0 = sp.Symbol("norm0", positive=True)  # the norm of theta_0
T, t, d = sp.symbols("T t d", positive=True, integer=True)
theta, theta_t, theta0, x = sp.symbols("theta theta_t theta_0 x", real=True)


def latex(expr: sp.Expr) -> str:
    r"""``sympy.latex`` with :math:`\lVert\theta_0\rVert` for the norm symbol."""
    return sp.latex(expr, symbol_names={norm0: r"\lVert\theta_0\rVert"})


@dataclass(frozen=True)
class PopulationUpdate:
    """The zero-loss step and its iterate."""

    step: sp.Expr      # theta_{t+1} in terms of theta_t
    iterate: sp.Expr   # theta_t in terms of theta_0


def population_update() -> PopulationUpdate:
    r"""Solve :math:`\beta(\theta-\theta_t)-\theta_t=0` (the residual per unit of
    :math:`\Delta\phi`) and the recurrence :math:`\theta_{t+1}=(1+1/\beta)\theta_t`."""
    (step,) = sp.solve(sp.Eq(beta * (theta - theta_t), theta_t), theta)
    f = sp.Function("theta")
    solution = sp.rsolve(f(t + 1) - step.subs(theta_t, f(t)), f(t), {f(0): theta0})
    return PopulationUpdate(sp.simplify(step), sp.simplify(solution))


@dataclass(frozen=True)
class Horizon:
    """The last realizable round and its reading at :math:`\\beta=n^{-1/2}`."""

    horizon: sp.Expr        # T† in terms of beta
    horizon_root_n: sp.Expr  # T† at beta = n^{-1/2}
    ratio_limit: sp.Expr    # lim_{n→∞} T†(n) / (2 log(B/‖θ_0‖)/log n)


def realizability_horizon() -> Horizon:
    r"""Solve :math:`(1+1/\beta)^T\lVert\theta_0\rVert=B` for :math:`T` (the fourth weak point
    of the proofs: realizability in the ball couples :math:`T` and :math:`B`); the solution is
    returned as :math:`\log(B/\lVert\theta_0\rVert)/\log(1+1/\beta)` after checking that it
    equals SymPy's."""
    (solved,) = sp.solve(sp.Eq((1 + 1 / beta) ** T * norm0, B), T)
    horizon = sp.log(B / norm0) / sp.log(1 + 1 / beta)
    if sp.simplify(sp.expand_log(solved - horizon, force=True)) != 0:
        raise ArithmeticError(f"unexpected solution {solved}")
    root_n = sp.log(B / norm0) / sp.log(1 + sp.sqrt(n))
    if sp.simplify(sp.expand_log(horizon.subs(beta, n ** sp.Rational(-1, 2)) - root_n,
                                 force=True)) != 0:
        raise ArithmeticError("unexpected horizon at beta = n^(-1/2)")
    ratio = sp.limit(root_n / (2 * sp.log(B / norm0) / sp.log(n)), n, sp.oo)
    return Horizon(horizon, root_n, sp.simplify(sp.expand_log(ratio, force=True)))


@dataclass(frozen=True)
class MetricEntropy:
    """Theorem 6.2's complexity and its size at the smallest realizable radius."""

    complexity: sp.Expr           # d log(3 B n)
    at_realizable_radius: sp.Expr  # with B = (1+1/beta)^T ||theta_0||
    per_round: sp.Expr            # its derivative in T


def metric_entropy() -> MetricEntropy:
    r""":math:`\log(3B/\epsilon)^d` at :math:`\epsilon=1/n`, and with :math:`B` the smallest
    radius that contains :math:`\theta_T` (:func:`population_update`)."""
    complexity = sp.expand_log(sp.log((3 * B / eps) ** d).subs(eps, 1 / n), force=True)
    radius = population_update().iterate.subs({t: T, theta0: norm0})
    at_radius = sp.expand_log(complexity.subs(B, radius), force=True)
    return MetricEntropy(complexity, at_radius, sp.factor(sp.diff(at_radius, T)))


@dataclass(frozen=True)
class EffectiveDimension:
    """Corollary 6.4's :math:`d_\\lambda` for exponential decay and its two integral bounds."""

    summand: sp.Expr  # lambda_j / (lambda_j + lambda) at j = x
    upper: sp.Expr    # integral over [0, ∞)
    lower: sp.Expr    # integral over [1, ∞)
    decreasing: sp.Expr  # the summand's derivative in x (negative)


def effective_dimension() -> EffectiveDimension:
    r"""Integrate :math:`f(x)=C_0e^{-ax}/(C_0e^{-ax}+\lambda)`; since :math:`f` decreases,
    :math:`\int_1^\infty f\le\sum_{j\ge1}f(j)\le\int_0^\infty f` for every :math:`d`."""
    summand = C0 * sp.exp(-a * x) / (C0 * sp.exp(-a * x) + lam)
    upper = sp.simplify(sp.integrate(summand, (x, 0, sp.oo)))
    lower = sp.simplify(sp.integrate(summand, (x, 1, sp.oo)))
    return EffectiveDimension(summand, upper, lower, sp.simplify(sp.diff(summand, x)))
