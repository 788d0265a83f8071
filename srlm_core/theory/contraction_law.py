r"""S1 in SymPy: the self-rewarding population operator is a contraction.

The derivation, step by step (each function returns the SymPy object the book renders):

1. :func:`gibbs_policy` - the KL-regularised optimum of
   :math:`\mathbb E_\pi[r] - \beta \operatorname{KL}(\pi \,\|\, \pi_{\mathrm{ref}})` is
   :math:`\pi \propto \pi_{\mathrm{ref}} \exp(r / \beta)` (Lagrangian stationarity).
2. :func:`judge_margin` - for linear-softmax policies the self-judge's reward margin is
   :math:`r_t(y) - r_t(y') = \beta\, v_t \cdot (\phi_y - \phi_{y'})` with
   :math:`v_t = \alpha w^* + (1 - \alpha) u_t` and :math:`u_t = \theta_t - \theta_{\mathrm{ref}}`:
   the log-normalisers cancel.
3. :func:`population_gradient` - the population DPO gradient
   :math:`\mathbb E[(\sigma(\beta u \cdot \Delta\phi) - \sigma(\beta v_t \cdot \Delta\phi))
   \,\beta \Delta\phi]` vanishes at :math:`u = v_t`, and the loss is strictly convex when the
   :math:`\Delta\phi` span :math:`\mathbb R^d`, so :math:`u_{t+1} = v_t`.
4. :func:`contraction` - hence

   .. math:: \theta_{t+1} - \theta^* = (1 - \alpha)(\theta_t - \theta^*),

   and :func:`unrolled_error` solves the recursion: :math:`e_t = (1 - \alpha)^t e_0`.
5. :func:`log_policy_recursion` - the same statement for log-policies, up to a per-prompt
   constant :math:`c_t(x)`.
6. :func:`moving_reference` - with the DPO reference reset to :math:`\pi_t` every round the
   deviation :math:`D_t = \theta_t - \theta_{\mathrm{ref}}` obeys
   :math:`D_{t+1} = (2 - \alpha) D_t + \alpha w^*`: not a contraction.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

alpha, beta = sp.symbols("alpha beta", positive=True)
t = sp.symbols("t", integer=True, nonnegative=True)
e0 = sp.symbols("e_0", nonnegative=True)


def _vector(name: str, d: int) -> sp.Matrix:
    return sp.Matrix(sp.symbols(f"{name}_1:{d + 1}", real=True))


def gibbs_policy(K: int = 3) -> tuple[list[sp.Expr], list[sp.Expr]]:
    r"""Maximise :math:`\sum_y \pi_y r_y - \beta \sum_y \pi_y \log(\pi_y / p_y)` subject to
    :math:`\sum_y \pi_y = 1`.

    Returns (the solution :math:`\pi_y`, the Gibbs form :math:`p_y e^{r_y / \beta} / Z`) for
    K responses."""
    pis = sp.symbols(f"pi_1:{K + 1}", positive=True)
    rs = sp.symbols(f"r_1:{K + 1}", real=True)
    ps = sp.symbols(f"p_1:{K + 1}", positive=True)
    mu = sp.symbols("mu", real=True)
    lagrangian = sum(pi * r - beta * pi * sp.log(pi / p) for pi, r, p in zip(pis, rs, ps))
    lagrangian += mu * (sum(pis) - 1)
    stationary = {pi: sp.solve(sp.diff(lagrangian, pi), pi)[0] for pi in pis}
    mu_value = sp.solve(sum(stationary.values()) - 1, mu)[0]
    solution = [sp.simplify(stationary[pi].subs(mu, mu_value)) for pi in pis]
    Z = sum(p * sp.exp(r / beta) for p, r in zip(ps, rs))
    gibbs = [p * sp.exp(r / beta) / Z for p, r in zip(ps, rs)]
    return solution, gibbs


def judge_margin(d: int = 2) -> tuple[sp.Expr, sp.Expr]:
    r"""The self-judge's margin :math:`r_t(x, y) - r_t(x, y')` for a linear-softmax policy,
    written out with explicit log-normalisers, and the claimed closed form
    :math:`\beta\, v_t \cdot (\phi_y - \phi_{y'})`.

    Returns (margin, :math:`\beta\, v_t \cdot \Delta\phi`); their difference simplifies to
    zero."""
    phi_y, phi_yp = _vector("phi", d), _vector("phi'", d)
    w, theta, theta_ref = _vector("w^*", d), _vector("theta_t", d), _vector("theta_ref", d)
    logZ_t, logZ_ref = sp.symbols("log_Z_t log_Z_ref", real=True)

    def judge(phi: sp.Matrix) -> sp.Expr:
        log_pi_t = (theta.T * phi)[0] - logZ_t
        log_pi_ref = (theta_ref.T * phi)[0] - logZ_ref
        return alpha * beta * (w.T * phi)[0] + (1 - alpha) * beta * (log_pi_t - log_pi_ref)

    margin = judge(phi_y) - judge(phi_yp)
    v = alpha * w + (1 - alpha) * (theta - theta_ref)
    return sp.expand(margin), sp.expand(beta * (v.T * (phi_y - phi_yp))[0])


def population_gradient(d: int = 2) -> tuple[sp.Matrix, dict]:
    r"""The gradient in :math:`u` of the population DPO loss for one pair direction
    :math:`\Delta\phi` with soft label :math:`\sigma(\beta v \cdot \Delta\phi)`:
    :math:`(\sigma(\beta u \cdot \Delta\phi) - \sigma(\beta v \cdot \Delta\phi))\,\beta \Delta\phi`.

    Returns (gradient, the substitution :math:`u = v` under which it vanishes)."""
    u, v, dphi = _vector("u", d), _vector("v", d), _vector("Delta", d)
    s = sp.Function("sigma")
    gradient = (s(beta * (u.T * dphi)[0]) - s(beta * (v.T * dphi)[0])) * beta * dphi
    return gradient, dict(zip(u, v))


def population_hessian(d: int = 2) -> tuple[sp.Matrix, sp.Matrix]:
    r"""Hessian of the DPO loss :math:`-\log \sigma(\beta u \cdot \Delta\phi)` for one pair
    direction, and its closed form :math:`\beta^2 \sigma(z) \sigma(-z)\, \Delta\phi
    \Delta\phi^\top` (:math:`z = \beta u \cdot \Delta\phi`): positive semi-definite, and
    positive definite once summed over directions that span :math:`\mathbb R^d`, so the
    population minimiser is unique.  (A soft label changes the loss by a linear term only.)"""
    u, dphi = _vector("u", d), _vector("Delta", d)
    z = beta * (u.T * dphi)[0]
    hessian = sp.hessian(-sp.log(1 / (1 + sp.exp(-z))), list(u))
    closed_form = beta**2 / (1 + sp.exp(-z)) / (1 + sp.exp(z)) * (dphi * dphi.T)
    return hessian, closed_form


@dataclass(frozen=True)
class Contraction:
    """The S1 map in one coordinate (:func:`contraction`)."""

    update: sp.Expr  #: :math:`\theta_{t+1} - \theta^*` in terms of :math:`\theta_t - \theta^*`
    factor: sp.Expr  #: :math:`1 - \alpha`


def contraction() -> Contraction:
    r""":math:`\theta_{t+1} - \theta^*` with :math:`\theta_{t+1} = \theta_{\mathrm{ref}} + v_t`
    and :math:`\theta^* = \theta_{\mathrm{ref}} + w^*`, in one coordinate (the map acts
    coordinate-wise)."""
    theta_t, theta_ref, w = sp.symbols("theta_t theta_ref w^*", real=True)
    theta_star = theta_ref + w
    theta_next = theta_ref + alpha * w + (1 - alpha) * (theta_t - theta_ref)
    error_next = sp.expand(theta_next - theta_star)
    factor = sp.simplify(error_next / (theta_t - theta_star))
    return Contraction(update=sp.factor(error_next), factor=factor)


def unrolled_error() -> sp.Expr:
    r"""Solve :math:`e_{t+1} = (1 - \alpha) e_t`, :math:`e_0` given:
    :math:`e_t = (1 - \alpha)^t e_0`."""
    e = sp.Function("e")
    return sp.rsolve(e(t + 1) - (1 - alpha) * e(t), e(t), {e(0): e0})


def log_policy_recursion(K: int = 3) -> sp.Expr:
    r"""Tabular check of
    :math:`\log \pi_{t+1} - \log \pi^* = (1 - \alpha)(\log \pi_t - \log \pi^*) + c_t(x)`.

    Returns, for response 1 minus response 2 (so :math:`c_t` cancels), the residual
    :math:`[\log \pi_{t+1} - \log \pi^*] - (1 - \alpha)[\log \pi_t - \log \pi^*]`, which is
    zero."""
    lp_t = sp.symbols(f"l_1:{K + 1}", real=True)  # log pi_t
    lp_ref = sp.symbols(f"lref_1:{K + 1}", real=True)  # log pi_ref
    r = sp.symbols(f"rstar_1:{K + 1}", real=True)  # r*
    logZ_next, logZ_star = sp.symbols("log_Z_next log_Z_star", real=True)
    judge = [alpha * ri + (1 - alpha) * beta * (a - b) for ri, a, b in zip(r, lp_t, lp_ref)]
    lp_next = [b + j / beta - logZ_next for b, j in zip(lp_ref, judge)]  # Gibbs with r_t
    lp_star = [b + ri / beta - logZ_star for b, ri in zip(lp_ref, r)]
    residual = [
        (n - s) - (1 - alpha) * (c - s) for n, s, c in zip(lp_next, lp_star, lp_t)
    ]
    return sp.simplify(residual[0] - residual[1])


@dataclass(frozen=True)
class MovingReference:
    """The deviation recursion under a moving reference (:func:`moving_reference`)."""

    recursion: sp.Expr  #: :math:`D_{t+1}` in terms of :math:`D_t`
    solution: sp.Expr  #: :math:`D_t` in closed form
    solution_alpha_one: sp.Expr  #: the :math:`\alpha = 1` case
    growth: sp.Expr  #: :math:`2 - \alpha`


def moving_reference() -> MovingReference:
    r"""DPO against :math:`\pi_{\mathrm{ref}} \leftarrow \pi_t` with the judge's
    self-preference measured against the fixed :math:`\pi_{\mathrm{ref}}`:
    :math:`\theta_{t+1} = \theta_t + v_t`, so :math:`D_{t+1} = (2 - \alpha) D_t + \alpha w^*`
    (one coordinate)."""
    D = sp.Function("D")
    w, D0 = sp.symbols("w^* D_0", real=True)
    a = sp.symbols("alpha", positive=True)
    # theta_{t+1} - theta_ref = (theta_t - theta_ref) + alpha w* + (1 - alpha)(theta_t - theta_ref)
    recursion = sp.expand(D(t) + a * w + (1 - a) * D(t))
    general = sp.rsolve(D(t + 1) - recursion, D(t), {D(0): D0})
    at_one = sp.rsolve(D(t + 1) - recursion.subs(a, 1), D(t), {D(0): D0})
    growth = sp.simplify(sp.diff(recursion, D(t)))
    sub = {a: alpha}
    return MovingReference(
        recursion=recursion.subs(sub),
        solution=sp.simplify(general.subs(sub)),
        solution_alpha_one=sp.expand(at_one),
        growth=growth.subs(sub),
    )
