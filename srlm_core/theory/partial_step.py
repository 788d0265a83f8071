r"""S1 on a fixed response pool, for an optimiser that reaches only part of each round's target.

On a pool prompt the policy enters only through the log-ratios
:math:`h_t(y) = \log \pi_t(y|x) - \log \pi_0(y|x)`, and the target is :math:`h^*(y) = c\, g(y)`
(:math:`\pi^* \propto \pi_0 e^{c g}`, :math:`\beta = 1`).  The population DPO round with the
self-judge :math:`r_t = \alpha c g + (1 - \alpha) h_t` has the exact minimiser "log-ratio to
the reference = :math:`r_t`" (up to a per-prompt constant).  An optimiser that moves the
log-ratio a share :math:`\gamma` of the way from its start to that target gives:

* fixed reference :math:`\pi_0` (start :math:`h_t`, target :math:`r_t`):
  :math:`h_{t+1} = h_t + \gamma (r_t - h_t)`, so the error :math:`e_t = h_t - c g` obeys
  :math:`e_{t+1} = (1 - \gamma \alpha) e_t`: :math:`e_t = (1 - \gamma \alpha)^t e_0`
  (:func:`fixed_reference`); :math:`\gamma = 1` is S1's :math:`(1 - \alpha)^t`.  At
  :math:`\alpha = 1` one round gives :math:`e_1 / e_0 = 1 - \gamma`, which calibrates
  :math:`\gamma` (:func:`calibration`).
* moving reference :math:`\pi_t` (start 0, target :math:`r_t` for
  :math:`\log \pi_{t+1} - \log \pi_t`): :math:`h_{t+1} = h_t + \gamma r_t`.  With
  :math:`e_t = a_t c g`, :math:`a_0 = -1`:
  :math:`a_{t+1} = (1 + \gamma (1 - \alpha)) a_t + \gamma`, solved by

  .. math:: a_t = \frac{\alpha \lambda^t - 1}{1 - \alpha}, \qquad
     \lambda = 1 + \gamma (1 - \alpha) > 1

  (:func:`moving_reference`): :math:`|a_t|` first falls, crosses zero at
  :math:`t^* = \log(1/\alpha) / \log \lambda` and then grows geometrically (overshoot).
  :math:`\gamma = 1` recovers the :math:`(2 - \alpha)` growth of S1.
* single step with a share :math:`\gamma_1` of the target:
  :math:`e_1 / e_0 = 1 - \gamma_1 \alpha`, at least :math:`1 - \alpha` whenever
  :math:`\gamma_1 \le 1` (:func:`single_step`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

alpha = sp.symbols("alpha", positive=True)
gamma = sp.symbols("gamma", positive=True)
t = sp.symbols("t", integer=True, nonnegative=True)
h, c, g = sp.symbols("h_t c g", real=True)
a_t = sp.symbols("a_t", real=True)


@dataclass(frozen=True)
class FixedReference:
    """A partial round against the fixed reference (:func:`fixed_reference`)."""

    step: sp.Expr  #: :math:`h_{t+1}` as a function of :math:`h_t`
    error_factor: sp.Expr  #: :math:`e_{t+1} / e_t`
    closed_form: sp.Expr  #: :math:`e_t / e_0`


@dataclass(frozen=True)
class MovingReference:
    """A partial round against the moving reference (:func:`moving_reference`)."""

    step: sp.Expr  #: :math:`h_{t+1}` as a function of :math:`h_t`
    recursion: sp.Expr  #: :math:`a_{t+1}` as a function of :math:`a_t`
    closed_form: sp.Expr  #: :math:`a_t` with :math:`a_0 = -1`
    growth: sp.Expr  #: :math:`\lambda`
    crossing: sp.Expr  #: :math:`t^*` where :math:`a_t = 0`


def judge(h_t: sp.Expr = h) -> sp.Expr:
    r""":math:`r_t = \alpha c g + (1 - \alpha) h_t` (:math:`\beta = 1`)."""
    return alpha * c * g + (1 - alpha) * h_t


def fixed_reference() -> FixedReference:
    r"""One round that moves the log-ratio a share :math:`\gamma` of the way to :math:`r_t`:
    :math:`e_t / e_0 = (1 - \gamma \alpha)^t`."""
    step = h + gamma * (judge(h) - h)
    error = sp.symbols("e_t", real=True)
    next_error = sp.expand(step.subs(h, error + c * g) - c * g)
    factor = sp.simplify(next_error / error)
    e = sp.Function("e")
    solved = sp.rsolve(e(t + 1) - factor * e(t), e(t), {e(0): 1})
    return FixedReference(step=step, error_factor=factor, closed_form=sp.simplify(solved))


def moving_reference() -> MovingReference:
    r"""The same with the reference reset to :math:`\pi_t`:
    :math:`a_t = (\alpha \lambda^t - 1) / (1 - \alpha)` with
    :math:`\lambda = 1 + \gamma (1 - \alpha)`."""
    step = h + gamma * judge(h)
    recursion = sp.expand(step.subs(h, (a_t + 1) * c * g) / (c * g) - 1)
    a = sp.Function("a")
    solved = sp.rsolve(a(t + 1) - recursion.subs(a_t, a(t)), a(t), {a(0): -1})
    growth = 1 + gamma * (1 - alpha)
    crossing = sp.log(1 / alpha) / sp.log(growth)
    return MovingReference(step=step, recursion=recursion, closed_form=sp.simplify(solved),
                           growth=growth, crossing=crossing)


def calibration() -> sp.Expr:
    r""":math:`\gamma` from one :math:`\alpha = 1` round: solve :math:`e_1 / e_0 = \rho_1` for
    :math:`\gamma`."""
    rho1 = sp.symbols("rho_1", positive=True)
    return sp.solve(sp.Eq(fixed_reference().error_factor.subs(alpha, 1), rho1), gamma)[0]


def single_step() -> sp.Expr:
    r""":math:`e_1 / e_0` of one round with target share :math:`\gamma` (the fixed-reference
    factor)."""
    return fixed_reference().error_factor


@lru_cache(maxsize=1)
def _moving_numeric():
    return sp.lambdify((alpha, gamma, t), moving_reference().closed_form, "math")


def moving_ratio(alpha_value: float, gamma_value: float, rounds: int) -> list[float]:
    r""":math:`|a_t| = E_t / E_0` under the moving reference, :math:`t = 0, \dots,`
    ``rounds`` (numbers, from the SymPy closed form)."""
    form = _moving_numeric()
    return [abs(float(form(alpha_value, gamma_value, k))) for k in range(rounds + 1)]


def latex_statements() -> dict[str, str]:
    """The derivation's results as LaTeX, by the names the chapter glues them under."""
    fixed, moving = fixed_reference(), moving_reference()
    return {
        "ps_fixed_step": r"h_{t+1} = " + sp.latex(fixed.step),
        "ps_fixed_form": r"\frac{e_t}{e_0} = " + sp.latex(fixed.closed_form),
        "ps_moving_rec": r"a_{t+1} = " + sp.latex(sp.collect(moving.recursion, a_t)),
        "ps_moving_form": r"a_t = " + sp.latex(moving.closed_form),
        "ps_calibration": r"\hat\gamma = " + sp.latex(calibration()),
    }
