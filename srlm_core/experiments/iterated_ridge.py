r"""S5 with iteration: the ridge inside the self-rewarding procedure at :math:`\alpha < 1`.

Linearised at its fixed point, the iterated population round with ridge :math:`\lambda` and
signal share :math:`\alpha` is biased along each eigendirection (eigenvalue :math:`\mu` of
the Fisher information :math:`I_\infty` of a pair sampled by the fixed-point model) by the
factor :math:`\lambda / (\alpha\mu + \lambda)`: the one-step bias with the effective ridge
:math:`\lambda / \alpha` (:func:`srlm_core.theory.polynomial_spectrum.iterated_ridge`).  Its
stationary risk in the :math:`I_\infty` norm is predicted by

.. math::

   \sum_j \frac{\mu_j \lambda^2 w_j^2}{(\alpha\mu_j + \lambda)^2}
   + \sum_j \frac{\mu_j^2}{n (\alpha\mu_j + \lambda)((2 - \alpha)\mu_j + \lambda)}
   \;\le\; \frac{\lambda \lVert w^\star\rVert^2}{4\alpha}
   + \frac{d_{\mathrm{eff}}(\lambda/\alpha)}{\alpha (2 - \alpha) n}
   = U_\alpha(\lambda).

The experiment draws ``instances`` random problems (unit features scaled by
:math:`j^{-p/2}` along coordinate j, so the spectrum decays; a random :math:`w^\star` of norm
``signal``), and for each share in ``alphas``

* iterates the population round (:math:`n = \infty`, fixed reference) to its fixed point and
  measures the bias factor :math:`-(u_\infty - w^\star)_j / w^\star_j` along each
  eigendirection of :math:`I_\infty` against :math:`\lambda / (\alpha\mu_j + \lambda)`;
* runs ``seeds`` finite-sample runs of ``n`` pairs per round from the fixed point, drops the
  first ``burn_in`` rounds and averages :math:`\lVert\theta_t - \theta^\star\rVert_{I_\infty}^2`
  over the remaining ones and the seeds: one number per instance, against the prediction,
  the bound :math:`U_\alpha(\lambda)` and the one-step prediction that uses :math:`\lambda`
  in place of :math:`\lambda/\alpha` and :math:`1/n` in place of the accumulated variance.

All instances, shares and seeds are batched into one logistic fit per round; a finite-sample
round draws the counts of the pairs :math:`(x, y, y')` (multinomial) and of their wins
(binomial), the count engine of :mod:`srlm_core.model.pair_counts`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
import torch

from srlm_core.errors import require, require_at_least, require_positive, require_shares
from srlm_core.model.dpo import fit_logistic
from srlm_core.model.policy import DTYPE, ProblemConfig
from srlm_core.options import nested, option
from srlm_core.stats import mean_interval
from srlm_core.theory import polynomial_spectrum

#: pre-registered: the largest absolute gap between a measured and a predicted bias factor
BIAS_TOL = 0.01
#: pre-registered: the mean over instances of measured over predicted stationary error lies
#: within this relative distance of 1 for every share
RISK_RTOL = 0.1
#: directions whose target coordinate is below this share of ``signal`` carry too little
#: bias to read a factor from
MIN_WEIGHT = 0.05


@dataclass(frozen=True)
class Config:
    """The chapter's run: ``instances`` problems with ``d`` features, ``K`` responses,
    ``contexts`` prompts, KL strength ``beta``, target norm ``signal`` and feature scales
    :math:`j^{-p/2}` (``decay`` = p); ridge ``lam``; the signal shares ``alphas``; ``n`` pairs
    per round, ``rounds`` rounds (the first ``burn_in`` dropped), ``seeds`` runs per
    instance; the population round is iterated until it moves by less than ``tol``, at most
    ``max_rounds`` times."""

    problem: ProblemConfig = nested(ProblemConfig(K=6, contexts=16),
                                   "the random problems (instance i: seed + i)")
    decay: float = option(2.0, "decay exponent p of the feature scales j^(-p/2)")
    lam: float = option(0.005, "ridge lambda")
    alphas: tuple[float, ...] = option((0.25, 0.5, 1.0), "signal shares alpha")
    n: int = option(2000, "pairs per round")
    rounds: int = option(20, "rounds of the finite-sample runs")
    burn_in: int = option(4, "first rounds dropped from the averages")
    seeds: int = option(8, "finite-sample runs per instance")
    instances: int = option(8, "random problems (the unit of the intervals)")
    tol: float = option(1e-12, "the population round is iterated until it moves by less than this")
    max_rounds: int = option(500, "most population rounds")

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        require_at_least(self, 1, "n", "seeds", "rounds", "max_rounds")
        require_at_least(self, 2, "instances")
        self.problem.validate()
        require_positive(self.problem, "signal")
        require_positive(self, "lam", "tol")
        require(self, ("decay", self.decay >= 0 and math.isfinite(self.decay),
                       "must be non-negative and finite"),
                ("burn_in", 0 <= self.burn_in < self.rounds, "must be in [0, rounds)"))
        require_shares(self, "alphas", closed=True)
        return self


def problem_tensors(config: Config, instance: int) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Features (C, K, d) of instance ``instance``: :func:`srlm_core.model.policy.make_problem`
    with seed ``instance``, coordinate j scaled by :math:`j^{-p/2}`; and its :math:`w^\star`."""
    problem = config.problem.instance(instance).make()
    scale = torch.arange(1, problem.dim + 1, dtype=DTYPE) ** (-config.decay / 2)
    return problem.features * scale, problem.w_star


def _cells(features: torch.Tensor, u: torch.Tensor, v: torch.Tensor, beta: float):
    r"""Per batch row: the pair differences :math:`\beta\Delta` (S, C K K, d), the pair
    probabilities :math:`\rho(x)\pi_u(y|x)\pi_u(y'|x)` and the judge's soft labels
    :math:`\sigma(\beta v\cdot\Delta)` (S, C K K).  ``features`` (S, C, K, d)."""
    S, C, K, d = features.shape
    z = beta * (features.unsqueeze(3) - features.unsqueeze(2)).reshape(S, C * K * K, d)
    probs = torch.softmax(torch.einsum("sckd,sd->sck", features, u), dim=-1)
    weight = (probs.unsqueeze(-1) * probs.unsqueeze(-2) / C).reshape(S, -1)
    return z, weight, torch.sigmoid(torch.einsum("smd,sd->sm", z, v))


def fisher(features: torch.Tensor, u: torch.Tensor, beta: float) -> torch.Tensor:
    r""":math:`I_u = \beta^2\,\mathbb E_{x, y, y' \sim \pi_u}[\sigma'(\beta u\cdot\Delta)
    \Delta\Delta^\top]` per batch row (S, d, d): the Hessian of the population DPO loss."""
    z, weight, p = _cells(features, u, u, beta)
    return torch.einsum("sm,smd,sme->sde", weight * p * (1 - p), z, z)


def population_fixed_point(features, w_star, alpha, config: Config):
    r"""Iterate the population round :math:`u \mapsto \operatorname{argmin}` of the ridge DPO
    loss on pairs from :math:`\pi_u` judged with :math:`v = \alpha w^\star + (1 - \alpha)u`,
    from :math:`u = 0`; returns the fixed point (S, d) and the rounds it took."""
    u = torch.zeros_like(w_star)
    for rounds in range(1, config.max_rounds + 1):
        v = alpha * w_star + (1 - alpha) * u
        z, weight, target = _cells(features, u, v, config.problem.beta)
        nxt = fit_logistic(z, target, weight, config.lam, u)
        moved = float((nxt - u).abs().max())
        u = nxt
        if moved < config.tol:
            return u, rounds
    raise ArithmeticError(f"the population round moved by {moved:.1e} after "
                          f"{config.max_rounds} rounds (tol {config.tol:.0e})")


def sample_round(features, w_star, alpha, u, config: Config, generator) -> torch.Tensor:
    """One finite-sample round per batch row: ``n`` pairs from :math:`\\pi_u`, judged, and the
    ridge DPO step on their counts."""
    v = alpha * w_star + (1 - alpha) * u
    z, weight, target = _cells(features, u, v, config.problem.beta)
    cells = torch.multinomial(weight, config.n, replacement=True, generator=generator)
    counts = torch.zeros_like(weight).scatter_add_(1, cells, torch.ones_like(cells, dtype=DTYPE))
    wins = torch.binomial(counts, target, generator=generator)
    share = torch.where(counts > 0, wins / counts.clamp(min=1), torch.zeros_like(wins))
    return fit_logistic(z, share, counts / config.n, config.lam, u)


def run(config: Config) -> dict:
    """Per (instance, share): the Fisher spectrum at the population fixed point, the target's
    coordinates and the measured bias factors there, the per-seed stationary errors, and the
    predicted stationary error, the bound and the one-step prediction; and the SymPy balanced
    ridge ratio :math:`\\lambda^*_\\alpha/\\lambda^*_1` and the one-step ridge's cost at
    ``decay``."""
    config.validate()
    I_, A = config.instances, len(config.alphas)
    feats, targets = zip(*(problem_tensors(config, i) for i in range(I_)), strict=True)
    features = torch.stack(feats).repeat_interleave(A, 0)  # (I A, C, K, d), share fastest
    w_star = torch.stack(targets).repeat_interleave(A, 0)
    alpha = torch.tensor(config.alphas, dtype=DTYPE).repeat(I_)[:, None]
    u_fix, fixed_rounds = population_fixed_point(features, w_star, alpha, config)
    information = fisher(features, u_fix, config.problem.beta)
    mu, vectors = torch.linalg.eigh(information)
    w = torch.einsum("sde,sd->se", vectors, w_star)
    factor = -torch.einsum("sde,sd->se", vectors, u_fix - w_star) / w

    S = config.seeds
    rep = lambda x: x.repeat_interleave(S, 0)  # noqa: E731
    generator = torch.Generator().manual_seed(0)
    u, norm = rep(u_fix), rep(information)
    errors = []
    for t in range(config.rounds):
        u = sample_round(rep(features), rep(w_star), rep(alpha), u, config, generator)
        if t >= config.burn_in:
            e = u - rep(w_star)
            errors.append(torch.einsum("sd,sde,se->s", e, norm, e))
    per_seed = torch.stack(errors).mean(0).reshape(I_ * A, S)

    lam, n = config.lam, config.n
    bias = (mu * lam**2 * w**2 / (alpha * mu + lam) ** 2).sum(-1)
    variance = (mu**2 / (n * (alpha * mu + lam) * ((2 - alpha) * mu + lam))).sum(-1)
    bound = (lam * config.problem.signal**2 / (4 * alpha[:, 0])
             + (mu / (mu + lam / alpha)).sum(-1) / (alpha[:, 0] * (2 - alpha[:, 0]) * n))
    one_step = (mu * lam**2 * w**2 / (mu + lam) ** 2 + mu**2 / (n * (mu + lam) ** 2)).sum(-1)
    theory = polynomial_spectrum.iterated_ridge()
    at = ({polynomial_spectrum.p: sp.nsimplify(config.decay, rational=True)}
          if config.decay > 1 else None)
    cells = []
    for k in range(I_ * A):
        a = config.alphas[k % A]
        cells.append({
            "instance": k // A, "alpha": a, "fixed_rounds": fixed_rounds,
            "mu": mu[k].tolist(), "w": w[k].tolist(), "factor": factor[k].tolist(),
            "error_seeds": per_seed[k].tolist(), "bias": float(bias[k]),
            "variance": float(variance[k]), "bound": float(bound[k]),
            "one_step": float(one_step[k]),
        })
    ratios = {str(a): (float(theory.lam_star_ratio.subs(at).subs(polynomial_spectrum.alpha, a)),
                       float(theory.one_step_cost.subs(at).subs(polynomial_spectrum.alpha, a)))
              for a in config.alphas} if at else {}
    return {"cells": cells, "lam": lam, "signal": config.problem.signal, "balanced": ratios}


def table(values: dict):
    """One row per (instance, share): measured stationary error (mean over seeds and rounds)
    beside its prediction, the bound and the one-step prediction; the largest bias-factor
    deviation."""
    import pandas as pd

    rows = []
    for cell in values["cells"]:
        dev = _deviation(cell, values)
        rows.append({"instance": cell["instance"], "alpha": cell["alpha"],
                     "error": float(np.mean(cell["error_seeds"])),
                     "prediction": cell["bias"] + cell["variance"], "bound": cell["bound"],
                     "one_step": cell["one_step"], "bias_dev": dev})
    return pd.DataFrame(rows)


def _weighted(cell: dict, values: dict) -> np.ndarray:
    return np.abs(np.asarray(cell["w"])) >= MIN_WEIGHT * values["signal"]


def _deviation(cell: dict, values: dict, alpha: float | None = None) -> float:
    """Largest absolute gap between measured and predicted bias factors over the weighted
    directions; the prediction uses the ridge ``lam / alpha`` (the cell's share unless
    given)."""
    a = cell["alpha"] if alpha is None else alpha
    mu, f = np.asarray(cell["mu"]), np.asarray(cell["factor"])
    pred = values["lam"] / (a * mu + values["lam"])
    return float(np.abs(f - pred)[_weighted(cell, values)].max())


def summarise(values: dict, config: Config) -> dict:
    r"""The chapter's numbers and verdicts.

    Bias: the largest deviation of a measured factor from
    :math:`\lambda/(\alpha\mu+\lambda)`, and from the one-step
    :math:`\lambda/(\mu+\lambda)` at the smallest share, and the verdict against
    ``BIAS_TOL``.  Stationary error, per share: measured over predicted with a 95% t interval
    over instances (one number per instance, its seeds and rounds averaged first) as text, the
    verdict against ``RISK_RTOL``; the count of instances under the bound and the smallest
    bound over measured; measured over the one-step prediction at the smallest share.
    Balanced ridge: :math:`\lambda^*_\alpha/\lambda^*_1` and the cost of the one-step ridge
    at the smallest share."""
    frame = table(values)
    cells = values["cells"]
    a_lo = min(config.alphas)
    low = [c for c in cells if c["alpha"] == a_lo]
    dev = max(_deviation(c, values) for c in cells)
    dev_one = max(_deviation(c, values, alpha=1.0) for c in low)
    out = {
        "ir_d": config.problem.d, "ir_K": config.problem.K,
        "ir_contexts": config.problem.contexts,
        "ir_lam": config.lam, "ir_n": config.n, "ir_rounds": config.rounds,
        "ir_burn_in": config.burn_in, "ir_seeds": config.seeds, "ir_instances": config.instances,
        "ir_decay": config.decay, "ir_signal": config.problem.signal, "ir_alpha_lo": a_lo,
        "ir_alphas": ", ".join(f"{a:g}" for a in config.alphas),
        "ir_fixed_rounds": cells[0]["fixed_rounds"],
        "ir_bias_dev": dev, "ir_bias_dev_one": dev_one, "ir_bias_tol": BIAS_TOL,
        "ir_bias_verdict": "holds" if dev <= BIAS_TOL else "fails",
        "ir_risk_rtol_pct": 100 * RISK_RTOL, "ir_min_weight_pct": 100 * MIN_WEIGHT,
    }
    verdicts, under, slack, texts = [], 0, np.inf, []
    for a in config.alphas:
        part = frame[frame["alpha"] == a]
        ratio = mean_interval(part["error"] / part["prediction"])
        ok = abs(ratio.mean - 1) <= RISK_RTOL
        verdicts.append(ok)
        texts.append(f"{ratio.mean:.3f} [{ratio.lo:.3f}, {ratio.hi:.3f}] at α = {a:g}")
        under += int((part["error"] <= part["bound"]).sum())
        slack = min(slack, float((part["bound"] / part["error"]).min()))
        if a == a_lo:
            out["ir_one_step_lo"] = float((part["error"] / part["one_step"]).mean())
    out.update({
        "ir_risk_verdict": "holds" if all(verdicts) else "fails",
        "ir_ratio_text": "; ".join(texts),
        "ir_risk_fail": ", ".join(f"{a:g}" for a, ok in zip(config.alphas, verdicts,
                                                               strict=True) if not ok) or "none",
        "ir_under_bound": under, "ir_cells": len(frame),
        "ir_bound_verdict": "holds" if under == len(frame) else "fails",
        "ir_bound_slack": slack,
    })
    if values["balanced"]:
        ratio, cost = values["balanced"][str(a_lo)]
        out.update({"ir_lam_ratio": ratio, "ir_cost_pct": 100 * (cost - 1)})
    return out


def plot(values: dict):
    """Left: measured bias factors against :math:`\\alpha\\mu/\\lambda` (all instances,
    coloured by share) on the predicted curve :math:`1/(1+x)`, with the one-step prediction
    for the smallest share in grey.  Right: stationary error over its prediction per share,
    one thin line per instance, the mean with its 95% interval, the bound and the one-step
    prediction, both over the prediction."""
    frame = table(values)
    alphas = sorted({c["alpha"] for c in values["cells"]})
    colours = dict(zip(alphas, plt.cm.viridis(np.linspace(0.1, 0.8, len(alphas))), strict=True))
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    lam = values["lam"]
    for c in values["cells"]:
        keep = _weighted(c, values)
        x = c["alpha"] * np.asarray(c["mu"])[keep] / lam
        left.scatter(x, np.asarray(c["factor"])[keep], s=12, color=colours[c["alpha"]],
                     label=rf"$\alpha={c['alpha']:g}$" if c["instance"] == 0 else None)
        if c["alpha"] == alphas[0]:
            mu = np.asarray(c["mu"])[keep]
            left.scatter(x, lam / (mu + lam), s=10, marker="x", color="0.6",
                         label=r"one step, $\lambda/(\mu+\lambda)$" if c["instance"] == 0
                         else None)
    grid = np.logspace(-2, 2, 200)
    left.plot(grid, 1 / (1 + grid), "k--", lw=1, label=r"$\lambda/(\alpha\mu+\lambda)$")
    left.set(xscale="log", xlabel=r"$\alpha\mu/\lambda$", ylabel="bias factor at the fixed point")
    left.legend(fontsize=8)
    for _, part in frame.groupby("instance"):
        right.plot(part["alpha"], part["error"] / part["prediction"], color="0.75", lw=0.8)
    ratio = [mean_interval(frame[frame["alpha"] == a]["error"]
                           / frame[frame["alpha"] == a]["prediction"]) for a in alphas]
    right.errorbar(alphas, [r.mean for r in ratio],
                   yerr=[[r.mean - r.lo for r in ratio], [r.hi - r.mean for r in ratio]],
                   color="k", marker="o", capsize=3, label="measured / predicted")
    for col, style, label in (("bound", "C0:", r"bound $U_\alpha(\lambda)$ / predicted"),
                              ("one_step", "C3-.", "one-step prediction / predicted")):
        means = [float((frame[frame["alpha"] == a][col]
                        / frame[frame["alpha"] == a]["prediction"]).mean()) for a in alphas]
        right.plot(alphas, means, style, marker=".", label=label)
    right.axhline(1, color="k", lw=0.5)
    right.set(xlabel=r"signal share $\alpha$", ylabel="stationary error / prediction")
    right.legend(fontsize=8)
    fig.tight_layout()
    return fig
