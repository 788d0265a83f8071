r"""S3 in SymPy: the policy condition number.

.. math::

   \kappa(\pi) = \max_{x,y} \frac{\pi^*(y|x)}{\pi(y|x)}, \qquad
   \kappa_\Sigma(\pi) = \lambda_{\max}(H_\pi^{-1/2} H_* H_\pi^{-1/2}).

The derivation, step by step (each function returns the SymPy objects the book renders):

1. :func:`shifted_variance_identity` -
   :math:`\mathbb E_{p^*}[(g - c)^2] = \operatorname{Var}_{p^*}(g) + (\mathbb E_{p^*} g - c)^2`.
   With :math:`c = \mathbb E_p g` it gives :math:`\operatorname{Var}_{p^*}(g) \le
   \mathbb E_{p^*}[(g - \mathbb E_p g)^2] \le \kappa \operatorname{Var}_p(g)` for every
   direction, i.e. :math:`H_* \preceq \kappa H_\pi`: :math:`\kappa_\Sigma \le \kappa`, sharper
   than the reconstructed :math:`\kappa_\Sigma \le \kappa^2`.
2. :func:`bernoulli_ratio` - two responses, one-dimensional feature: :math:`\kappa_\Sigma` and
   :math:`\kappa` in closed form, and the limits showing :math:`\kappa_\Sigma \le \kappa` is
   attained while :math:`\kappa^2` is loose by the factor :math:`\kappa`.
3. :func:`log_ratio_identity` - :math:`\log \pi^*(y) - \log \pi_\theta(y) = -g_y
   + \log \mathbb E_{\pi^*} e^g` with :math:`g = (\theta - \theta^*) \cdot \phi`; hence
   :math:`\log \kappa \le \operatorname{span}_y g \le 2 \|\theta - \theta^*\|`.
4. :func:`healing` - along the population dynamics :math:`g` scales by :math:`(1 - \alpha)^t`,
   so :math:`\log \kappa_t \le (1 - \alpha)^t \operatorname{span}_0 \le 2 (1 - \alpha)^t e_0`,
   and the number of rounds until :math:`\kappa_t \le 1 + \epsilon`.
5. :func:`variance_inflation_bounds` - the one-step variance term of S2 is squeezed by
   :math:`\kappa_\Sigma(\pi_0)`: :math:`\kappa_\Sigma / \beta^2 \le
   \operatorname{tr}(F I_0^{-1}) / (2 \beta^2) \le d \kappa_\Sigma / (4 \beta^2 s_{\min})`.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from srlm_core.theory.contraction_law import alpha, beta, e0, t


def shifted_variance_identity(K: int = 3) -> tuple[sp.Expr, sp.Expr]:
    r"""(:math:`\mathbb E_{p^*}[(g - c)^2]`,
    :math:`\operatorname{Var}_{p^*}(g) + (\mathbb E_{p^*} g - c)^2`) for K responses; equal."""
    p = sp.symbols(f"p^*_1:{K + 1}", positive=True)
    g = sp.symbols(f"g_1:{K + 1}", real=True)
    c = sp.Symbol("c", real=True)
    p_last = 1 - sum(p[:-1])  # probabilities sum to one
    probs = [*p[:-1], p_last]
    mean = sum(pk * gk for pk, gk in zip(probs, g))
    shifted = sum(pk * (gk - c) ** 2 for pk, gk in zip(probs, g))
    variance = sum(pk * (gk - mean) ** 2 for pk, gk in zip(probs, g))
    return shifted, variance + (mean - c) ** 2


@dataclass(frozen=True)
class BernoulliRatio:
    """The two condition numbers for two responses (:func:`bernoulli_ratio`)."""

    kappa_sigma: sp.Expr  #: :math:`p^*(1 - p^*) / (p (1 - p))`
    kappa: sp.Expr  #: :math:`\max(p^*/p, (1 - p^*)/(1 - p))`
    #: :math:`\lim_{p \to 0} \kappa_\Sigma / \kappa` with :math:`p^* = c p`, :math:`c > 1`
    tight_limit: sp.Expr
    #: :math:`\lim_{p \to 0} \kappa_\Sigma / \kappa^2` with :math:`p^* = c p`
    square_limit: sp.Expr


def bernoulli_ratio() -> BernoulliRatio:
    r"""K = 2 responses with features 0 and 1: :math:`H_\pi = 2 p (1 - p)`, so
    :math:`\kappa_\Sigma` is the ratio of Bernoulli variances.  Along :math:`p^* = c p`,
    :math:`p \to 0` (a policy that under-weights the target's answer by the factor :math:`c`):
    :math:`\kappa_\Sigma / \kappa \to 1` and :math:`\kappa_\Sigma / \kappa^2 \to 1 / c`."""
    p, p_star = sp.symbols("p p^*", positive=True)
    c = sp.Symbol("c", positive=True)
    kappa_sigma = p_star * (1 - p_star) / (p * (1 - p))
    kappa = sp.Max(p_star / p, (1 - p_star) / (1 - p))
    along = {p_star: c * p}
    # for c > 1 and p < 1/c the first ratio is the maximum: kappa = c
    tight = sp.limit(sp.simplify(kappa_sigma.subs(along) / c), p, 0)
    square = sp.limit(sp.simplify(kappa_sigma.subs(along) / c**2), p, 0)
    return BernoulliRatio(kappa_sigma, kappa, tight, square)


def log_ratio_identity(K: int = 3) -> tuple[sp.Expr, sp.Expr]:
    r"""(:math:`\log \pi^*(y_1) - \log \pi_\theta(y_1)` from the softmax definitions,
    :math:`-g_1 + \log \sum_k \pi^*(y_k) e^{g_k}`), with logits
    :math:`a_k = \theta^* \cdot \phi_k` and :math:`g_k = (\theta - \theta^*) \cdot \phi_k`."""
    a = sp.symbols(f"a_1:{K + 1}", real=True)
    g = sp.symbols(f"g_1:{K + 1}", real=True)
    log_star = a[0] - sp.log(sum(sp.exp(ak) for ak in a))
    log_pi = a[0] + g[0] - sp.log(sum(sp.exp(ak + gk) for ak, gk in zip(a, g)))
    Z = sum(sp.exp(ak) for ak in a)
    mgf = sum(sp.exp(ak) / Z * sp.exp(gk) for ak, gk in zip(a, g))
    return log_star - log_pi, -g[0] + sp.log(mgf)


@dataclass(frozen=True)
class Healing:
    """How the condition number heals along the population dynamics (:func:`healing`)."""

    #: :math:`\operatorname{span}_y (\theta_t - \theta^*) \cdot \phi` along the dynamics
    span_t: sp.Expr
    log_kappa_bound: sp.Expr  #: :math:`2 (1 - \alpha)^t e_0`
    #: smallest real :math:`t` with the bound :math:`\le \log(1 + \epsilon)`
    rounds_to_epsilon: sp.Expr
    epsilon: sp.Symbol  #: the tolerance :math:`\epsilon`


def healing() -> Healing:
    r"""The span is positively homogeneous of degree one in :math:`\theta - \theta^*`, and
    :math:`\theta_t - \theta^* = (1 - \alpha)^t (\theta_0 - \theta^*)` (S1): it shrinks by
    :math:`(1 - \alpha)^t`."""
    span0 = sp.Symbol("s_0", positive=True)
    epsilon = sp.Symbol("epsilon", positive=True)
    span_t = (1 - alpha) ** t * span0
    bound = 2 * (1 - alpha) ** t * e0
    tau = sp.Symbol("tau", positive=True)
    rounds = sp.solve(sp.Eq(bound.subs(t, tau), sp.log(1 + epsilon)), tau)[0]
    return Healing(span_t, bound, sp.simplify(sp.expand_log(rounds, force=True)), epsilon)


@dataclass(frozen=True)
class VarianceInflation:
    """Bounds on the one-step variance term (:func:`variance_inflation_bounds`)."""

    lower: sp.Expr  #: :math:`\kappa_\Sigma / \beta^2`
    upper: sp.Expr  #: :math:`d \kappa_\Sigma / (4 \beta^2 s_{\min})`
    s_min_bound: sp.Expr  #: :math:`\sigma'(2 \beta \|u_1\|) \le s_{\min}`


def variance_inflation_bounds() -> VarianceInflation:
    r"""Bounds on :math:`V = \operatorname{tr}(F I_0^{-1}) / (2 \beta^2)`, :math:`F = H_* / 2`,
    from :math:`s_{\min} H_0 \preceq I_0 \preceq H_0 / 4` (:math:`\sigma' \le 1/4`) and
    :math:`H_* \preceq \kappa_\Sigma H_0` with equality in one direction:

    .. math::

       \operatorname{tr}(F I_0^{-1}) &\ge 4 \operatorname{tr}(F H_0^{-1})
       = 2 \operatorname{tr}(H_* H_0^{-1}) \ge 2 \kappa_\Sigma, \\
       \operatorname{tr}(F I_0^{-1}) &\le \operatorname{tr}(F H_0^{-1}) / s_{\min}
       \le \kappa_\Sigma \operatorname{tr}(F H_*^{-1}) / s_{\min}
       = d \kappa_\Sigma / (2 s_{\min}).
    """
    kappa_sigma, d, s_min, u1 = sp.symbols("kappa_Sigma d s_min u_1", positive=True)
    z = 2 * beta * u1
    sigma = 1 / (1 + sp.exp(-z))
    return VarianceInflation(
        lower=kappa_sigma / beta**2,
        upper=d * kappa_sigma / (4 * beta**2 * s_min),
        s_min_bound=sp.simplify(sigma * (1 - sigma)),
    )


def latex_statements() -> dict[str, str]:
    """The derivation's results as LaTeX, by the names the chapter glues them under."""
    b, h, vi = bernoulli_ratio(), healing(), variance_inflation_bounds()
    return {
        "s3_shift": r"\mathbb E_{\pi^\star}[(g-c)^2] = \operatorname{Var}_{\pi^\star}(g)"
        r" + (\mathbb E_{\pi^\star}g - c)^2",
        "s3_bernoulli": r"\lim_{p\to0}\frac{\kappa_\Sigma}{\kappa} = " + sp.latex(b.tight_limit)
        + r",\qquad \lim_{p\to0}\frac{\kappa_\Sigma}{\kappa^2} = " + sp.latex(b.square_limit),
        "s3_logratio": r"\log\frac{\pi^\star(y\mid x)}{\pi_\theta(y\mid x)} = -g_y"
        r" + \log\mathbb E_{\pi^\star}\big[e^{g}\big]",
        "s3_heal": r"\log\kappa(\pi_t)\le " + sp.latex(h.span_t) + r"\le "
        + sp.latex(h.log_kappa_bound),
        "s3_rounds": r"t_\epsilon = " + sp.latex(h.rounds_to_epsilon),
        "s3_inflation": sp.latex(vi.lower) + r"\;\le\; V \;\le\; " + sp.latex(vi.upper)
        + r",\qquad s_{\min}\ge " + sp.latex(vi.s_min_bound),
    }
