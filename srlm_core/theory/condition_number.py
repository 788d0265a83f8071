"""S3 in SymPy: the policy condition number.

kappa(pi) = max_{x,y} pi*(y|x) / pi(y|x) and
kappa_Sigma(pi) = lambda_max(H_pi^{-1/2} H_* H_pi^{-1/2}).
The derivation, step by step (each function returns the SymPy objects the book renders):

1. :func:`shifted_variance_identity` - E_{p*}[(g - c)^2] = Var_{p*}(g) + (E_{p*} g - c)^2.  With
   c = E_p g it gives Var_{p*}(g) <= E_{p*}[(g - E_p g)^2] <= kappa Var_p(g) for every direction,
   i.e. H_* <= kappa H_pi in the Loewner order: kappa_Sigma <= kappa, sharper than the
   reconstructed kappa_Sigma <= kappa^2.
2. :func:`bernoulli_ratio` - two responses, one-dimensional feature: kappa_Sigma and kappa in
   closed form, and the limits showing kappa_Sigma <= kappa is attained while kappa^2 is loose by
   the factor kappa.
3. :func:`log_ratio_identity` - log pi*(y) - log pi_theta(y) = -g_y + log E_{pi*} e^g with
   g = (theta - theta*) . phi; hence log kappa <= span_y g <= 2 ||theta - theta*||.
4. :func:`healing` - along the population dynamics g scales by (1 - alpha)^t, so
   log kappa_t <= (1 - alpha)^t span_0 <= 2 (1 - alpha)^t e_0, and the number of rounds until
   kappa_t <= 1 + epsilon.
5. :func:`variance_inflation_bounds` - the one-step variance term of S2 is squeezed by
   kappa_Sigma(pi_0): kappa_Sigma / beta^2 <= tr(F I_0^{-1}) / (2 beta^2)
   <= d kappa_Sigma / (4 beta^2 s_min).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from srlm_core.theory.contraction import alpha, beta, e0, t


def shifted_variance_identity(K: int = 3) -> tuple[sp.Expr, sp.Expr]:
    """(E_{p*}[(g - c)^2], Var_{p*}(g) + (E_{p*} g - c)^2) for K responses; equal."""
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
    kappa_sigma: sp.Expr  # p*(1 - p*) / (p (1 - p))
    kappa: sp.Expr  # max(p*/p, (1 - p*)/(1 - p))
    tight_limit: sp.Expr  # lim_{p -> 0} kappa_Sigma / kappa with p* = c p, c > 1
    square_limit: sp.Expr  # lim_{p -> 0} kappa_Sigma / kappa^2 with p* = c p


def bernoulli_ratio() -> BernoulliRatio:
    """K = 2 responses with features 0 and 1: H_pi = 2 p (1 - p), so kappa_Sigma is the ratio of
    Bernoulli variances.  Along p* = c p, p -> 0 (a policy that under-weights the target's
    answer by the factor c): kappa_Sigma / kappa -> 1 and kappa_Sigma / kappa^2 -> 1 / c."""
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
    """(log pi*(y_1) - log pi_theta(y_1) from the softmax definitions,
    -g_1 + log sum_k pi*(y_k) exp(g_k)), with logits a_k = theta* . phi_k and
    g_k = (theta - theta*) . phi_k."""
    a = sp.symbols(f"a_1:{K + 1}", real=True)
    g = sp.symbols(f"g_1:{K + 1}", real=True)
    log_star = a[0] - sp.log(sum(sp.exp(ak) for ak in a))
    log_pi = a[0] + g[0] - sp.log(sum(sp.exp(ak + gk) for ak, gk in zip(a, g)))
    Z = sum(sp.exp(ak) for ak in a)
    mgf = sum(sp.exp(ak) / Z * sp.exp(gk) for ak, gk in zip(a, g))
    return log_star - log_pi, -g[0] + sp.log(mgf)


@dataclass(frozen=True)
class Healing:
    span_t: sp.Expr  # span_y (theta_t - theta*) . phi along the population dynamics
    log_kappa_bound: sp.Expr  # 2 (1 - alpha)^t e_0
    rounds_to_epsilon: sp.Expr  # smallest real t with the bound <= log(1 + epsilon)
    epsilon: sp.Symbol


def healing() -> Healing:
    """The span is positively homogeneous of degree one in theta - theta*, and
    theta_t - theta* = (1 - alpha)^t (theta_0 - theta*) (S1): it shrinks by (1 - alpha)^t."""
    span0 = sp.Symbol("s_0", positive=True)
    epsilon = sp.Symbol("epsilon", positive=True)
    span_t = (1 - alpha) ** t * span0
    bound = 2 * (1 - alpha) ** t * e0
    tau = sp.Symbol("tau", positive=True)
    rounds = sp.solve(sp.Eq(bound.subs(t, tau), sp.log(1 + epsilon)), tau)[0]
    return Healing(span_t, bound, sp.simplify(sp.expand_log(rounds, force=True)), epsilon)


@dataclass(frozen=True)
class VarianceInflation:
    lower: sp.Expr  # kappa_Sigma / beta^2
    upper: sp.Expr  # d kappa_Sigma / (4 beta^2 s_min)
    s_min_bound: sp.Expr  # sigma'(2 beta ||u_1||) <= s_min


def variance_inflation_bounds() -> VarianceInflation:
    """Bounds on V = tr(F I_0^{-1}) / (2 beta^2), F = H_* / 2, from s_min H_0 <= I_0 <= H_0 / 4
    (sigma' <= 1/4) and H_* <= kappa_Sigma H_0 with equality in one direction:
    tr(F I_0^{-1}) >= 4 tr(F H_0^{-1}) = 2 tr(H_* H_0^{-1}) >= 2 kappa_Sigma, and
    tr(F I_0^{-1}) <= tr(F H_0^{-1}) / s_min <= kappa_Sigma tr(F H_*^{-1}) / s_min
    = d kappa_Sigma / (2 s_min)."""
    kappa_sigma, d, s_min, u1 = sp.symbols("kappa_Sigma d s_min u_1", positive=True)
    z = 2 * beta * u1
    sigma = 1 / (1 + sp.exp(-z))
    return VarianceInflation(
        lower=kappa_sigma / beta**2,
        upper=d * kappa_sigma / (4 * beta**2 * s_min),
        s_min_bound=sp.simplify(sigma * (1 - sigma)),
    )
