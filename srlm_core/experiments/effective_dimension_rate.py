r"""S5's rate in n: the balanced ridge's error against n for several spectra and dimensions,
with the reward spread over the spectrum.

The sweep of :mod:`srlm_core.experiments.effective_dimension` fixes n and puts the reward on
the top direction alone, so its flatness in d is built into the design and its rate in n is
untested.  Here the problem is the spectral design of
:class:`srlm_core.model.spectral_features.SpectralDesign` (C prompts, two responses,
:math:`\Sigma = \operatorname{diag}(\mu_1 j^{-p})`) with the reward spread over every
direction, :math:`w^\star_j \propto j^{-s}` (``reward_decay`` s) and
:math:`\lVert w^\star\rVert =` ``signal``; the pairs' margins now differ between prompts, so the
Fisher information :math:`I` of one pair is computed exactly (:func:`fisher`) instead of
being :math:`\gamma\Sigma`.  One ridge DPO step from :math:`\pi_{\mathrm{ref}}` with a perfect
judge, at the balanced ridge :math:`\lambda^\star(n)` of S5 (SymPy, with :math:`\nu_1` the top
eigenvalue of :math:`I` and :math:`W = \lVert w^\star\rVert`), for every :math:`p` of ``ps``,
:math:`n` of ``ns`` and :math:`d` of ``dims``; the error is
:math:`\lVert\hat\theta - \theta^\star\rVert_I^2` per seed.

Predictions, from the theory alone (:func:`predictions`, computed before any run):

* S5's asymptotic slope of the error on :math:`\log n` is :math:`-p/(p+1)`, free of d;
* the second-order risk (Hessian :math:`I`, score covariance :math:`I/n`) gives the slope on
  the finite grid, which is what a run can match;
* d-dependence should show where d is below the number :math:`J` of Fisher eigenvalues above
  :math:`\lambda^\star` at the largest n: there the variance is about :math:`d/n` and the slope
  steeper.

The margins of the verdicts (:func:`summarise`) are fields of :class:`Config`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from srlm_core.errors import require, require_at_least
from srlm_core.experiments import named
from srlm_core.model.pair_counts import dpo_update_counts, sample_pair_counts
from srlm_core.model.policy import DTYPE, LinearSoftmaxProblem
from srlm_core.model.spectral_features import SpectralDesign
from srlm_core.options import option
from srlm_core.stats import equivalence_test, mean_interval

TITLE = ("S5's rate: balanced-ridge DPO error against n for p in {1.1, 1.5, 2} and several d, "
         "reward spread over the spectrum")
TOLERANCE = {"rtol": 1e-6, "atol": 1e-9}
#: The glue names of each spectrum p: the four verdicts, J, the asymptotic and second-order
#: slopes, the d below J, the side of the measured slopes, their largest half-width and gap.
P_NAMES = {
    1.1: {"asym": "s5r_asym_11", "model": "s5r_model_11", "free": "s5r_free_11",
          "shows": "s5r_shows_11", "J": "s5r_J_11", "pred": "s5r_pred_11",
          "second": "s5r_second_11", "small_d": "s5r_small_d_11", "model_side": "s5r_model_side_11",
          "halfwidth": "s5r_halfwidth_11", "asym_gap": "s5r_asym_gap_11"},
    1.5: {"asym": "s5r_asym_15", "model": "s5r_model_15", "free": "s5r_free_15",
          "shows": "s5r_shows_15", "J": "s5r_J_15", "pred": "s5r_pred_15",
          "second": "s5r_second_15", "small_d": "s5r_small_d_15", "model_side": "s5r_model_side_15",
          "halfwidth": "s5r_halfwidth_15", "asym_gap": "s5r_asym_gap_15"},
    2.0: {"asym": "s5r_asym_2", "model": "s5r_model_2", "free": "s5r_free_2",
          "shows": "s5r_shows_2", "J": "s5r_J_2", "pred": "s5r_pred_2", "second": "s5r_second_2",
          "small_d": "s5r_small_d_2", "model_side": "s5r_model_side_2",
          "halfwidth": "s5r_halfwidth_2", "asym_gap": "s5r_asym_gap_2"},
}
#: The glue names of each (p, d): the fitted slope and its interval, the second-order slope
#: and the mean ratio of the error to the second-order risk.
CELL_NAMES = {
    (1.1, 4): {"slope": "s5r_slope_11_d4", "lo": "s5r_lo_11_d4", "hi": "s5r_hi_11_d4",
               "second": "s5r_second_11_d4", "ratio": "s5r_ratio_11_d4"},
    (1.1, 16): {"slope": "s5r_slope_11_d16", "lo": "s5r_lo_11_d16", "hi": "s5r_hi_11_d16",
                "second": "s5r_second_11_d16", "ratio": "s5r_ratio_11_d16"},
    (1.1, 64): {"slope": "s5r_slope_11_d64", "lo": "s5r_lo_11_d64", "hi": "s5r_hi_11_d64",
                "second": "s5r_second_11_d64", "ratio": "s5r_ratio_11_d64"},
    (1.1, 256): {"slope": "s5r_slope_11_d256", "lo": "s5r_lo_11_d256", "hi": "s5r_hi_11_d256",
                 "second": "s5r_second_11_d256", "ratio": "s5r_ratio_11_d256"},
    (1.5, 4): {"slope": "s5r_slope_15_d4", "lo": "s5r_lo_15_d4", "hi": "s5r_hi_15_d4",
               "second": "s5r_second_15_d4", "ratio": "s5r_ratio_15_d4"},
    (1.5, 16): {"slope": "s5r_slope_15_d16", "lo": "s5r_lo_15_d16", "hi": "s5r_hi_15_d16",
                "second": "s5r_second_15_d16", "ratio": "s5r_ratio_15_d16"},
    (1.5, 64): {"slope": "s5r_slope_15_d64", "lo": "s5r_lo_15_d64", "hi": "s5r_hi_15_d64",
                "second": "s5r_second_15_d64", "ratio": "s5r_ratio_15_d64"},
    (1.5, 256): {"slope": "s5r_slope_15_d256", "lo": "s5r_lo_15_d256", "hi": "s5r_hi_15_d256",
                 "second": "s5r_second_15_d256", "ratio": "s5r_ratio_15_d256"},
    (2.0, 4): {"slope": "s5r_slope_2_d4", "lo": "s5r_lo_2_d4", "hi": "s5r_hi_2_d4",
               "second": "s5r_second_2_d4", "ratio": "s5r_ratio_2_d4"},
    (2.0, 16): {"slope": "s5r_slope_2_d16", "lo": "s5r_lo_2_d16", "hi": "s5r_hi_2_d16",
                "second": "s5r_second_2_d16", "ratio": "s5r_ratio_2_d16"},
    (2.0, 64): {"slope": "s5r_slope_2_d64", "lo": "s5r_lo_2_d64", "hi": "s5r_hi_2_d64",
                "second": "s5r_second_2_d64", "ratio": "s5r_ratio_2_d64"},
    (2.0, 256): {"slope": "s5r_slope_2_d256", "lo": "s5r_lo_2_d256", "hi": "s5r_hi_2_d256",
                 "second": "s5r_second_2_d256", "ratio": "s5r_ratio_2_d256"},
}
#: The glue names of the predictions per p (at the largest d).
PREDICTION_NAMES = {
    1.1: {"asym": "s5p_asym_11", "second": "s5p_second_11", "gap": "s5p_gap_11", "J": "s5p_J_11"},
    1.5: {"asym": "s5p_asym_15", "second": "s5p_second_15", "gap": "s5p_gap_15", "J": "s5p_J_15"},
    2.0: {"asym": "s5p_asym_2", "second": "s5p_second_2", "gap": "s5p_gap_2", "J": "s5p_J_2"},
}
#: The glue names of the predictions per (p, d).
PREDICTION_CELL_NAMES = {
    (1.1, 4): {"second": "s5p_second_11_d4", "J": "s5p_J_11_d4"},
    (1.1, 16): {"second": "s5p_second_11_d16", "J": "s5p_J_11_d16"},
    (1.1, 64): {"second": "s5p_second_11_d64", "J": "s5p_J_11_d64"},
    (1.1, 256): {"second": "s5p_second_11_d256", "J": "s5p_J_11_d256"},
    (1.5, 4): {"second": "s5p_second_15_d4", "J": "s5p_J_15_d4"},
    (1.5, 16): {"second": "s5p_second_15_d16", "J": "s5p_J_15_d16"},
    (1.5, 64): {"second": "s5p_second_15_d64", "J": "s5p_J_15_d64"},
    (1.5, 256): {"second": "s5p_second_15_d256", "J": "s5p_J_15_d256"},
    (2.0, 4): {"second": "s5p_second_2_d4", "J": "s5p_J_2_d4"},
    (2.0, 16): {"second": "s5p_second_2_d16", "J": "s5p_J_2_d16"},
    (2.0, 64): {"second": "s5p_second_2_d64", "J": "s5p_J_2_d64"},
    (2.0, 256): {"second": "s5p_second_2_d256", "J": "s5p_J_2_d256"},
}


@dataclass(frozen=True)
class Config:
    """Spectra ``ps``, pairs per step ``ns``, dimensions ``dims`` (powers of two up to
    ``contexts``), reward :math:`w_j \\propto j^{-\\text{reward\\_decay}}` of norm ``signal``,
    ``beta``, ``seeds`` per cell and the generator ``seed`` (the same for every d: paired).

    Pre-registered margins: ``slope_margin`` for the asymptotic slope :math:`-p/(p+1)` (two
    one-sided tests over seeds on the per-seed slopes), ``model_margin`` for the
    second-order slope on the grid, ``d_margin`` for the difference between the slopes of two
    dimensions (equal within it where both d reach :math:`J`; steeper by more than it where d
    is below :math:`J`)."""

    ps: tuple[float, ...] = option((1.1, 1.5, 2.0), "decay exponents p of the spectra")
    ns: tuple[int, ...] = option((256, 1024, 4096, 16384), "pairs per step n")
    dims: tuple[int, ...] = option((4, 16, 64, 256), "dimensions d (powers of two up to contexts)")
    contexts: int = option(256, "prompts")
    signal: float = option(1.5, "norm of the target w*")
    reward_decay: float = option(1.0, "decay s of the reward, w_j ~ j^(-s)")
    beta: float = option(1.0, "KL strength beta")
    seeds: int = option(24, "runs per cell")
    seed: int = option(0, "generator seed, the same for every d (paired)")
    slope_margin: float = option(0.1, "pre-registered margin around the asymptotic slope -p/(p+1)")
    model_margin: float = option(0.05,
                                 "pre-registered margin around the second-order slope on the grid")
    d_margin: float = option(0.05, "pre-registered margin between the slopes of two dimensions")

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        require_at_least(self, 2, "seeds", "contexts")
        require_at_least(self, 0, "seed")
        require(
            self,
            ("ps", bool(self.ps) and min(self.ps) > 1.0, "must be > 1 (a summable spectrum)"),
            ("ns", len(self.ns) >= 2 and min(self.ns) >= 2, "needs two sizes of at least 2"),
            ("dims", bool(self.dims) and all(1 <= d <= self.contexts for d in self.dims),
             "must be in [1, contexts]"),
            ("contexts", self.contexts & (self.contexts - 1) == 0, "must be a power of two"),
            ("signal", self.signal > 0.0, "must be positive"),
            ("reward_decay", self.reward_decay >= 0.0, "must be >= 0"),
            ("beta", self.beta > 0.0, "must be positive"),
            ("slope_margin", self.slope_margin > 0.0, "must be positive"),
            ("model_margin", self.model_margin > 0.0, "must be positive"),
            ("d_margin", self.d_margin > 0.0, "must be positive"),
        )
        return self


def problem(config: Config, p: float, d: int) -> LinearSoftmaxProblem:
    """The spectral design's problem in dimension d with the spread reward."""
    base = SpectralDesign(p=p, contexts=config.contexts, signal=config.signal,
                          beta=config.beta, seed=config.seed).problem(d)
    w = torch.arange(1, d + 1, dtype=DTYPE) ** (-config.reward_decay)
    w = config.signal * w / w.norm()
    return LinearSoftmaxProblem(base.features, base.context_probs, base.theta_ref, w,
                                base.beta)


def fisher(prob: LinearSoftmaxProblem) -> torch.Tensor:
    r""":math:`I = \beta^2\,\mathbb E_x \mathbb E_{y, y' \sim \pi_{\mathrm{ref}}}
    [\sigma'(r^\star(y) - r^\star(y'))\,\Delta\Delta^\top]` for two responses per prompt
    (uniform :math:`\rho`), shape (d, d)."""
    phi = prob.features  # (C, 2, d)
    ref = prob.log_probs(prob.theta_ref).exp()  # (C, 2)
    delta = phi[:, 0] - phi[:, 1]
    margin = prob.beta * delta @ prob.w_star
    weight = 2 * ref[:, 0] * ref[:, 1] * torch.sigmoid(margin) * torch.sigmoid(-margin)
    return prob.beta**2 * (delta.T * (weight * prob.context_probs)) @ delta


def balanced_ridge(p: float, nu1: float, n: int, signal: float) -> float:
    """S5's :math:`\\lambda^\\star` (SymPy's balanced ridge at these numbers)."""
    from srlm_core.theory.polynomial_spectrum import balanced_ridge as derive
    from srlm_core.theory.polynomial_spectrum import numeric

    return numeric(_lam_star(derive), p=p, mu1=nu1, n=n, W=signal)


def _lam_star(derive, _cache={}):  # noqa: B006 - one SymPy derivation per process
    if "lam" not in _cache:
        _cache["lam"] = derive().lam_star
    return _cache["lam"]


def second_order(info: torch.Tensor, w: torch.Tensor, lam: float, n: int) -> float:
    r"""Second-order :math:`\mathbb E\lVert\hat\theta - \theta^\star\rVert_I^2` of the ridge step:
    bias :math:`\lambda^2 w^\top A I A w` plus variance :math:`\operatorname{tr}(A I A I)/n`,
    :math:`A = (I + \lambda)^{-1}`."""
    A = torch.linalg.inv(info + lam * torch.eye(len(w), dtype=info.dtype))
    bias = lam**2 * w @ A @ info @ A @ w
    return float(bias + torch.trace(A @ info @ A @ info) / n)


def _slope(ns, values) -> float:
    return float(np.polyfit(np.log(ns), np.log(values), 1)[0])


def predictions(config: Config) -> list[dict]:
    r"""Per (p, d), from the theory alone: :math:`-p/(p+1)`, the slope of :func:`second_order`
    on the grid, :math:`\lambda^\star` at the ends of the grid and :math:`J`, the number of
    eigenvalues of :math:`I` above :math:`\lambda^\star` at the largest n."""
    config.validate()
    out = []
    for p in config.ps:
        for d in config.dims:
            prob = problem(config, p, d)
            info = fisher(prob)
            eig = torch.linalg.eigvalsh(info)
            nu1 = float(eig[-1])
            lams = [balanced_ridge(p, nu1, n, config.signal) for n in config.ns]
            risk = [second_order(info, prob.w_star, lam, n)
                    for lam, n in zip(lams, config.ns, strict=True)]
            out.append({"p": p, "d": d, "asymptotic": -p / (p + 1),
                        "second_order": _slope(config.ns, risk), "risk": risk, "nu1": nu1,
                        "lam_first": lams[0], "lam_last": lams[-1],
                        "J": int((eig > lams[-1]).sum())})
    return out


def run(config: Config) -> dict:
    """Per (p, d, n): the balanced ridge and the error of every seed (the pairs drawn from one
    generator seeded per (p, n), so every d sees the same draw of the multinomial)."""
    config.validate()
    cells, preds = [], predictions(config)
    for row in preds:
        p, d = row["p"], row["d"]
        prob = problem(config, p, d)
        info = fisher(prob)
        theta = prob.theta_ref.expand(config.seeds, -1).clone()
        for n in config.ns:
            lam = balanced_ridge(p, row["nu1"], n, config.signal)
            generator = torch.Generator().manual_seed(config.seed + n)
            counts = sample_pair_counts(prob, theta, 1.0, n, generator)
            estimate = dpo_update_counts(prob, counts, lam, prob.theta_ref, theta)
            delta = estimate - prob.theta_star
            error = torch.einsum("si,ij,sj->s", delta, info, delta)
            cells.append({"p": p, "d": d, "n": n, "lam": lam,
                          "second_order": second_order(info, prob.w_star, lam, n),
                          "errors": error.tolist()})
    return {"predictions": preds, "cells": cells, "ns": list(config.ns),
            "margins": {"slope": config.slope_margin, "model": config.model_margin,
                        "d": config.d_margin}}


# ----------------------------------------------------------------------------- analysis


def slopes(values: dict) -> list[dict]:
    """Per (p, d): the per-seed slopes of log error on log n (seeds are the units), their mean
    with a 95% t interval, and the predictions."""
    ns = values["ns"]
    out = []
    for pred in values["predictions"]:
        cells = sorted((c for c in values["cells"] if (c["p"], c["d"]) == (pred["p"], pred["d"])),
                       key=lambda c: c["n"])
        errors = np.log(np.array([c["errors"] for c in cells]))  # (ns, seeds)
        per_seed = np.polyfit(np.log(ns), errors, 1)[0]
        iv = mean_interval(per_seed)
        mean_error = np.array([np.mean(c["errors"]) for c in cells])
        out.append({**{k: pred[k] for k in ("p", "d", "asymptotic", "second_order", "J")},
                    "slope": iv.mean, "lo": iv.lo, "hi": iv.hi, "per_seed": per_seed.tolist(),
                    "ratio": (mean_error / np.array([c["second_order"] for c in cells])
                              ).tolist()})
    return out


def summarise(values: dict) -> dict:
    """The chapter's numbers (prefix ``s5r_``; per p :data:`P_NAMES`, per p and d
    :data:`CELL_NAMES`) and per p four verdicts: ``asym`` (the per-seed slopes equivalent to
    :math:`-p/(p+1)` within ``slope_margin`` at every d reaching :math:`J`), ``model`` (within
    ``model_margin`` of the second-order slope at those d), ``free`` (every such d equivalent to the
    largest within ``d_margin``, paired by seed) and ``shows`` (every d below :math:`J` steeper than
    the largest d by more than ``d_margin``, the upper end of the paired 95% interval below
    ``-d_margin``; ``no such d`` when none), on which side of the second-order slope the measured
    ones lie (``model_side``) and the largest half-width of a slope's interval at those d
    (``halfwidth``)."""
    m = values["margins"]
    rows = slopes(values)
    word = {True: "holds", False: "fails"}
    out: dict = {"s5r_slope_margin": m["slope"], "s5r_model_margin": m["model"],
                 "s5r_d_margin": m["d"], "s5r_n_min": min(values["ns"]),
                 "s5r_n_max": f"{max(values['ns']):,}",
                 "s5r_dims": ", ".join(str(d) for d in sorted({r["d"] for r in rows}))}
    for p in sorted({r["p"] for r in rows}):
        names = P_NAMES.get(p)
        group = sorted((r for r in rows if r["p"] == p), key=lambda r: r["d"])
        top = group[-1]
        J = top["J"]
        big = [r for r in group if r["d"] >= J]
        small = [r for r in group if r["d"] < J]
        asym = all(equivalence_test(np.asarray(r["per_seed"]) - r["asymptotic"],
                                    m["slope"]).equivalent for r in big)
        model = all(equivalence_test(np.asarray(r["per_seed"]) - r["second_order"],
                                     m["model"]).equivalent for r in big)
        free = all(equivalence_test(np.asarray(r["per_seed"]) - np.asarray(top["per_seed"]),
                                    m["d"]).equivalent for r in big if r is not top)
        steeper = [mean_interval(np.asarray(r["per_seed"]) - np.asarray(top["per_seed"]))
                   for r in small]
        out.update(named(names, asym=word[bool(big) and asym], model=word[bool(big) and model],
                         free=word[bool(big) and free],
                         shows=(word[all(iv.hi < -m["d"] for iv in steeper)]
                                if small else "no such d"),
                         J=J, pred=top["asymptotic"], second=top["second_order"],
                         small_d=", ".join(str(r["d"]) for r in small) or "none"))
        for r in group:
            out.update(named(CELL_NAMES.get((p, r["d"])), slope=r["slope"], lo=r["lo"], hi=r["hi"],
                             second=r["second_order"], ratio=float(np.mean(r["ratio"]))))
        side = {np.sign(r["slope"] - r["second_order"]) for r in big}
        gaps = [abs(r["slope"] - r["asymptotic"]) for r in big]
        out.update(named(names, model_side=("shallower than" if side == {1.0} else "steeper than"
                                            if side == {-1.0} else "on both sides of"),
                         halfwidth=max(((r["hi"] - r["lo"]) / 2 for r in big), default=math.nan),
                         asym_gap=max(gaps) if gaps else math.nan))
    return out


def prediction_numbers(preds: list[dict]) -> dict:
    """The predictions as the chapter states them before the run (prefix ``s5p_``; named by
    :data:`PREDICTION_CELL_NAMES` and :data:`PREDICTION_NAMES`)."""
    out = {}
    for r in preds:
        out.update(named(PREDICTION_CELL_NAMES.get((r["p"], r["d"])), second=r["second_order"],
                         J=r["J"]))
    for p in sorted({r["p"] for r in preds}):
        top = max((r for r in preds if r["p"] == p), key=lambda r: r["d"])
        out.update(named(PREDICTION_NAMES.get(p), asym=top["asymptotic"],
                         second=top["second_order"],
                         gap=abs(top["second_order"] - top["asymptotic"]), J=top["J"]))
    return out


def plot(values: dict):
    """Error against n per p (panels) and d (colour): mean over seeds with 95% intervals,
    the second-order prediction (dashed) and a line of slope :math:`-p/(p+1)` through the
    largest d's first point (dotted)."""
    import matplotlib.pyplot as plt

    ps = sorted({c["p"] for c in values["cells"]})
    dims = sorted({c["d"] for c in values["cells"]})
    fig, axes = plt.subplots(1, len(ps), figsize=(4.4 * len(ps), 3.8), squeeze=False)
    ns = np.asarray(values["ns"], float)
    for ax, p in zip(axes[0], ps, strict=True):
        for i, d in enumerate(dims):
            cells = sorted((c for c in values["cells"] if (c["p"], c["d"]) == (p, d)),
                           key=lambda c: c["n"])
            ivs = [mean_interval(np.asarray(c["errors"])) for c in cells]
            mean = np.array([iv.mean for iv in ivs])
            lo = np.maximum(np.array([iv.lo for iv in ivs]), mean * 1e-3)
            x = ns * 1.03 ** i
            ax.errorbar(x, mean, yerr=[mean - lo, np.array([iv.hi for iv in ivs]) - mean],
                        fmt="o", ms=3, capsize=2, color=f"C{i}", label=f"d = {d}")
            ax.plot(ns, [c["second_order"] for c in cells], ls="--", lw=0.8, color=f"C{i}")
            if d == dims[-1]:
                ax.plot(ns, mean[0] * (ns / ns[0]) ** (-p / (p + 1)), ls=":", color="black",
                        lw=1, label=r"slope $-p/(p+1)$")
        ax.set(xscale="log", yscale="log", xlabel="pairs n", title=f"p = {p:g}")
    axes[0][0].set_ylabel(r"$\|\hat\theta-\theta^\star\|_I^2$ at $\lambda^\star(n)$")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    return fig
