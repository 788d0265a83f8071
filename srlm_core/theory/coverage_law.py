r"""S2 in its coverage form, in SymPy: one step needs a number of pairs that grows with how
rarely the initial model writes the best answer.

With :math:`y^\star(x)` the best response of prompt :math:`x`, its *coverage coefficient* is
:math:`\kappa_0(x) = 1/\pi_0(y^\star(x)\mid x)` and its average over prompts is
:math:`C_{\mathrm{cov}} = \mathbb E_x \kappa_0(x)` (Huang et al., ICLR 2025).  The derivation,
step by step (each function returns the SymPy objects the book renders):

1. :func:`miss_probability` - the :math:`m` pairs of a prompt draw :math:`2m` responses from
   :math:`\pi_0`; none of them is :math:`y^\star` with probability
   :math:`(1-1/\kappa_0)^{2m} \ge 1 - 2m/\kappa_0`.  With :math:`n` pairs whose prompts are
   drawn from :math:`\rho`, :math:`m\sim\operatorname{Binomial}(n, \rho(x))` and the
   probability is :math:`\big(1-\rho(x)(1-(1-1/\kappa_0)^2)\big)^n`.
2. :func:`pairs_needed` - the :math:`m` at which that probability falls to :math:`\delta`,
   :math:`m_\delta = \log\delta / (2\log(1-1/\kappa_0)) \ge (\kappa_0-1)\log(1/\delta)/2`:
   linear in :math:`\kappa_0`.
3. :func:`unseen_response` - in the tabular model the ridge DPO step leaves a response that
   appears in none of its prompt's pairs at :math:`u=0`, and the :math:`u` of a prompt sum to
   zero; so :math:`\pi_1(y^\star\mid x) \le \pi_{\mathrm{ref}}(y^\star\mid x) /
   (\pi_{\mathrm{ref}}(y^\star\mid x) + (K-1)G(x))`, with :math:`G(x)` the geometric mean of
   :math:`\pi_{\mathrm{ref}}` over the other responses: :math:`1/K` for a uniform reference,
   :math:`1/\kappa_0` for :math:`\pi_{\mathrm{ref}}=\pi_0` with the rest spread evenly.
   Together with 1: :math:`P(\pi_1(y^\star\mid x)\le\tfrac12) \ge (1-1/\kappa_0)^{2m}`.
4. :func:`tabular_leverage` - the multinomial identity
   :math:`(e_\star-p)^\top\Sigma_p^{+}(e_\star-p) = 1/p_\star - 1`: the *feature coverage*
   :math:`\kappa_\phi(x) = 1 + 2\rho(x)\,(\phi_\star-\bar\phi_0)^\top H_{\pi_0}^{+}
   (\phi_\star-\bar\phi_0)` equals :math:`\kappa_0(x)` for one-hot features
   (:func:`srlm_core.model.metrics.feature_coverage` computes it for any features).
5. :func:`shared_feature` - two prompts sharing one feature: the feature coverage of a prompt
   whose best answer :math:`\pi_0` almost never writes stays bounded, because the other
   prompt's pairs estimate the same parameter.
6. :func:`population_threshold` - the floor of S2 in coverage form: in the tabular model with
   :math:`\pi_{\mathrm{ref}}=\pi_0` and the other responses even, :math:`T` population rounds
   reach :math:`\pi_T(y^\star)\ge\tfrac12` exactly when
   :math:`\kappa_0 \le 1 + O_\star^{(1-(1-\alpha)^T)/(1-\alpha)^T}`, with :math:`O_\star` the
   target's odds on :math:`y^\star`; one round has a finite threshold, many rounds do not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sympy as sp

from srlm_core.theory.contraction_law import alpha

kappa0 = sp.Symbol("kappa_0", positive=True)  #: the coverage coefficient, above 1
m = sp.Symbol("m", positive=True)  #: pairs of one prompt
n = sp.Symbol("n", positive=True)  #: pairs of one round, all prompts
q = sp.Symbol("rho_x", positive=True)  #: the prompt's probability rho(x)
delta = sp.Symbol("delta", positive=True)  #: the miss probability aimed at
T = sp.Symbol("T", positive=True)  #: rounds
odds_star = sp.Symbol("O_star", positive=True)  #: the target's odds pi*(y*) / (1 - pi*(y*))


@dataclass(frozen=True)
class MissProbability:
    """The probability that :math:`y^\\star` is in none of a prompt's pairs
    (:func:`miss_probability`)."""

    per_pair: sp.Expr  #: :math:`(1-1/\kappa_0)^2`: one pair misses it
    given_m: sp.Expr  #: :math:`(1-1/\kappa_0)^{2m}`: all m pairs miss it
    #: :math:`1 - 2m/\kappa_0`, the Bernoulli lower bound of ``given_m``
    linear_bound: sp.Expr
    #: :math:`(1-\rho(x)(1-(1-1/\kappa_0)^2))^n`: n pairs, the prompt drawn with probability rho(x)
    given_n: sp.Expr


def miss_probability() -> MissProbability:
    r"""A pair draws :math:`y, y'\sim\pi_0` independently, so it misses :math:`y^\star` with
    probability :math:`(1-1/\kappa_0)^2`, and :math:`m` independent pairs miss it with the
    :math:`m`-th power.  With :math:`n` pairs whose prompts are drawn from :math:`\rho`, the
    prompt's count is :math:`m\sim\operatorname{Binomial}(n,\rho(x))` and
    :math:`\mathbb E\,a^m = (1-\rho(x)+\rho(x)a)^n` (its probability generating function)."""
    per_pair = (1 - 1 / kappa0) ** 2
    given_m = (1 - 1 / kappa0) ** (2 * m)
    given_n = (1 - q + q * per_pair) ** n
    return MissProbability(per_pair, given_m, 1 - 2 * m / kappa0,
                           sp.simplify(given_n.rewrite(sp.Pow)))


@dataclass(frozen=True)
class PairsNeeded:
    """How many pairs per prompt make a miss unlikely (:func:`pairs_needed`)."""

    exact: sp.Expr  #: :math:`m_\delta = \log\delta / (2\log(1-1/\kappa_0))`
    lower: sp.Expr  #: :math:`(\kappa_0-1)\log(1/\delta)/2 \le m_\delta`
    #: :math:`m_\delta` for large :math:`\kappa_0`, to :math:`O(1/\kappa_0)`
    asymptotic: sp.Expr
    half: sp.Expr  #: :math:`m_{1/2}`, the pairs at which a miss has probability one half


def pairs_needed() -> PairsNeeded:
    r"""Solve :math:`(1-1/\kappa_0)^{2m}=\delta` for :math:`m`.  Since
    :math:`-\log(1-x)\le x/(1-x)`, :math:`m_\delta\ge(\kappa_0-1)\log(1/\delta)/2`; for large
    :math:`\kappa_0`, :math:`m_\delta=\tfrac{\kappa_0}{2}\log\tfrac1\delta-\tfrac14\log\tfrac1\delta
    +O(1/\kappa_0)`."""
    exact = sp.log(delta) / (2 * sp.log(1 - 1 / kappa0))
    log_miss = sp.expand_log(sp.log(miss_probability().given_m), force=True)
    assert sp.simplify(log_miss.subs(m, exact) - sp.log(delta)) == 0
    small = sp.Symbol("epsilon", positive=True)  # 1 / kappa_0
    series = sp.series(exact.subs(kappa0, 1 / small), small, 0, 1).removeO()
    asymptotic = sp.expand(series.subs(small, 1 / kappa0))
    half = sp.log(2) / (2 * sp.log(kappa0 / (kappa0 - 1)))
    assert sp.simplify(sp.expand_log(exact.subs(delta, sp.Rational(1, 2)) - half,
                                     force=True)) == 0
    return PairsNeeded(exact, (kappa0 - 1) * sp.log(1 / delta) / 2, asymptotic, half)


@dataclass(frozen=True)
class UnseenResponse:
    """What one ridge DPO step can do to a response it never saw (:func:`unseen_response`)."""

    u: tuple  #: the tabular parameters :math:`u_1, \dots, u_K` of one prompt (:math:`u_1`: unseen)
    data_loss: sp.Expr  #: the DPO loss of pairs among :math:`y_2, \dots, y_K` only
    grad_unseen: sp.Expr  #: its derivative in :math:`u_1`: zero
    grad_sum: sp.Expr  #: the sum of its derivatives: zero
    #: :math:`\max\pi_1(y_1)` over :math:`u_2+u_3=0` for K = 3, in the reference's probabilities
    bound: sp.Expr
    reference: tuple  #: the reference probabilities :math:`p_1, p_2, p_3` of the bound
    bound_uniform: sp.Expr  #: the bound for a uniform reference: 1/3
    bound_even: sp.Expr  #: the bound for :math:`p_2=p_3=(1-p_1)/2`: :math:`p_1`


def unseen_response(K: int = 4) -> UnseenResponse:
    r"""Tabular features: prompt :math:`x`'s responses have parameters :math:`u_y` and a pair's
    margin is :math:`\beta(u_y-u_{y'})`.  The data loss of any pairs that avoid :math:`y_1` is
    a function :math:`f` of the differences among :math:`u_2,\dots,u_K`, so its derivative in
    :math:`u_1` vanishes and its derivatives sum to zero (it is invariant under a common shift).
    With the ridge :math:`\tfrac\lambda2\lVert u\rVert^2`, stationarity
    :math:`\lambda u+\nabla L=0` then gives :math:`u_1=0` and :math:`\sum_y u_y=0`, whatever
    the labels.  With :math:`\pi_1\propto\pi_{\mathrm{ref}}e^{u}` the largest
    :math:`\pi_1(y_1)` over :math:`u_2+u_3=0` (K = 3) is
    :math:`p_1/(p_1+2\sqrt{p_2p_3})` (AM-GM); for K responses
    :math:`p_1/(p_1+(K-1)G)` with :math:`G` the geometric mean of :math:`p_2,\dots,p_K`."""
    u = sp.symbols(f"u_1:{K + 1}", real=True)
    f = sp.Function("f")
    others = u[1:]
    differences = [others[i] - others[j] for i in range(len(others))
                   for j in range(i + 1, len(others))]
    data_loss = f(*differences)
    grad_unseen = sp.diff(data_loss, u[0])
    grad_sum = sp.simplify(sum(sp.diff(data_loss, uk) for uk in u))
    p = sp.symbols("p_1:4", positive=True)
    x = sp.Symbol("x", real=True)  # u_2 = x, u_3 = -x, u_1 = 0
    denominator = p[0] + p[1] * sp.exp(x) + p[2] * sp.exp(-x)
    critical = sp.solve(sp.diff(denominator, x), x)[0]
    bound = sp.simplify(p[0] / denominator.subs(x, critical))
    uniform = {p[0]: sp.Rational(1, 3), p[1]: sp.Rational(1, 3), p[2]: sp.Rational(1, 3)}
    even = {p[1]: (1 - p[0]) / 2, p[2]: (1 - p[0]) / 2}
    return UnseenResponse(u, data_loss, grad_unseen, grad_sum, bound, p,
                          sp.simplify(bound.subs(uniform)), sp.simplify(bound.subs(even)))


@dataclass(frozen=True)
class TabularLeverage:
    """The leverage of the best answer under a multinomial covariance (:func:`tabular_leverage`)."""

    probabilities: tuple  #: :math:`p_1, \dots, p_K` (:math:`p_K = 1 - \sum_{k<K} p_k`)
    leverage: sp.Expr  #: :math:`(e_1-p)^\top\Sigma_p^{+}(e_1-p)`
    closed: sp.Expr  #: :math:`1/p_1 - 1 = \kappa_0 - 1`
    pair_leverage: sp.Expr  #: :math:`(e_1-e_2)^\top\Sigma_p^{+}(e_1-e_2)`
    pair_closed: sp.Expr  #: :math:`1/p_1 + 1/p_2`


def tabular_leverage(K: int = 3) -> TabularLeverage:
    r"""One prompt of the tabular model: :math:`\phi(x,y)=e_y`, so :math:`\bar\phi_0=p` and
    :math:`\operatorname{Cov}_{\pi_0}(\phi)=\Sigma_p=\operatorname{diag}(p)-pp^\top`, singular
    along :math:`\mathbf 1`.  Vectors summing to zero are written in the first K - 1
    coordinates, where :math:`\Sigma_p` is invertible; the quadratic forms are those of the
    pseudo-inverse.  Since the tabular :math:`H_{\pi_0}` is block-diagonal with blocks
    :math:`2\rho(x)\Sigma_{p(x)}`, :math:`\kappa_\phi(x)=1+(1/p_\star-1)=\kappa_0(x)`."""
    p = sp.symbols(f"p_1:{K}", positive=True)
    probs = (*p, 1 - sum(p))
    reduced = sp.Matrix(p)
    sigma = sp.diag(*p) - reduced * reduced.T
    inverse = sigma.inv()
    star = sp.Matrix([1 if k == 0 else 0 for k in range(K - 1)]) - reduced
    pair = sp.Matrix([1 if k == 0 else (-1 if k == 1 else 0) for k in range(K - 1)])
    leverage = sp.simplify((star.T * inverse * star)[0])
    pair_leverage = sp.simplify((pair.T * inverse * pair)[0])
    return TabularLeverage(probs, leverage, 1 / p[0] - 1, pair_leverage, 1 / p[0] + 1 / p[1])


@dataclass(frozen=True)
class SharedFeature:
    """Two prompts, two responses each, one shared feature (:func:`shared_feature`)."""

    kappa_phi: sp.Expr  #: the feature coverage of prompt 1
    kappa_0: sp.Expr  #: its coverage coefficient :math:`1/p`
    limit: sp.Expr  #: :math:`\lim_{p\to0}\kappa_\phi`: finite
    share: sp.Symbol  #: :math:`r=\rho(x_1)`
    p: sp.Symbol  #: :math:`\pi_0(y^\star\mid x_1)`


def shared_feature() -> SharedFeature:
    r"""Both prompts have responses with features 0 and 1 (:math:`y^\star` has 1);
    :math:`\pi_0(y^\star\mid x_1)=p` and :math:`\pi_0(y^\star\mid x_2)=\tfrac12`, with
    :math:`\rho=(r, 1-r)`.  Then :math:`H_{\pi_0}=2(rp(1-p)+(1-r)/4)` and prompt 1's vector is
    :math:`\phi_\star-\bar\phi_0=1-p`: as :math:`p\to0`, :math:`\kappa_0=1/p` diverges but
    :math:`\kappa_\phi\to1+4r/(1-r)`."""
    r, p = sp.Symbol("r", positive=True), sp.Symbol("p", positive=True)
    H = 2 * (r * p * (1 - p) + (1 - r) / 4)
    kappa_phi = 1 + 2 * r * (1 - p) ** 2 / H
    limit = 1 + 4 * r / (1 - r)
    assert sp.simplify(sp.limit(kappa_phi, p, 0) - limit) == 0
    return SharedFeature(kappa_phi, 1 / p, limit, r, p)


@dataclass(frozen=True)
class PopulationThreshold:
    """The largest coverage coefficient T population rounds can overcome
    (:func:`population_threshold`)."""

    log_odds_t: sp.Expr  #: :math:`\log O_T` along the population rounds
    kappa_max: sp.Expr  #: the largest :math:`\kappa_0` with :math:`\pi_T(y^\star)\ge\frac12`
    kappa_max_one: sp.Expr  #: the same for one round: :math:`1+O_\star^{\alpha/(1-\alpha)}`
    #: :math:`\lim_{T\to\infty}` of ``kappa_max`` for :math:`0<\alpha<1`: infinite
    kappa_max_limit: sp.Expr


def population_threshold() -> PopulationThreshold:
    r"""Tabular, :math:`\pi_{\mathrm{ref}}=\pi_0`, every response other than :math:`y^\star`
    with the same parameter in :math:`\theta_0` and :math:`\theta^\star`.  The log-odds of
    :math:`y^\star` are then affine in :math:`\theta`
    (:math:`\log O=\theta_{y^\star}-\theta_{\mathrm{other}}-\log(K-1)`), and S1's population
    rounds :math:`\theta_t=\theta^\star+(1-\alpha)^t(\theta_0-\theta^\star)` interpolate them:
    :math:`\log O_T=(1-(1-\alpha)^T)\log O_\star+(1-\alpha)^T\log O_0` with
    :math:`O_0=1/(\kappa_0-1)`.  :math:`\pi_T(y^\star)\ge\tfrac12` iff :math:`\log O_T\ge0`."""
    rho_t = (1 - alpha) ** T
    log_odds = (1 - rho_t) * sp.log(odds_star) - rho_t * sp.log(kappa0 - 1)
    kappa_max = 1 + odds_star ** ((1 - rho_t) / rho_t)
    assert sp.simplify(sp.expand_log(log_odds.subs(kappa0, kappa_max), force=True)) == 0
    one = 1 + odds_star ** (alpha / (1 - alpha))
    assert sp.simplify(kappa_max.subs(T, 1) - one) == 0
    a, o = sp.Rational(1, 2), sp.Integer(9)  # the limit at one alpha and target odds
    limit = sp.limit(kappa_max.subs({alpha: a, odds_star: o}), T, sp.oo)
    return PopulationThreshold(log_odds, kappa_max, one, limit)


def kappa_max(alpha_value: float, rounds: int, target: float) -> float:
    r"""The numeric :math:`\kappa_{\max}` of :func:`population_threshold` for signal share
    ``alpha_value``, ``rounds`` rounds and target mass ``target`` on :math:`y^\star`
    (infinite at :math:`\alpha=1`)."""
    if alpha_value >= 1.0:
        return float("inf")
    rho_t = (1.0 - alpha_value) ** rounds
    odds = target / (1.0 - target)
    exponent = (1.0 - rho_t) / rho_t
    return float("inf") if exponent * math.log(odds) > 700 else 1.0 + odds**exponent


def population_mass(alpha_value: float, rounds: int, kappa: float, target: float) -> float:
    r""":math:`\pi_T(y^\star)` after ``rounds`` population rounds from coverage ``kappa``
    towards target mass ``target`` (the log-odds of :func:`population_threshold`)."""
    rho_t = (1.0 - alpha_value) ** rounds
    log_odds = (1 - rho_t) * math.log(target / (1 - target)) - rho_t * math.log(kappa - 1)
    return 1.0 / (1.0 + math.exp(-log_odds))


def latex_statements() -> dict[str, str]:
    """The derivation's results as LaTeX, by the names the chapter glues them under."""
    miss, need, unseen = miss_probability(), pairs_needed(), unseen_response()
    lev, shared, pop = tabular_leverage(), shared_feature(), population_threshold()
    p1, p2, p3 = unseen.reference
    shown = {p1: sp.Symbol(r"p_\star"), p2: sp.Symbol("p_2"), p3: sp.Symbol("p_3")}
    odds = {odds_star: sp.Symbol(r"O_\star")}
    return {
        "cov_miss": r"P(y^\star\notin\text{pairs of }x) = " + sp.latex(miss.given_m)
        + r"\;\ge\;" + sp.latex(miss.linear_bound),
        "cov_miss_n": r"P(y^\star\notin\text{the }n\text{ pairs}) = " + sp.latex(miss.given_n),
        "cov_pairs": r"m_{1/2} = " + sp.latex(need.half) + r"\;\ge\;"
        + sp.latex(need.lower.subs(delta, sp.Rational(1, 2))) + r",\qquad m_\delta = "
        + sp.latex(need.asymptotic) + r" + O(1/\kappa_0)",
        "cov_unseen": r"\frac{\partial L}{\partial u_{y^\star}} = "
        + sp.latex(unseen.grad_unseen) + r",\quad \sum_y\frac{\partial L}{\partial u_y} = "
        + sp.latex(unseen.grad_sum) + r"\;\Rightarrow\; \pi_1(y^\star\mid x)\le "
        + sp.latex(unseen.bound.subs(shown)),
        "cov_leverage": r"(e_{y^\star}-p)^\top\Sigma_p^{+}(e_{y^\star}-p) = "
        + sp.latex(lev.closed.subs(lev.probabilities[0], sp.Symbol(r"p_\star")))
        + r" = \kappa_0(x)-1",
        "cov_shared": r"\kappa_\phi(x_1) = " + sp.latex(shared.kappa_phi)
        + r"\;\xrightarrow{p\to0}\;" + sp.latex(shared.limit)
        + r",\qquad \kappa_0(x_1) = " + sp.latex(shared.kappa_0),
        "cov_threshold": r"\pi_T(y^\star)\ge\tfrac12 \iff \kappa_0\le "
        + sp.latex(pop.kappa_max.subs(odds)) + r",\qquad T=1:\ \kappa_0\le "
        + sp.latex(pop.kappa_max_one.subs(odds)),
    }
