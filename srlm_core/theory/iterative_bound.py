r"""S4 in SymPy: the iterative finite-sample bound, its geometric sums and its trade-off.

Each finite-sample step is the population contraction of S1 plus an estimation error
:math:`\xi_t` (the DPO step is a well-specified logistic regression, so with
:math:`\lambda = 0` this is exact):

.. math:: \theta_{t+1} - \theta^* = (1 - \alpha)(\theta_t - \theta^*) + \xi_t.

The derivation, step by step (each function returns the SymPy objects the book renders):

1. :func:`unrolled_recursion` - taking norms,
   :math:`e_{t+1} \le (1 - \alpha) e_t + \varepsilon_t` with
   :math:`\varepsilon_t \ge \|\xi_t\|`; unrolled,

   .. math:: e_T \le (1 - \alpha)^T e_0 + \sum_{k<T} (1 - \alpha)^{T-1-k} \varepsilon_k.

2. :func:`geometric_sum` - :math:`\sum_{k<T} (1 - \alpha)^{T-1-k} = (1 - (1 - \alpha)^T) /
   \alpha \to 1 / \alpha`, so with :math:`\varepsilon_k \le \varepsilon` the bound is
   :math:`(1 - \alpha)^T e_0 + \varepsilon (1 - (1 - \alpha)^T) / \alpha`.
3. :func:`stationary_variance` - the mean square of the linear-Gaussian recursion,
   :math:`m_{t+1} = (1 - \alpha)^2 m_t + v`, solves to
   :math:`(1 - \alpha)^{2t} m_0 + v \frac{1 - (1 - \alpha)^{2t}}{1 - (1 - \alpha)^2}
   \to \frac{v}{\alpha (2 - \alpha)}`: iterating amplifies the per-step noise :math:`v` by
   :math:`1 / (1 - (1 - \alpha)^2)`.
4. :func:`burn_in` - :math:`T^*`, where the initial term :math:`(1 - \alpha)^T e_0` falls to
   the statistical term :math:`\varepsilon / \alpha`; with :math:`\varepsilon = c / \sqrt n`,
   :math:`T^* = \log(\alpha e_0 \sqrt n / c) / \log(1 / (1 - \alpha))`.
5. :func:`one_step_versus_iterating` - with a budget of :math:`N = nT` samples, one step with
   all of them has mean square :math:`(1 - \alpha)^2 e_0^2 + v / T`, :math:`T` iterations of
   :math:`n` have the recursion's mean square; the critical :math:`e_0` below which one step
   wins.
6. :func:`triangle_slack` - the price of the triangle inequality: with equal per-step root
   mean squares :math:`\sqrt v`, the bound adds them with weights :math:`(1-\alpha)^{T-1-k}`
   where independent errors add in quadrature; the ratio tends to
   :math:`\sqrt{(2-\alpha)/\alpha}`.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

alpha = sp.symbols("alpha", positive=True)
T = sp.symbols("T", integer=True, positive=True)
t, k = sp.symbols("t k", integer=True, nonnegative=True)
e0 = sp.symbols("e_0", nonnegative=True)
eps, v, c, n = sp.symbols("varepsilon v c n", positive=True)


@dataclass(frozen=True)
class Unrolled:
    """The unrolled error recursion (:func:`unrolled_recursion`)."""

    #: the one-step inequality's right-hand side, :math:`e_{t+1} \le \dots`
    recursion: sp.Expr
    #: :math:`(1 - \alpha)^T e_0 + \sum_{k<T} (1 - \alpha)^{T-1-k} \varepsilon_k`
    closed_form: sp.Expr
    iterated: list[sp.Expr]  #: the recursion iterated by hand for T = 1, 2, ...
    closed: list[sp.Expr]  #: the closed form evaluated at the same T


def unrolled_recursion(max_T: int = 5) -> Unrolled:
    r"""Unroll :math:`e_{t+1} = (1 - \alpha) e_t + \varepsilon_t` (the worst case of the
    inequality).

    Returns the symbolic closed form with an unevaluated sum and, for T = 1..max_T, the
    recursion iterated step by step next to the closed form (they are equal term by term)."""
    eps_k = sp.IndexedBase("varepsilon")
    e = sp.Function("e")
    recursion = (1 - alpha) * e(t) + eps_k[t]
    noise = sp.Sum((1 - alpha) ** (T - 1 - k) * eps_k[k], (k, 0, T - 1))
    closed_form = (1 - alpha) ** T * e0 + noise
    iterated, closed = [], []
    value = e0
    for step in range(max_T):
        value = (1 - alpha) * value + eps_k[step]
        iterated.append(sp.expand(value))
        closed.append(sp.expand(closed_form.subs(T, step + 1).doit()))
    return Unrolled(recursion=recursion, closed_form=closed_form, iterated=iterated, closed=closed)


def _limit_large_T(expr: sp.Expr) -> sp.Expr:
    """lim_{T -> oo} for 0 < alpha < 1: write 1 - alpha = 1/(1 + b) with b > 0 so that SymPy
    knows (1 - alpha)^T -> 0, take the limit, and map back (b = alpha / (1 - alpha))."""
    b = sp.symbols("b", positive=True)
    limit = sp.limit(sp.simplify(expr.subs(alpha, b / (1 + b))), T, sp.oo)
    return sp.factor(sp.simplify(limit.subs(b, alpha / (1 - alpha))))


def _generic(expr: sp.Expr) -> sp.Expr:
    """The generic branch of a SymPy summation result (ratio != 1, i.e. alpha != 0)."""
    return expr.args[-1][0] if isinstance(expr, sp.Piecewise) else expr


def equal(lhs: sp.Expr, rhs: sp.Expr) -> bool:
    r"""Whether two expressions in :math:`\alpha` agree identically for
    :math:`0 < \alpha < 1`: the difference, written in :math:`a = 1 - \alpha > 0` (so
    :math:`(\alpha - 1)^{2t} = a^{2t}` for integer :math:`t`), simplifies to 0."""
    a = sp.symbols("a", positive=True)
    difference = sp.expand(sp.expand_log((lhs - rhs).subs(alpha, 1 - a), force=True))
    return sp.simplify(sp.powsimp(difference, force=True)) == 0


@dataclass(frozen=True)
class GeometricSum:
    """The geometric sums of S4 (:func:`geometric_sum`)."""

    finite: sp.Expr  #: :math:`\sum_{k<T} (1 - \alpha)^{T-1-k}` as SymPy sums it
    finite_stated: sp.Expr  #: :math:`(1 - (1 - \alpha)^T) / \alpha`
    limit: sp.Expr  #: the limit in :math:`T` of the finite sum: :math:`1 / \alpha`
    #: :math:`(1 - \alpha)^T e_0 + \varepsilon (1 - (1 - \alpha)^T) / \alpha`
    uniform_bound: sp.Expr
    squared_finite: sp.Expr  #: :math:`\sum_{k<T} (1 - \alpha)^{2(T-1-k)}` as SymPy sums it
    squared_stated: sp.Expr  #: :math:`(1 - (1 - \alpha)^{2T}) / (1 - (1 - \alpha)^2)`
    squared_limit: sp.Expr  #: :math:`1 / (\alpha (2 - \alpha))`


def geometric_sum() -> GeometricSum:
    r"""The two geometric sums of S4 in closed form (:math:`0 < \alpha \le 1`)."""
    finite = _generic(sp.summation((1 - alpha) ** (T - 1 - k), (k, 0, T - 1)))
    squared = _generic(sp.summation((1 - alpha) ** (2 * (T - 1 - k)), (k, 0, T - 1)))
    finite_stated = (1 - (1 - alpha) ** T) / alpha
    return GeometricSum(
        finite=finite,
        finite_stated=finite_stated,
        limit=_limit_large_T(finite),
        uniform_bound=(1 - alpha) ** T * e0 + eps * finite_stated,
        squared_finite=squared,
        squared_stated=(1 - (1 - alpha) ** (2 * T)) / (1 - (1 - alpha) ** 2),
        squared_limit=_limit_large_T(squared),
    )


@dataclass(frozen=True)
class StationaryVariance:
    """The mean square of the linear-Gaussian recursion (:func:`stationary_variance`)."""

    #: :math:`m_t` solving :math:`m_{t+1} = (1 - \alpha)^2 m_t + v`, :math:`m_0 = e_0^2`
    solution: sp.Expr
    #: :math:`(1 - \alpha)^{2t} e_0^2 + v (1 - (1 - \alpha)^{2t}) / (1 - (1 - \alpha)^2)`
    stated: sp.Expr
    stationary: sp.Expr  #: :math:`\lim_t m_t`
    amplification: sp.Expr  #: ``stationary`` / :math:`v`
    amplification_stated: sp.Expr  #: :math:`1 / (1 - (1 - \alpha)^2)`


def stationary_variance() -> StationaryVariance:
    r"""Mean square of :math:`\delta_{t+1} = (1 - \alpha) \delta_t + \xi_t` with
    :math:`\mathbb E \xi_t = 0`, :math:`\mathbb E \|\xi_t\|^2 = v` and :math:`\xi_t` independent
    of the past: :math:`m_{t+1} = (1 - \alpha)^2 m_t + v` (the cross term vanishes)."""
    m = sp.Function("m")
    solution = sp.rsolve(m(t + 1) - (1 - alpha) ** 2 * m(t) - v, m(t), {m(0): e0**2})
    stated = (1 - alpha) ** (2 * t) * e0**2 + v * (1 - (1 - alpha) ** (2 * t)) / (
        1 - (1 - alpha) ** 2
    )
    stationary = _limit_large_T(solution.subs(t, T))
    return StationaryVariance(
        solution=solution,
        stated=stated,
        stationary=stationary,
        amplification=sp.factor(sp.simplify(stationary / v)),
        amplification_stated=1 / (1 - (1 - alpha) ** 2),
    )


@dataclass(frozen=True)
class BurnIn:
    """The burn-in iteration :math:`T^*` (:func:`burn_in`)."""

    equation: sp.Eq  #: :math:`(1 - \alpha)^T e_0 = \varepsilon / \alpha`
    T_star: sp.Expr  #: its solution, as SymPy solves it
    stated: sp.Expr  #: :math:`\log(\alpha e_0 / \varepsilon) / \log(1 / (1 - \alpha))`
    #: with :math:`\varepsilon = c / \sqrt n`:
    #: :math:`\log(\alpha e_0 \sqrt n / c) / \log(1 / (1 - \alpha))`
    rate_stated: sp.Expr


def burn_in() -> BurnIn:
    r""":math:`T^*`: the iteration at which the initial term equals the statistical term
    :math:`\varepsilon / \alpha` (the limit of the geometric sum); past :math:`T^*` the bound is
    within a factor 2 of its floor."""
    Ts = sp.symbols("T", positive=True)
    equation = sp.Eq((1 - alpha) ** Ts * e0, eps / alpha)
    (solution,) = sp.solve(equation, Ts)
    stated = sp.log(alpha * e0 / eps) / sp.log(1 / (1 - alpha))
    return BurnIn(
        equation=equation,
        T_star=solution,
        stated=stated,
        rate_stated=sp.log(alpha * e0 * sp.sqrt(n) / c) / sp.log(1 / (1 - alpha)),
    )


@dataclass(frozen=True)
class OneStepVersusIterating:
    """One step or :math:`T` steps on the same budget (:func:`one_step_versus_iterating`)."""

    one_step: sp.Expr  #: mean square of one step with all :math:`N = nT` samples
    iterating: sp.Expr  #: mean square after :math:`T` steps of :math:`n` samples each
    critical_e0_squared: sp.Expr  #: :math:`e_0^2` at which they are equal, as SymPy solves it
    critical_stated: sp.Expr  #: the same, written with the geometric sum


def one_step_versus_iterating() -> OneStepVersusIterating:
    r"""Same budget, two uses: one step with :math:`nT` samples keeps the floor
    :math:`(1 - \alpha)^2 e_0^2` but has noise :math:`v / T`; :math:`T` steps of :math:`n`
    samples forget :math:`e_0` but accumulate amplified noise.  Iterating has the smaller mean
    square exactly when :math:`e_0^2` exceeds the critical value."""
    one_step = (1 - alpha) ** 2 * e0**2 + v / T
    variance = stationary_variance()
    iterating = variance.stated.subs(t, T)
    (critical,) = sp.solve(sp.Eq(one_step, iterating), e0**2)
    a = 1 - alpha
    amplified = (1 - a ** (2 * T)) / (1 - a**2)
    critical_stated = v * (amplified - 1 / T) / (a**2 * (1 - a ** (2 * T - 2)))
    return OneStepVersusIterating(
        one_step=one_step,
        iterating=iterating,
        critical_e0_squared=critical,
        critical_stated=critical_stated,
    )


@dataclass(frozen=True)
class TriangleSlack:
    """The triangle inequality's factor (:func:`triangle_slack`)."""

    #: :math:`\sum_{k<T} w_k \big/ \sqrt{\sum_{k<T} w_k^2}`, :math:`w_k = (1-\alpha)^{T-1-k}`
    finite: sp.Expr
    limit: sp.Expr  #: its limit in T, as SymPy takes it
    limit_stated: sp.Expr  #: :math:`\sqrt{(2 - \alpha) / \alpha}`


def triangle_slack() -> TriangleSlack:
    r"""With equal per-step root mean squares :math:`\sqrt v` the triangle inequality adds
    :math:`\sum_k w_k \sqrt v`, while independent zero-mean errors have root mean square
    :math:`\sqrt{v \sum_k w_k^2}`; their ratio, from the two geometric sums of
    :func:`geometric_sum`, and its limit :math:`\sqrt{(2-\alpha)/\alpha}`."""
    g = geometric_sum()
    finite = g.finite_stated / sp.sqrt(g.squared_stated)
    limit = sp.sqrt(sp.factor(sp.simplify(g.limit**2 / g.squared_limit)))
    return TriangleSlack(finite=finite, limit=limit, limit_stated=sp.sqrt((2 - alpha) / alpha))
