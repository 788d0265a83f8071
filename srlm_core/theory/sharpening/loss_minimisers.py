r"""Which update makes the recursion: the population minimiser of each loss, and margins.

In the paper's round (reward :math:`\ell_t=\log\pi_t`, reference :math:`\pi_t`) a pair with reward
gap :math:`d=\ell_t(y)-\ell_t(y')` and implicit margin :math:`m=\beta[\log\tfrac{\pi(y)}{\pi_t(y)}-
\log\tfrac{\pi(y')}{\pi_t(y')}]` costs

* the squared loss of Eq. 3: :math:`(m-d)^2`;
* the logistic loss with the soft label :math:`\sigma(d)`: :math:`\log(1+e^m)-\sigma(d)\,m`;
* the logistic loss with a Bradley–Terry label :math:`o\sim\mathrm{Bernoulli}(\sigma(d))`:
  :math:`\log(1+e^m)-o\,m`, whose expectation over :math:`o` is the soft one.

:func:`pair_minimisers` solves each for :math:`m`; every one gives :math:`m=d`, so with every pair
observed the new log-ratio is :math:`(1+1/\beta)d` (:func:`population_log_ratio`), Huang et al.'s
sharpening :math:`\pi_{t+1}\propto\pi_t^{1+1/\beta}`, whatever the loss.  Then
:func:`gap_after_rounds` solves the margin recursion :math:`g_{t+1}=(1+1/\beta)g_t`:
:math:`g_T=s_Tg_0` with :math:`s_T=(1+1/\beta)^T`; Definition 5.2's margin of the population
loop is :math:`\gamma_T=s_T\gamma_0` (:func:`population_margin`), and an exact tie stays a tie
(:func:`tie_confidence`: the two tied responses tend to :math:`\tfrac12` each, from below).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

beta = sp.symbols("beta", positive=True)
m = sp.symbols("m", real=True)  # the implicit margin of a pair
d = sp.symbols("d", real=True)  # the self-reward gap of a pair
o = sp.symbols("o", nonnegative=True)  # a Bradley-Terry label in {0, 1}
t = sp.symbols("t", integer=True, nonnegative=True)
T = sp.symbols("T", integer=True, positive=True)
g0, g_t, gamma0 = sp.symbols("g_0 g_t gamma_0", nonnegative=True)


def sigmoid(x: sp.Expr) -> sp.Expr:
    """The logistic function :math:`1/(1+e^{-x})`."""
    return 1 / (1 + sp.exp(-x))


def pair_losses() -> dict[str, sp.Expr]:
    r"""The loss of one pair as a function of its implicit margin :math:`m`: squared (Eq. 3),
    logistic with the soft label, and the Bradley–Terry loss averaged over its label
    (:math:`o=1` with probability :math:`\sigma(d)`)."""
    logistic = sp.log(1 + sp.exp(m))
    bradley_terry = sigmoid(d) * (logistic - 1 * m) + (1 - sigmoid(d)) * (logistic - 0 * m)
    return {"squared": (m - d) ** 2, "logistic_soft": logistic - sigmoid(d) * m,
            "logistic_bt": bradley_terry}


def pair_minimisers() -> dict[str, sp.Expr]:
    r"""Each pair loss's unique stationary point in :math:`m` (each is strictly convex in
    :math:`m`): all three are :math:`m=d`."""
    out = {}
    for name, loss in pair_losses().items():
        stationary = sp.solve(sp.Eq(sp.simplify(sp.diff(loss, m)), 0), m)
        (out[name],) = [sp.simplify(s) for s in stationary]
    return out


def pair_curvatures() -> dict[str, sp.Expr]:
    r"""The second derivative of each pair loss in :math:`m` (positive: strictly convex)."""
    return {name: sp.simplify(sp.diff(loss, m, 2)) for name, loss in pair_losses().items()}


def population_log_ratio() -> sp.Expr:
    r"""The new log-ratio :math:`\log\pi_{t+1}(y)-\log\pi_{t+1}(y')=d+m/\beta` at :math:`m=d`:
    :math:`(1+1/\beta)\,d`, i.e. :math:`\pi_{t+1}\propto\pi_t^{1+1/\beta}` (Eq. 2)."""
    return sp.factor(d + pair_minimisers()["squared"] / beta)


@dataclass(frozen=True)
class Margins:
    """The margin recursion of the population loop and its solution."""

    recursion: sp.Expr  # g_{t+1} in terms of the symbol g_t
    solution: sp.Expr  # g(t) in closed form
    exponent: sp.Expr  # s_T = (1 + 1/beta)^T


def gap_after_rounds() -> Margins:
    r"""Two responses at log-gap :math:`g_0`: each population round multiplies every log-ratio
    by :math:`1+1/\beta` (:func:`population_log_ratio`), so :math:`g_{t+1}=(1+1/\beta)g_t`,
    solved by ``rsolve``: :math:`g_t=(1+1/\beta)^tg_0`.  A nonzero gap widens, a tie stays."""
    g = sp.Function("g")
    factor = population_log_ratio() / d
    solution = sp.rsolve(g(t + 1) - factor * g(t), g(t), {g(0): g0})
    return Margins(factor * g_t, sp.simplify(solution), (1 + 1 / beta) ** T)


def population_margin() -> sp.Expr:
    r"""Definition 5.2's margin of the population policy after :math:`T` rounds,
    :math:`\gamma_T=\min_x s_Tg_x=s_T\gamma_0` (a positive factor commutes with the minimum)."""
    return gap_after_rounds().exponent * gamma0


def tie_confidence(others: int = 2) -> tuple[sp.Expr, sp.Expr]:
    r"""A prompt whose two top responses are tied and whose ``others`` remaining responses sit
    :math:`\Delta_j>0` below them in log-probability.  After :math:`T` population rounds each
    tied response has :math:`\pi_T=1/(2+\sum_je^{-s_T\Delta_j})` (returned with its limit
    :math:`T\to\infty`, which is :math:`\tfrac12`): the confidence never exceeds :math:`\tfrac12`,
    so Theorem 5.3's failure event holds on that prompt at every round."""
    deltas = sp.symbols(f"Delta_1:{others + 1}", positive=True)
    s = sp.symbols("s", positive=True)
    confidence = 1 / (2 + sum(sp.exp(-s * delta) for delta in deltas))
    return confidence.subs(s, gap_after_rounds().exponent), sp.limit(confidence, s, sp.oo)
