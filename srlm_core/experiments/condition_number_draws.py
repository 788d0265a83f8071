r"""S3: both condition numbers of random policies around the target.

In each of ``problems`` random problems, ``draws`` parameter vectors
:math:`\theta = \theta^\star + r u` (``u`` a random unit vector, ``r`` evenly spaced from
``r_min`` to ``r_max``) give :math:`\kappa(\pi_\theta)`, :math:`\kappa_\Sigma(\pi_\theta)`
and the log-ratio span.  S3 proves :math:`\kappa_\Sigma \le \kappa` (sharper than the
reconstructed :math:`\kappa^2`) and
:math:`\log\kappa \le \operatorname{span} \le 2\lVert\theta-\theta^\star\rVert`.  How far
below :math:`\kappa` the feature form sits is summarised per problem (the median of
:math:`\log\kappa_\Sigma/\log\kappa`) and across problems, the unit of independence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from srlm_core.errors import ConfigError, require_at_least
from srlm_core.experiments.variance_inflation import orders_of_magnitude
from srlm_core.model import metrics
from srlm_core.model.policy import make_problem, random_unit_vectors
from srlm_core.options import option
from srlm_core.stats import mean_interval

#: slack of the bound checks (floating point)
SLACK = 1e-9


@dataclass(frozen=True)
class Config:
    """Problem ``p`` uses ``make_problem(seed=p)`` and draws its directions with the
    generator seeded ``direction_seed + p``."""

    problems: int = option(8, "random problems (the unit of the intervals)")
    draws: int = option(150, "parameter vectors drawn per problem")
    d: int = option(8, "feature dimension")
    K: int = option(8, "responses per prompt")
    contexts: int = option(32, "prompts")
    r_min: float = option(0.1, "smallest distance r to the target")
    r_max: float = option(8.0, "largest distance r to the target")
    direction_seed: int = option(100,
                                 "seed of problem 0's directions (problem p uses direction_seed + "
                                 "p)")

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        require_at_least(self, 2, "problems")
        require_at_least(self, 1, "draws", "d", "contexts")
        require_at_least(self, 2, "K")
        require_at_least(self, 0, "r_min", "direction_seed")
        if self.r_max < self.r_min:
            raise ConfigError("r_max", f"must be at least r_min, got {self.r_max}")
        return self


def run(config: Config) -> dict:
    r"""Per draw: problem, distance :math:`r`, :math:`\kappa`, :math:`\kappa_\Sigma` and the
    span :math:`\max_x \operatorname{span}_y \log(\pi_\theta/\pi^\star)` (S3)."""
    c = config.validate()
    rows = []
    for seed in range(c.problems):
        p = make_problem(d=c.d, K=c.K, contexts=c.contexts, seed=seed)
        g = torch.Generator().manual_seed(c.direction_seed + seed)
        radius = torch.linspace(c.r_min, c.r_max, c.draws, dtype=torch.float64)[:, None]
        theta = p.theta_star + radius * random_unit_vectors((c.draws, c.d), g)
        columns = zip(
            radius[:, 0].tolist(),
            metrics.condition_number(p, theta).tolist(),
            metrics.feature_condition_number(p, theta).tolist(),
            metrics.log_ratio_span(p, theta).tolist(),
        )
        rows += [{"problem": seed, "distance": r, "kappa": k, "kappa_sigma": ks, "span": s}
                 for r, k, ks, s in columns]
    return {"problems": c.problems, "draws": c.draws, "r_min": c.r_min, "r_max": c.r_max,
            "rows": rows}


def _column(values: dict, name: str) -> np.ndarray:
    return np.array([row[name] for row in values["rows"]], dtype=float)


def problem_medians(values: dict) -> np.ndarray:
    r"""Per problem, the median of :math:`\log\kappa_\Sigma/\log\kappa` over its draws."""
    problem = _column(values, "problem")
    ratio = np.log(_column(values, "kappa_sigma")) / np.log(_column(values, "kappa"))
    return np.array([np.median(ratio[problem == p]) for p in np.unique(problem)])


def tightness(lo: float, hi: float) -> str:
    r"""How tight :math:`\kappa_\Sigma \le \kappa` is, from the interval of the median of
    :math:`\log\kappa_\Sigma/\log\kappa` (1 when tight): ``far from tight`` (below 1/2),
    ``close to tight`` (above 0.9), else ``loose``."""
    return "far from tight" if hi < 0.5 else "close to tight" if lo > 0.9 else "loose"


def summarise(values: dict) -> dict:
    r"""The largest :math:`\kappa_\Sigma/\kappa` (at most 1 by S3) and the verdict; the
    median of :math:`\log\kappa_\Sigma/\log\kappa` per problem, their mean with a 95%
    interval over problems and the word of :func:`tightness`; how many draws satisfy
    :math:`\log\kappa \le \operatorname{span}` and
    :math:`\operatorname{span} \le 2\lVert\theta-\theta^\star\rVert`;
    :math:`\kappa_\Sigma` where :math:`\kappa` is largest and their ratio in words; the run's
    size."""
    kappa, kappa_sigma = _column(values, "kappa"), _column(values, "kappa_sigma")
    span, distance = _column(values, "span"), _column(values, "distance")
    total = len(kappa)
    above = int((kappa_sigma > kappa * (1 + SLACK)).sum())
    ci = mean_interval(problem_medians(values))
    at_max = kappa.argmax()
    return {
        "s3_ratio_max": float((kappa_sigma / kappa).max()),
        "s3_ks_le_k": ("holds for every draw" if above == 0
                       else f"fails for {above} draw{'s' * (above != 1)}"),
        "s3_sq_ratio_median": ci.mean,
        "s3_sq_ratio_median_lo": ci.lo,
        "s3_sq_ratio_median_hi": ci.hi,
        "s3_tightness": tightness(ci.lo, ci.hi),
        "s3_span_ok": f"{int((np.log(kappa) <= span + SLACK).sum())} of {total}",
        "s3_twonorm_ok": f"{int((span <= 2 * distance + SLACK).sum())} of {total}",
        "s3_kappa_max": float(kappa[at_max]),
        "s3_kappa_sigma_at_max": float(kappa_sigma[at_max]),
        "s3_orders": orders_of_magnitude(float(kappa[at_max] / kappa_sigma[at_max])),
        "n_draw_problems": values["problems"],
        "n_draws": values["draws"],
        "draw_r_min": values["r_min"],
        "draw_r_max": values["r_max"],
    }


def plot(values: dict):
    r"""Left: :math:`\kappa_\Sigma` against :math:`\kappa` for every draw of every problem
    (colour: distance to the target), with the proved bound :math:`\kappa_\Sigma = \kappa` and
    the reconstructed one :math:`\kappa_\Sigma = \kappa^2`.  Right: the median of
    :math:`\log\kappa_\Sigma/\log\kappa` per problem, and their mean with its 95% interval
    over problems."""
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    draws = pd.DataFrame(values["rows"])
    fig, (ax, right) = plt.subplots(1, 2, figsize=(9.5, 4.2),
                                    gridspec_kw={"width_ratios": [3, 1]})
    sns.scatterplot(data=draws, x="kappa", y="kappa_sigma", hue="distance", palette="viridis",
                    s=12, linewidth=0, ax=ax)
    grid = np.geomspace(1, draws.kappa.max(), 100)
    ax.plot(grid, grid, ls="--", color="k", lw=1, label=r"$\kappa_\Sigma=\kappa$ (proved)")
    ax.plot(grid, grid**2, ls=":", color="k", lw=1,
            label=r"$\kappa_\Sigma=\kappa^2$ (reconstructed)")
    ax.set(xscale="log", yscale="log", xlabel=r"$\kappa(\pi_\theta)$",
           ylabel=r"$\kappa_\Sigma(\pi_\theta)$", ylim=(0.9, draws.kappa.max() * 2))
    ax.legend(fontsize="small", title=r"$\|\theta-\theta^\star\|$ / bounds")
    medians = problem_medians(values)
    ci = mean_interval(medians)
    right.plot(np.zeros(len(medians)), medians, "o", color="gray", alpha=0.6, label="problem")
    right.errorbar([0.3], [ci.mean], yerr=[[ci.mean - ci.lo], [ci.hi - ci.mean]], fmt="s",
                   color="k", capsize=3, label="mean, 95%")
    right.axhline(1.0, ls="--", color="k", lw=1)
    right.set(xlim=(-0.5, 0.8), xticks=[], ylim=(0, 1.05),
              ylabel=r"median of $\log\kappa_\Sigma/\log\kappa$")
    right.legend(fontsize="small")
    fig.tight_layout()
    return fig
