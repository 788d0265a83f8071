r"""S2 in SymPy: the single-step limit of self-rewarding.

The derivation, step by step (each function returns the SymPy objects the book renders):

1. :func:`one_step_limit` - one population step from :math:`\theta_0` (S1's operator, reused
   from :mod:`srlm_core.theory.contraction_law`) lands at
   :math:`\theta_1 = \theta^* + (1 - \alpha)(\theta_0 - \theta^*)`.
2. :func:`kl_cumulant_series` - for a softmax family
   :math:`\operatorname{KL}(\pi^* \,\|\, \pi_{\theta^* + t g})` is the Bregman divergence of the
   log-partition, whose Taylor series in :math:`t` is
   :math:`\tfrac12 t^2 \operatorname{Var}_{\pi^*}(g \cdot \phi) + \tfrac16 t^3 \kappa_3 + O(t^4)`
   (:math:`\kappa_3` the third central moment): the quadratic term is
   :math:`\tfrac12 \|t g\|_F^2` with :math:`F = \operatorname{Cov}_{\pi^*}(\phi)`, and
   :math:`\kappa_3` sizes its error.
3. :func:`expected_quadratic_kl` - for an estimate :math:`\theta_1 + \xi` with
   :math:`\mathbb E \xi = 0` and :math:`\operatorname{Cov} \xi = (\beta^2 I_0)^{-1} / n`,

   .. math::

      \mathbb E\, \tfrac12 \|\hat\theta_1 - \theta^*\|_F^2
      = \tfrac12 (1 - \alpha)^2 \|\theta_0 - \theta^*\|_F^2
      + \frac{\operatorname{tr}(F I_0^{-1})}{2 n \beta^2}.

4. :func:`one_versus_iterated` - spending :math:`nT` samples on one step keeps the floor
   :math:`(1 - \alpha)^2 q_0`; :math:`T` steps of :math:`n` samples leave
   :math:`(1 - \alpha)^{2T} q_0` plus geometrically weighted per-step noise, and beat one step
   once :math:`n` exceeds a crossing size :math:`n_x`.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from srlm_core.theory import contraction_law

alpha, beta = contraction_law.alpha, contraction_law.beta
n, T = sp.symbols("n T", positive=True)
q0, v = sp.symbols("q_0 v", positive=True)  # 1/2 ||theta_0 - theta*||_F^2, per-sample variance
rho = sp.Symbol("rho", positive=True)  # the contraction factor 1 - alpha
RHO2 = rho**2


@dataclass(frozen=True)
class OneStepLimit:
    """Where one population step lands (:func:`one_step_limit`)."""

    error: sp.Expr  #: :math:`\theta_1 - \theta^*`, in one coordinate
    factor: sp.Expr  #: its ratio to :math:`\theta_0 - \theta^*`: :math:`1 - \alpha`
    #: :math:`\|\theta_1 - \theta^*\|^2 / \|\theta_0 - \theta^*\|^2`
    squared_floor_ratio: sp.Expr


def one_step_limit() -> OneStepLimit:
    r""":math:`\theta_1 - \theta^* = (1 - \alpha)(\theta_0 - \theta^*)`: S1's population
    operator applied once.

    The :math:`n = \infty` limit of one finite-sample step is this point because the step is a
    well-specified logistic regression (S1: its population minimiser is unique)."""
    c = contraction_law.contraction()
    return OneStepLimit(error=c.update, factor=c.factor, squared_floor_ratio=c.factor**2)


@dataclass(frozen=True)
class CumulantSeries:
    """The KL along a line and its Taylor polynomial (:func:`kl_cumulant_series`)."""

    #: :math:`\operatorname{KL}(\pi^* \,\|\, \pi_{\theta^* + t g})` for K responses, exact
    kl: sp.Expr
    series: sp.Expr  #: its Taylor polynomial in :math:`t` to order 3
    variance: sp.Expr  #: :math:`\operatorname{Var}_{\pi^*}(g \cdot \phi)`
    third_moment: sp.Expr  #: :math:`\mathbb E_{\pi^*}[(g \cdot \phi - \text{mean})^3]`
    t: sp.Symbol  #: the line parameter


def kl_cumulant_series(K: int = 3) -> CumulantSeries:
    r"""Taylor-expand :math:`\operatorname{KL}(\pi^* \,\|\, \pi)` along
    :math:`\pi = \operatorname{softmax}(a + t g)`, :math:`\pi^* = \operatorname{softmax}(a)`.

    Here :math:`a_k = \theta^* \cdot \phi_k` and :math:`g_k = (\theta - \theta^*) \cdot \phi_k`
    for K responses of one prompt.
    :math:`\operatorname{KL} = \log Z(a + t g) - \log Z(a) - t\, \mathbb E_{\pi^*}[g]`; its
    derivatives in :math:`t` at 0 are the cumulants of :math:`g` under :math:`\pi^*`."""
    t = sp.Symbol("t", real=True)
    a = sp.symbols(f"a_1:{K + 1}", real=True)
    g = sp.symbols(f"g_1:{K + 1}", real=True)
    Z0 = sum(sp.exp(ak) for ak in a)
    p_star = [sp.exp(ak) / Z0 for ak in a]
    log_Z = sp.log(sum(sp.exp(ak + t * gk) for ak, gk in zip(a, g)))
    mean = sum(p * gk for p, gk in zip(p_star, g))
    kl = log_Z - sp.log(Z0) - t * mean
    series = sum(
        sp.simplify(sp.diff(kl, t, m).subs(t, 0)) * t**m / sp.factorial(m) for m in range(4)
    )
    variance = sum(p * (gk - mean) ** 2 for p, gk in zip(p_star, g))
    third = sum(p * (gk - mean) ** 3 for p, gk in zip(p_star, g))
    return CumulantSeries(kl=kl, series=series, variance=variance, third_moment=third, t=t)


def expected_quadratic_kl(d: int = 2) -> tuple[sp.Expr, sp.Expr]:
    r""":math:`\mathbb E[\tfrac12 (D + \xi)^\top F (D + \xi)]` for
    :math:`D = (1 - \alpha) \delta_0`, :math:`\mathbb E \xi = 0`,
    :math:`\mathbb E \xi \xi^\top = S / n` with :math:`S = (\beta^2 I_0)^{-1}`, written out for
    :math:`d = 2` with symmetric :math:`F` and :math:`I_0`.

    Returns (the expectation computed term by term, the closed form
    :math:`\tfrac12 (1 - \alpha)^2 \delta_0^\top F \delta_0
    + \operatorname{tr}(F I_0^{-1}) / (2 n \beta^2)`)."""
    delta = sp.Matrix(sp.symbols(f"delta_1:{d + 1}", real=True))
    xi = sp.Matrix(sp.symbols(f"xi_1:{d + 1}", real=True))
    F = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"F_{min(i, j) + 1}{max(i, j) + 1}", real=True))
    info = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"I_{min(i, j) + 1}{max(i, j) + 1}", real=True))
    S = (beta**2 * info).inv()
    D = (1 - alpha) * delta
    quadratic = sp.expand((((D + xi).T * F * (D + xi))[0]) / 2)
    # E over xi: first moments vanish, second moments are S / n.
    poly = sp.Poly(quadratic, *xi)
    expectation = sp.Integer(0)
    for monomial, coeff in poly.terms():
        powers = [i for i, k in enumerate(monomial) for _ in range(k)]
        if not powers:
            expectation += coeff
        elif len(powers) == 2:
            expectation += coeff * S[powers[0], powers[1]] / n
    closed = ((1 - alpha) ** 2 * (delta.T * F * delta)[0]) / 2 + (F * info.inv()).trace() / (
        2 * n * beta**2
    )
    return expectation, closed


@dataclass(frozen=True)
class OneVersusIterated:
    """Two ways of spending :math:`nT` samples (:func:`one_versus_iterated`)."""

    one_step: sp.Expr  #: E KL after one step with :math:`nT` samples
    #: E KL after :math:`T` steps with :math:`n` samples each (constant per-sample variance v)
    iterated: sp.Expr
    one_step_floor: sp.Expr  #: :math:`n \to \infty` limit of ``one_step``
    iterated_floor: sp.Expr  #: :math:`n \to \infty` limit of ``iterated``
    crossing_n: sp.Expr  #: :math:`n` above which :math:`T` steps beat one step


def one_versus_iterated() -> OneVersusIterated:
    r"""Second-order E KL for the two ways of spending :math:`nT` samples, in
    :math:`\rho = 1 - \alpha`.

    One step: :math:`\rho^2 q_0 + v / (nT)`.  :math:`T` steps: the error recursion
    :math:`\theta_{k+1} - \theta^* = \rho (\theta_k - \theta^*) + \xi_k` with independent
    :math:`\xi_k` of :math:`F`-weighted variance :math:`v / n` gives
    :math:`\rho^{2T} q_0 + (v / n) \sum_{k<T} \rho^{2k}`.  :math:`v` is held constant along
    the path (in the book it is evaluated on the path)."""
    one_step = RHO2 * q0 + v / (n * T)
    iterated = RHO2**T * q0 + v / n * geometric_noise()
    crossing = sp.solve(sp.Eq(one_step, iterated), n)
    return OneVersusIterated(
        one_step=one_step,
        iterated=iterated,
        one_step_floor=sp.limit(one_step, n, sp.oo),
        iterated_floor=sp.limit(iterated, n, sp.oo),
        crossing_n=sp.factor(crossing[0]),
    )


def geometric_noise() -> sp.Expr:
    r""":math:`\sum_{k<T} \rho^{2k} = (1 - \rho^{2T}) / (1 - \rho^2)` with
    :math:`\rho = 1 - \alpha \in [0, 1)`."""
    return (1 - RHO2**T) / (1 - RHO2)
