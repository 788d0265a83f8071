r"""Theorem 4.1 in SymPy: the hard instance's masses and condition number, the chance that a
prompt's bump is never seen, the lower bound's shape and the budget relation it inverts.

* The base model at an informative prompt puts :math:`1/((1-\gamma)M)` on its bump and
  :math:`\frac1M(1-\frac{\gamma}{(M-1)(1-\gamma)})` on each other response (Appendix D), so
  :math:`\kappa_0=(1-\epsilon)+\epsilon M(1-\gamma)`.
* With :math:`n` pairs, :math:`x\sim\mathcal D`, a given informative prompt gets
  :math:`m\sim\mathrm{Bin}(n,\epsilon/d)` of them, and a pair shows the bump against another
  response with probability :math:`q=2p(1-p)`, :math:`p` the bump's mass: the bump is never
  seen with probability :math:`\mathbb E(1-q)^m=(1-\epsilon q/d)^n`.
* The bound's shape :math:`\sqrt{\kappa_0\log|\Pi|/(n\log(n\kappa_0/\log|\Pi|))}` and the budget
  relation behind it, :math:`n\asymp dM/\epsilon` with :math:`M\asymp C/\epsilon` and
  :math:`d=\log|\Pi|/\log M`: :math:`n=CL/(\epsilon^2\log(C/\epsilon))` with
  :math:`L=\log|\Pi|`, inverted by the lower branch of Lambert's :math:`W`.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

eps, M, gamma, d, n, C, L = sp.symbols(r"epsilon M gamma d n C L", positive=True)


@dataclass(frozen=True)
class Instance:
    """The hard instance's bump and other masses, their total and :math:`\\kappa_0`."""

    bump: sp.Expr
    other: sp.Expr
    total: sp.Expr
    kappa0: sp.Expr


def hard_instance() -> Instance:
    r"""Appendix D's masses, the total mass at an informative prompt (which must simplify to
    1) and :math:`\kappa_0=(1-\epsilon)\cdot1+\epsilon/P_v(v)` (the point mass at
    :math:`x_0` contributes 1)."""
    bump = 1 / ((1 - gamma) * M)
    other = (1 - gamma / ((M - 1) * (1 - gamma))) / M
    kappa0 = (1 - eps) + eps / bump
    readable = eps * M * (1 - gamma) + 1 - eps
    assert sp.simplify(kappa0 - readable) == 0  # the same number, written as it reads
    return Instance(bump, other, sp.simplify(bump + (M - 1) * other), readable)


def unseen_probability() -> sp.Expr:
    r""":math:`P(\text{bump of a prompt in no informative pair})=(1-\epsilon q/d)^n`,
    :math:`q=2p(1-p)` with the bump's mass :math:`p=1/((1-\gamma)M)`."""
    p = hard_instance().bump
    return (1 - eps / d * 2 * p * (1 - p)) ** n


def bound_shape(kappa0=C, log_size=L, pairs=n) -> sp.Expr:
    r"""Theorem 4.1's shape :math:`\sqrt{\kappa_0\log|\Pi|/(n\log(n\kappa_0/\log|\Pi|))}`."""
    return sp.sqrt(kappa0 * log_size / (pairs * sp.log(pairs * kappa0 / log_size)))


@dataclass(frozen=True)
class Budget:
    """The budget relation :math:`n(\\epsilon)`, its inverse :math:`\\epsilon(n)` and
    :math:`\\epsilon(n)^2` written with :math:`W` alone."""

    pairs: sp.Expr
    epsilon: sp.Expr
    epsilon_squared: sp.Expr
    argument: sp.Expr


def budget() -> Budget:
    r"""The pairs needed to see the bumps, :math:`n=CL/(\epsilon^2\log(C/\epsilon))`, and its
    inverse: with :math:`z=-2L/(nC)`, :math:`\epsilon=C\exp(W_{-1}(z)/2)`, so
    :math:`\epsilon^2=2CL/(n\,(-W_{-1}(z)))`; as :math:`-W_{-1}(z)\sim\log(nC/L)` this is twice
    the squared shape (:func:`bound_shape`) up to lower-order terms."""
    pairs = C * L / (eps**2 * sp.log(C / eps))
    z = -2 * L / (n * C)
    w = sp.LambertW(z, -1)
    return Budget(pairs, C * sp.exp(w / 2), 2 * C * L / (n * (-w)), z)
