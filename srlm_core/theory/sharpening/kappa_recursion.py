r"""The recursion of the policy condition number and the bound it yields, in SymPy
(Fu et al. 2026, Lemma C.4, Remark 5.5, Theorem 5.3's Eq. 7, Corollary 5.7).

1. :func:`recursion` - the proof bounds one round by :math:`\kappa_{t+1}\le f(\kappa_t)` with
   :math:`f(\kappa)=a+b\sqrt\kappa` (:math:`b` collects the statistical and the KL terms).
   Its fixed point is :math:`\kappa_\infty=\big(\frac{b+\sqrt{b^2+4a}}2\big)^2`, its rate
   :math:`q=f'(\kappa_\infty)=\frac{b}{b+\sqrt{b^2+4a}}<\frac12`, and since :math:`f` is
   concave it lies below its tangent at :math:`\kappa_\infty`, so
   :math:`\kappa_t\le\kappa_\infty+q^t(\kappa_0-\kappa_\infty)` (the reviewers'
   :math:`\kappa_T\le U+q^T(\kappa_0-U)`).
2. :func:`eq7` - Eq. 7's right-hand side with every hidden constant set to 1:
   :math:`\frac{\log(n|\Pi|/\rho)}{\gamma\delta\sqrt n}\big(\frac1{\sqrt c}+
   \frac{\sqrt{\kappa_0}}{(1+\sqrt{nc})^{(T-1)/2}}\big)`, the paper's rate
   :math:`q\approx(1+\sqrt{nc})^{-1}`, Corollary 5.7's threshold
   :math:`T\gtrsim1+2\log\kappa_0/\log(1+\sqrt{nc})`, and the round at which the transient
   term falls to the stable one.
3. The constant :math:`c=\min_{t,x}\max_y\pi_t` bounds every :math:`1/\max_y\pi_t` by
   :math:`1/c`, hence :math:`\kappa(\pi_t)\le1/c` for every round it covers.  If it covers
   round 0, :math:`\sqrt{\kappa_0 c}\le1`: the transient term never exceeds the stable one, and
   :math:`T` moves Eq. 7 by a factor :math:`1+\sqrt{\kappa_0c}\le2` at most
   (:func:`eq7`'s ``span``).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

a, b = sp.symbols("a b", positive=True)
kappa, kappa_0 = sp.symbols("kappa kappa_0", positive=True)
t = sp.symbols("t", integer=True, nonnegative=True)
n, c, gamma, delta, rho, size = sp.symbols(r"n c gamma delta rho |\Pi|", positive=True)
T = sp.symbols("T", positive=True)


@dataclass(frozen=True)
class Recursion:
    r"""The bound :math:`\kappa_{t+1}\le a+b\sqrt{\kappa_t}` and what it implies."""

    step: sp.Expr  #: :math:`f(\kappa)=a+b\sqrt\kappa`
    fixed_point: sp.Expr  #: :math:`\kappa_\infty`
    rate: sp.Expr  #: :math:`q=f'(\kappa_\infty)`
    half_minus_rate: sp.Expr  #: :math:`\frac12-q=\frac{2a}{(b+\sqrt{b^2+4a})^2}` (tests)
    tangent_gap: sp.Expr  #: :math:`f(\kappa_\infty)+q(\kappa-\kappa_\infty)-f(\kappa)\ge0`
    bound: sp.Expr  #: :math:`\kappa_\infty+q^t(\kappa_0-\kappa_\infty)`


def recursion() -> Recursion:
    r"""Fixed point, rate and unrolled bound of :math:`\kappa_{t+1}\le a+b\sqrt{\kappa_t}`
    (Lemma C.4)."""
    root = sp.symbols("x", positive=True)  # sqrt(kappa_inf)
    step = a + b * sp.sqrt(kappa)
    roots = sp.solve(sp.Eq(root**2, a + b * root), root)
    sqrt_fixed = next(r for r in roots if r.subs({a: 1, b: 1}) > 0)  # the positive root
    fixed_point = sqrt_fixed**2
    rate = sp.simplify(sp.diff(step, kappa).subs(kappa, fixed_point))
    tangent_gap = step.subs(kappa, fixed_point) + rate * (kappa - fixed_point) - step
    e, e0 = sp.Function("e"), sp.symbols("e_0", positive=True)
    excess = sp.rsolve(e(t + 1) - rate * e(t), e(t), {e(0): e0})  # e_t = kappa_t - kappa_inf
    return Recursion(step=step, fixed_point=fixed_point, rate=rate,
                     half_minus_rate=sp.Rational(1, 2) - rate,
                     tangent_gap=tangent_gap,
                     bound=fixed_point + excess.subs(e0, kappa_0 - fixed_point))


@dataclass(frozen=True)
class Eq7:
    r"""Theorem 5.3's bound with its hidden constants set to 1, and what follows from it."""

    rhs: sp.Expr  #: the right-hand side of Eq. 7
    log_factor: sp.Expr  #: its factor :math:`\log(n|\Pi|/\rho)`
    stable: sp.Expr  #: its :math:`T`-free part
    paper_rate: sp.Expr  #: :math:`(1+\sqrt{nc})^{-1}`
    threshold: sp.Expr  #: Corollary 5.7's :math:`1+2\log\kappa_0/\log(1+\sqrt{nc})`
    crossing: sp.Expr  #: the :math:`T` at which the transient term equals the stable one
    transient_over_stable: sp.Expr  #: at :math:`T=1`: :math:`\sqrt{\kappa_0c}`
    span: sp.Expr  #: rhs at :math:`T=1` over its limit :math:`T\to\infty`


def eq7() -> Eq7:
    r"""Eq. 7, :math:`\frac{\log(n|\Pi|/\rho)}{\gamma\delta\sqrt n}(\frac1{\sqrt c}+
    \frac{\sqrt{\kappa_0}}{(1+\sqrt{nc})^{(T-1)/2}})`, and the round where its two terms meet."""
    log_factor = sp.log(n * size / rho)
    lead = log_factor / (gamma * delta * sp.sqrt(n))
    stable_term = 1 / sp.sqrt(c)
    transient = sp.sqrt(kappa_0) / (1 + sp.sqrt(n * c)) ** ((T - 1) / 2)
    rounds = sp.symbols("m", positive=True)  # T - 1
    meet = sp.expand_log(sp.log(transient.subs(T, rounds + 1) / stable_term), force=True)
    crossing = 1 + sp.solve(meet, rounds)[0]
    rhs = lead * (stable_term + transient)
    stable = lead * stable_term
    return Eq7(rhs=rhs, log_factor=log_factor, stable=stable, paper_rate=1 / (1 + sp.sqrt(n * c)),
               threshold=1 + 2 * sp.log(kappa_0) / sp.log(1 + sp.sqrt(n * c)),
               crossing=crossing,
               transient_over_stable=sp.simplify((transient / stable_term).subs(T, 1)),
               span=sp.simplify(rhs.subs(T, 1) / stable))
