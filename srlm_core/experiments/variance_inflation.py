r"""S3: the one-step variance constant V of random starts against the condition numbers.

In each of ``problems`` random problems, for ``starts`` initial models
:math:`\theta_0 = \theta^\star + r u` (``u`` a random unit vector, ``r`` evenly spaced from
``r_min`` to ``r_max``), the variance term of one step (S2) is
:math:`V/n` with :math:`V = \operatorname{tr}(F I_0^{-1})/(2\beta^2)`, :math:`F = H_{\pi^\star}/2`
and :math:`I_0` the pair Fisher information
(:func:`srlm_core.model.one_step_prediction.pair_fisher`).  S3 squeezes it by the feature
condition number of the start:

.. math::

   \kappa_\Sigma(\pi_0)/\beta^2 \le V \le d\,\kappa_\Sigma(\pi_0)/(4\beta^2 s_{\min}),

with :math:`s_{\min}` the smallest :math:`\sigma'(\beta(\theta_1-\theta_{\mathrm{ref}})\cdot
\Delta\phi)` over pairs.  The log-log slopes of :math:`V` on the condition numbers are
fitted within each problem and summarised across problems, the unit of independence
(:func:`srlm_core.stats.slope_across_units`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from srlm_core.errors import ConfigError, require_at_least
from srlm_core.experiments import named
from srlm_core.model import metrics
from srlm_core.model import one_step_prediction as osp
from srlm_core.model.policy import make_problem, random_unit_vectors
from srlm_core.options import option
from srlm_core.stats import mean_interval, slope_across_units, unit_slopes

#: relative slack of the bound checks (floating point)
SLACK = 1e-9
#: The glue names of the log-log slopes of V on kappa_Sigma (``ks``) and on kappa (``k``).
SLOPE_NAMES = {
    "ks": {"slope": "s3_vslope_ks", "lo": "s3_vslope_ks_lo", "hi": "s3_vslope_ks_hi"},
    "k": {"slope": "s3_vslope_k", "lo": "s3_vslope_k_lo", "hi": "s3_vslope_k_hi"},
}


@dataclass(frozen=True)
class Config:
    """Problem ``p`` is ``make_problem(seed=problem_seed + p)``; its start directions come from
    the generator seeded ``seed + p``.  ``starts``: initial models per problem."""

    alpha: float = option(0.5, "signal share alpha")
    problems: int = option(8, "random problems (the unit of independence)")
    starts: int = option(100, "initial models per problem")
    r_min: float = option(0.5, "smallest distance r of a start to the target")
    r_max: float = option(8.0, "largest distance r of a start to the target")
    d: int = option(8, "feature dimension")
    K: int = option(8, "responses per prompt")
    contexts: int = option(32, "prompts")
    problem_seed: int = option(0, "seed of problem 0 (problem p uses problem_seed + p)")
    seed: int = option(7, "seed of problem 0's start directions (problem p uses seed + p)")

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        if not 0.0 < self.alpha <= 1.0:
            raise ConfigError("alpha", f"must be in (0, 1], got {self.alpha}")
        require_at_least(self, 2, "problems")
        require_at_least(self, 3, "starts")
        require_at_least(self, 1, "d", "contexts")
        require_at_least(self, 2, "K")
        require_at_least(self, 0, "r_min", "problem_seed", "seed")
        if self.r_max < self.r_min:
            raise ConfigError("r_max", f"must be at least r_min, got {self.r_max}")
        return self


def measure(config: Config, problem: int) -> tuple[list[dict], float]:
    r"""The starts of one problem: distance, :math:`V`, :math:`\kappa(\pi_0)`,
    :math:`\kappa_\Sigma(\pi_0)` and :math:`s_{\min}` per start; and the problem's
    :math:`\beta`."""
    c = config
    p = make_problem(d=c.d, K=c.K, contexts=c.contexts, seed=c.problem_seed + problem)
    g = torch.Generator().manual_seed(c.seed + problem)
    radius = torch.linspace(c.r_min, c.r_max, c.starts, dtype=torch.float64)[:, None]
    theta0 = p.theta_star + radius * random_unit_vectors((c.starts, c.d), g)
    theta1 = osp.one_step_limit(p, theta0, c.alpha)
    F = osp.policy_fisher(p, p.theta_star)
    V = torch.einsum("de,sed->s", F, torch.linalg.inv(osp.pair_fisher(p, theta0, theta1)))
    V = V / (2 * p.beta**2)
    dphi = p.features.unsqueeze(2) - p.features.unsqueeze(1)
    margins = p.beta * torch.einsum("ckld,sd->sckl", dphi, theta1 - p.theta_ref)
    s_min = (torch.sigmoid(margins) * torch.sigmoid(-margins)).amin(dim=(1, 2, 3))
    columns = zip(radius[:, 0].tolist(), V.tolist(), metrics.condition_number(p, theta0).tolist(),
                  metrics.feature_condition_number(p, theta0).tolist(), s_min.tolist())
    return [{"problem": problem, "distance": r, "V": v, "kappa": k, "kappa_sigma": ks,
             "s_min": s} for r, v, k, ks, s in columns], float(p.beta)


def run(config: Config) -> dict:
    r"""Per problem and start (:func:`measure`): distance, :math:`V`, :math:`\kappa(\pi_0)`,
    :math:`\kappa_\Sigma(\pi_0)` and :math:`s_{\min}`; with the dimension :math:`d` and
    :math:`\beta` of the problems."""
    c = config.validate()
    rows, betas = [], set()
    for problem in range(c.problems):
        starts, beta = measure(c, problem)
        rows += starts
        betas.add(beta)
    (beta,) = betas  # one beta for every problem
    return {"d": c.d, "beta": beta, "problems": c.problems, "rows": rows}


def _column(values: dict, name: str) -> np.ndarray:
    return np.array([row[name] for row in values["rows"]], dtype=float)


def bounds(values: dict) -> tuple[np.ndarray, np.ndarray]:
    r"""S3's lower and upper bounds on :math:`V` per start: :math:`\kappa_\Sigma/\beta^2` and
    :math:`d\kappa_\Sigma/(4\beta^2 s_{\min})`."""
    kappa_sigma, beta2 = _column(values, "kappa_sigma"), values["beta"] ** 2
    return kappa_sigma / beta2, values["d"] * kappa_sigma / (4 * beta2 * _column(values, "s_min"))


def orders_of_magnitude(ratio: float) -> str:
    """A factor in words: ``less than an order of magnitude`` below 10, else ``k orders of
    magnitude`` with k the whole number of decades (``one order of magnitude`` for 1)."""
    k = int(np.floor(np.log10(ratio))) if ratio > 0 else 0
    if k < 1:
        return "less than an order of magnitude"
    return "one order of magnitude" if k == 1 else f"{k} orders of magnitude"


def exponent_shape(lo: float, hi: float) -> str:
    """``sublinearly`` (the interval of a log-log slope below 1), ``superlinearly`` (above 1)
    or ``about linearly`` (the interval contains 1)."""
    return "sublinearly" if hi < 1 else "superlinearly" if lo > 1 else "about linearly"


def summarise(values: dict) -> dict:
    r"""How many starts fall between the bounds and the verdict; the log-log slopes of
    :math:`V` on :math:`\kappa_\Sigma` and on :math:`\kappa`, fitted per problem, with their
    mean and 95% interval over problems, the shape word of :func:`exponent_shape` and the
    paired difference of the two slopes with its verdict (``smaller`` / ``larger`` /
    ``not distinguishable from``); the range of :math:`V/\kappa_\Sigma`; the factors by which
    :math:`V` and :math:`\kappa` vary over all starts and the ratio of the two in words
    (:func:`orders_of_magnitude`)."""
    V, kappa, kappa_sigma = (_column(values, name) for name in ("V", "kappa", "kappa_sigma"))
    problem = _column(values, "problem")
    lower, upper = bounds(values)
    inside = (lower <= V * (1 + SLACK)) & (V <= upper * (1 + SLACK))
    misses = int((~inside).sum())
    out = {"s3_inside": f"{int(inside.sum())} of {len(V)}",
           "s3_bounds_verdict": ("hold for every start" if misses == 0
                                 else f"fail for {misses} start{'s' * (misses != 1)}"),
           "n_inflation_problems": values["problems"],
           "n_inflation_starts": len(V) // values["problems"]}
    slopes = {}
    for key, x in (("ks", kappa_sigma), ("k", kappa)):
        fit = slope_across_units(np.log(x), np.log(V), problem)
        slopes[key] = unit_slopes(np.log(x), np.log(V), problem)
        out.update(named(SLOPE_NAMES[key], slope=fit.slope, lo=fit.lo, hi=fit.hi))
    out["s3_vslope_ks_shape"] = exponent_shape(out["s3_vslope_ks_lo"], out["s3_vslope_ks_hi"])
    diff = mean_interval(slopes["k"] - slopes["ks"])
    out["s3_vslope_cmp"] = ("smaller than" if diff.hi < 0 else "larger than" if diff.lo > 0
                            else "not distinguishable from")
    out["s3_v_over_ks_min"] = float((V / kappa_sigma).min())
    out["s3_v_over_ks_max"] = float((V / kappa_sigma).max())
    out["s3_v_range"] = float(V.max() / V.min())
    out["s3_k_range"] = float(kappa.max() / kappa.min())
    out["s3_overstate"] = orders_of_magnitude(out["s3_k_range"] / out["s3_v_range"])
    return out


def plot(values: dict):
    r""":math:`V` against :math:`\kappa_\Sigma(\pi_0)` with both bounds (left) and against
    :math:`\kappa(\pi_0)` (right), every start of every problem; colour: distance of the start
    from the target; thin grey lines: the log-log line fitted within each problem."""
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    starts = pd.DataFrame(values["rows"])
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    for ax, column, label in ((axes[0], "kappa_sigma", r"$\kappa_\Sigma(\pi_0)$"),
                              (axes[1], "kappa", r"$\kappa(\pi_0)$")):
        sns.scatterplot(data=starts, x=column, y="V", hue="distance", palette="viridis", s=14,
                        linewidth=0, ax=ax, legend=column == "kappa")
        ax.set(xscale="log", yscale="log", xlabel=label,
               ylabel=r"$V=\mathrm{tr}(F I_0^{-1})/(2\beta^2)$")
        for _, group in starts.groupby("problem"):
            x = np.log(group[column].to_numpy())
            slope, intercept = np.polyfit(x, np.log(group["V"].to_numpy()), 1)
            ends = np.array([x.min(), x.max()])
            ax.plot(np.exp(ends), np.exp(intercept + slope * ends), color="gray", lw=0.6,
                    alpha=0.6)
    lower, upper = bounds(values)
    order = np.argsort(starts.kappa_sigma.to_numpy(), kind="stable")
    x = starts.kappa_sigma.to_numpy()[order]
    axes[0].plot(x, lower[order], ls="--", color="k", lw=1,
                 label=r"lower bound $\kappa_\Sigma/\beta^2$")
    axes[0].plot(x, upper[order], ls="none", marker=".", ms=2, color="k",
                 label=r"upper bound $d\kappa_\Sigma/(4\beta^2 s_{\min})$ (per start)")
    axes[0].legend(fontsize="small")
    axes[1].legend(fontsize="small", title=r"$\|\theta_0-\theta^\star\|$")
    fig.tight_layout()
    return fig
