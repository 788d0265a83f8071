r"""The paper's loop in the population, in SymPy (Fu et al. 2026, Eqs. 1-4).

With the self-reward :math:`r_t=\log\pi_t` (Eq. 1) and :math:`\pi_t` as the KL reference
(Eq. 2), Eq. 3's squared loss on a pair :math:`(y,y')` is
:math:`(\beta[\log\frac{\pi(y)}{\pi_t(y)}-\log\frac{\pi(y')}{\pi_t(y')}]-[r_t(y)-r_t(y')])^2`.

1. :func:`zero_loss_log_ratio` - the loss is zero exactly when
   :math:`\log\frac{\pi(y)}{\pi(y')}=(1+\frac1\beta)\log\frac{\pi_t(y)}{\pi_t(y')}`, so with
   every pair seen :math:`\pi_{t+1}\propto\pi_t^{1+1/\beta}` (Huang et al.'s sharpening).
2. :func:`exponent` - the exponent recursion :math:`s_{t+1}=(1+\frac1\beta)s_t`,
   :math:`s_0=1`, solved: :math:`s_T=(1+\frac1\beta)^T`, so
   :math:`\pi_T\propto\pi_0^{s_T}`.
3. :func:`matched_beta` - one step at :math:`\beta'` with
   :math:`1+\frac1{\beta'}=(1+\frac1\beta)^T` equals :math:`T` rounds at :math:`\beta`.
4. :func:`confidence_excess` - with the margin
   :math:`g=\log\pi_0(y^\star)-\max_{y\ne y^\star}\log\pi_0(y)`,
   :math:`\frac1{\max\pi_T}-1=\sum_{y\ne y^\star}(\pi_0(y)/\pi_0(y^\star))^{s_T}\le(K-1)e^{-s_Tg}`:
   :math:`\kappa(\pi_T)-1\le\mathbb E_x(K-1)e^{-s_Tg_x}`, doubly exponential in :math:`T`.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

beta = sp.symbols("beta", positive=True)
T = sp.symbols("T", integer=True, nonnegative=True)
s_T = sp.symbols("s_T", positive=True)
g = sp.symbols("g", positive=True)


def zero_loss_log_ratio() -> tuple[sp.Expr, sp.Expr]:
    r"""Solve Eq. 3's residual on one pair for the new log-ratio
    :math:`\log\pi(y)-\log\pi(y')` given :math:`\ell=\log\pi_t(y)`, :math:`\ell'=\log\pi_t(y')`.

    Returns (the solution, the claimed :math:`(1+1/\beta)(\ell-\ell')`)."""
    ell, ell_p, ratio = sp.symbols("ell ell' Delta", real=True)  # log pi(y) - log pi(y')
    residual = beta * (ratio - (ell - ell_p)) - (ell - ell_p)
    solution = sp.solve(residual, ratio)[0]
    return solution, (1 + 1 / beta) * (ell - ell_p)


def exponent() -> sp.Expr:
    r"""Solve :math:`s_{t+1}=(1+\frac1\beta)s_t`, :math:`s_0=1` (each round raises
    :math:`\pi_t` to the power :math:`1+1/\beta`): :math:`s_T=(1+\frac1\beta)^T`."""
    s = sp.Function("s")
    return sp.rsolve(s(T + 1) - (1 + 1 / beta) * s(T), s(T), {s(0): 1})


def matched_beta() -> sp.Expr:
    r"""The :math:`\beta'` with :math:`1+1/\beta'=s_T`: :math:`\beta'=1/(s_T-1)`."""
    b = sp.symbols("beta'", positive=True)
    return sp.solve(sp.Eq(1 + 1 / b, exponent()), b)[0]


@dataclass(frozen=True)
class ConfidenceExcess:
    r""":math:`1/\max_y\pi_T(y)-1` for :math:`K` responses whose log-gaps to the mode are
    :math:`g+h_y` (:math:`h_y\ge0`, the runner-up has :math:`h=0`), and its bound."""

    exact: sp.Expr  #: :math:`\sum_{y\ne y^\star}e^{-s_T(g+h_y)}`
    bound: sp.Expr  #: :math:`(K-1)e^{-s_Tg}`
    slack: sp.Expr  #: bound minus exact, a sum of non-negative terms
    gaps: tuple  #: the symbols :math:`h_y`


def confidence_excess(K: int = 4) -> ConfidenceExcess:
    r""":math:`\pi_T(y)=\pi_0(y)^{s_T}/\sum\pi_0^{s_T}`, so
    :math:`1/\pi_T(y^\star)-1=\sum_{y\ne y^\star}(\pi_0(y)/\pi_0(y^\star))^{s_T}` with
    :math:`\pi_0(y)/\pi_0(y^\star)=e^{-(g+h_y)}`."""
    gaps = (sp.Integer(0),) + sp.symbols(f"h_2:{K}", nonnegative=True)
    log_p = sp.symbols(f"l_1:{K + 1}", real=True)  # log pi_0, the mode first
    at_gaps = {log_p[y + 1]: log_p[0] - g - h for y, h in enumerate(gaps)}
    probs = [sp.exp(s_T * lp) for lp in log_p]
    inverse_top = sp.simplify((sum(probs) / probs[0]).subs(at_gaps))
    exact = sp.expand(inverse_top - 1)
    bound = (K - 1) * sp.exp(-s_T * g)
    slack = sp.Add(*[sp.exp(-s_T * g) * (1 - sp.exp(-s_T * h)) for h in gaps])
    return ConfidenceExcess(exact=exact, bound=bound, slack=slack, gaps=gaps[1:])
