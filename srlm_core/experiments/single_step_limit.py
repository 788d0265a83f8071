r"""S2: the KL of one self-rewarding update against n, for several starting distances.

One DPO step from :math:`\pi_0` with a fixed reference and :math:`n` self-judged pairs, run
for every initial distance :math:`e_0 = \lVert\theta_0-\theta^\star\rVert_2` of
``Config.starts`` and every :math:`n` of a doubling grid, ``seeds`` runs each.  Statement S2
predicts

.. math::

    \mathbb E\,\mathrm{KL}(\pi^\star\Vert\hat\pi_1) \approx
    \tfrac12(1-\alpha)^2\lVert\theta_0-\theta^\star\rVert_F^2
    + \frac{\operatorname{tr}(F I_0^{-1})}{2n\beta^2},

a floor that no :math:`n` removes plus a variance term; the prediction is evaluated from the
model itself by :func:`srlm_core.model.one_step_prediction.predict_one_step`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from srlm_core.errors import ConfigError, require_at_least
from srlm_core.experiments import doubling_grid
from srlm_core.model import metrics
from srlm_core.model.one_step_prediction import (
    OneStepPrediction,
    one_step_limit,
    policy_fisher,
    predict_one_step,
)
from srlm_core.model.self_rewarding import SelfRewardingRunner, SimulationConfig
from srlm_core.stats import fit_slope, mean_interval

#: the fields of :class:`srlm_core.model.one_step_prediction.OneStepPrediction`, in order
PREDICTION_FIELDS = ("floor", "variance", "exact_floor", "variance_at_limit", "param_variance")


@dataclass(frozen=True)
class Config:
    """The chapter's run: :math:`n` over ``n_min * 2**j`` up to ``n_max`` for every start.

    ``large_n``: cells with :math:`n` at least this count as large-sample in the summary;
    ``slope_start``: the start whose fitted variance slope the chapter quotes."""

    alpha: float = 0.5
    starts: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)
    n_min: int = 250
    n_max: int = 32000
    seeds: int = 32
    d: int = 8
    K: int = 8
    contexts: int = 32
    seed: int = 0
    large_n: int = 1000
    slope_start: float = 2.0

    def grid(self) -> list[int]:
        """The doubling grid ``n_min, 2 n_min, ...`` up to ``n_max``."""
        return doubling_grid(self.n_min, self.n_max)

    def simulation(self, init_dist: float, n: int) -> SimulationConfig:
        """One step (``iters=1``) from distance ``init_dist`` with ``n`` pairs."""
        return SimulationConfig.taking(self, n=n, iters=1, init_dist=init_dist)

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        require_at_least(self, 1, "n_min", "seeds", "large_n")
        if self.n_max < self.n_min:
            raise ConfigError("n_max", f"must be at least n_min ({self.n_min}), got {self.n_max}")
        if not self.starts or min(self.starts) <= 0.0:
            raise ConfigError("starts", f"must be non-empty and positive, got {self.starts!r}")
        if self.slope_start not in self.starts:
            raise ConfigError("slope_start", f"must be one of starts {self.starts!r}, "
                                             f"got {self.slope_start!r}")
        self.simulation(self.starts[0], self.n_min).validate()
        return self


def run(config: Config) -> dict:
    r"""One update per (start, :math:`n`), ``seeds`` runs each
    (:class:`srlm_core.model.self_rewarding.SelfRewardingRunner`).

    Stored per cell and seed: :math:`\mathrm{KL}(\pi^\star\Vert\hat\pi_1)`, the variance
    part :math:`\tfrac12\lVert\hat\theta_1-\theta_1\rVert_F^2` with :math:`F=F(\theta^\star)`
    and :math:`\theta_1` the :math:`n=\infty` limit
    (:func:`srlm_core.model.one_step_prediction.one_step_limit`), the squared distance ratio
    :math:`\lVert\hat\theta_1-\theta^\star\rVert^2/e_0^2` and
    :math:`\lVert\hat\theta_1-\theta_1\rVert_2`; per start, the S2 prediction."""
    config.validate()
    ns = config.grid()
    cells, predictions = [], []
    for e0 in config.starts:
        for n in ns:
            runner = SelfRewardingRunner(config.simulation(e0, n))
            thetas = runner.run().thetas
            p, theta0 = runner.problem, thetas[0, 0]
            if n == ns[0]:
                pred = predict_one_step(p, theta0, config.alpha)
                predictions.append({"e0": e0, **asdict(pred)})
            theta1 = one_step_limit(p, theta0, config.alpha)
            F = policy_fisher(p, p.theta_star)
            dev = thetas[1] - theta1
            quadratic = 0.5 * np.einsum("sd,de,se->s", dev, F, dev)
            cells.append({
                "e0": e0,
                "n": n,
                "kl": metrics.kl_target_to_policy(p, thetas[1]).tolist(),
                "variance_part": quadratic.tolist(),
                "sq_dist_ratio": (metrics.param_distance(p, thetas[1]) ** 2 / e0**2).tolist(),
                "deviation": dev.norm(dim=-1).tolist(),
            })
    return {
        "alpha": config.alpha, "starts": list(config.starts), "ns": ns, "seeds": config.seeds,
        "large_n": config.large_n, "slope_start": config.slope_start,
        "predictions": predictions, "cells": cells,
    }


def prediction(values: dict, e0: float) -> OneStepPrediction:
    """The S2 prediction stored for start ``e0``."""
    row = next(row for row in values["predictions"] if row["e0"] == e0)
    return OneStepPrediction(**{name: row[name] for name in PREDICTION_FIELDS})


def coverage(values: dict) -> list[dict]:
    r"""Per cell: mean KL over seeds with its Student-t 95% interval, the statement's prediction
    (floor + variance / n), the refined one (exact floor, curvature at :math:`\theta_1`), and
    whether each lies inside the interval."""
    rows = []
    for cell in values["cells"]:
        ci, pred = mean_interval(cell["kl"]), prediction(values, cell["e0"])
        predicted, refined = pred.kl(cell["n"]), pred.kl_refined(cell["n"])
        rows.append({
            "e0": cell["e0"], "n": cell["n"], "mean": ci.mean, "lo": ci.lo, "hi": ci.hi,
            "predicted": predicted, "refined": refined,
            "covered": bool(ci.lo <= predicted <= ci.hi),
            "covered_refined": bool(ci.lo <= refined <= ci.hi),
        })
    return rows


def variance_fits(values: dict) -> list[dict]:
    r"""Per start: the least-squares slope of the log variance part,
    :math:`\log\tfrac12\lVert\hat\theta_1-\theta_1\rVert_F^2`, on :math:`\log n` over all
    seeds (S2 predicts :math:`-1`); the squared distance ratio at the largest :math:`n` (mean
    and 95% interval) against its prediction
    :math:`(1-\alpha)^2+\operatorname{tr}(I_0^{-1})/(n\beta^2e_0^2)`; and the ratio of the
    quadratic floor to the exact one."""
    alpha, n_max, out = values["alpha"], values["ns"][-1], []
    for e0 in values["starts"]:
        mine = [cell for cell in values["cells"] if cell["e0"] == e0]
        x = np.log(np.concatenate([np.full(len(cell["variance_part"]), cell["n"])
                                   for cell in mine]))
        y = np.log(np.concatenate([cell["variance_part"] for cell in mine]))
        fit = fit_slope(x, y)
        ratio = mean_interval(next(c for c in mine if c["n"] == n_max)["sq_dist_ratio"])
        pred = prediction(values, e0)
        out.append({
            "e0": e0, "slope": fit.slope, "slope_lo": fit.lo, "slope_hi": fit.hi,
            "ratio": ratio.mean, "ratio_lo": ratio.lo, "ratio_hi": ratio.hi,
            "ratio_predicted": (1 - alpha) ** 2 + pred.param_variance / (n_max * e0**2),
            "floor_ratio": pred.floor / pred.exact_floor,
        })
    return out


def summarise(values: dict) -> dict:
    r"""The chapter's numbers: how many cells' intervals cover the prediction (all, large
    :math:`n`, and the refined prediction at large :math:`n`), the largest relative gap of the
    mean KL to the prediction at the smallest and at large :math:`n` (percent), the largest
    :math:`\lVert\hat\theta_1-\theta_1\rVert_2`, the variance slope of ``slope_start`` with
    its interval, and the largest gap of the quadratic floor to the exact one (percent)."""
    cells, large_n = coverage(values), values["large_n"]
    large = [c for c in cells if c["n"] >= large_n]
    small = [c for c in cells if c["n"] == values["ns"][0]]
    fits = {fit["e0"]: fit for fit in variance_fits(values)}
    slope = fits[values["slope_start"]]

    def worst_gap(rows: list[dict]) -> float:
        return max(abs(c["mean"] / c["predicted"] - 1) for c in rows) * 100

    return {
        "s2_cover_all": f"{sum(c['covered'] for c in cells)} of {len(cells)}",
        "s2_cover_large": f"{sum(c['covered'] for c in large)} of {len(large)}",
        "s2_cover_refined_large": f"{sum(c['covered_refined'] for c in large)} of {len(large)}",
        "s2_worst_rel_small_n": float(worst_gap(small)),
        "s2_worst_rel_large_n": float(worst_gap(large)),
        "s2_max_dev": float(max(max(cell["deviation"]) for cell in values["cells"])),
        "s2_slope": slope["slope"],
        "s2_slope_lo": slope["slope_lo"],
        "s2_slope_hi": slope["slope_hi"],
        "s2_quad_worst": max(abs(fit["floor_ratio"] - 1) for fit in fits.values()) * 100,
    }


def table(values: dict):
    """The chapter's per-start table (a pandas DataFrame of formatted strings) from
    :func:`variance_fits`."""
    import pandas as pd

    n_max = f"{values['ns'][-1]:,}".replace(",", " ")
    return pd.DataFrame([{
        r"$e_0$": fit["e0"],
        "slope": f"{fit['slope']:.3f}",
        "95% interval": f"[{fit['slope_lo']:.3f}, {fit['slope_hi']:.3f}]",
        rf"$\|\hat\theta_1-\theta^\star\|^2/e_0^2$ at $n$ = {n_max}":
            f"{fit['ratio']:.4f} [{fit['ratio_lo']:.4f}, {fit['ratio_hi']:.4f}]",
        r"predicted $(1-\alpha)^2+\mathrm{tr}(I_0^{-1})/(n\beta^2e_0^2)$":
            f"{fit['ratio_predicted']:.4f}",
        "quadratic floor / exact floor": f"{fit['floor_ratio']:.4f}",
    } for fit in variance_fits(values)])


def frame(values: dict):
    """The per-seed measurements as a long pandas DataFrame (one row per start, n and seed)."""
    import pandas as pd

    keys = ("kl", "variance_part", "sq_dist_ratio", "deviation")
    return pd.concat([pd.DataFrame({"e0": c["e0"], "n": c["n"], "seed": range(len(c["kl"])),
                                    **{k: c[k] for k in keys}}) for c in values["cells"]],
                     ignore_index=True)


def plot(values: dict):
    r"""Left: mean KL against :math:`n` per start (95% bootstrap intervals) with the S2
    prediction floor + variance / n (dashed) and the floor (dotted).  Right: the variance part
    times :math:`n` against the predicted constant
    :math:`\operatorname{tr}(FI_0^{-1})/(2\beta^2)` (dashed)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    data, starts, ns = frame(values), values["starts"], values["ns"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    palette = dict(zip(starts, sns.color_palette("viridis", len(starts))))
    ax = axes[0]
    sns.lineplot(data=data, x="n", y="kl", hue="e0", palette=palette, marker="o",
                 errorbar=("ci", 95), n_boot=1000, seed=0, ax=ax, err_style="bars")
    grid = np.geomspace(ns[0], ns[-1], 100)
    for e0 in starts:
        pred = prediction(values, e0)
        ax.plot(grid, pred.floor + pred.variance / grid, ls="--", color=palette[e0], lw=1)
        ax.axhline(pred.floor, ls=":", color=palette[e0], lw=1)
    ax.set(xscale="log", yscale="log", xlabel="pairs $n$ in the single step",
           ylabel=r"$\mathrm{KL}(\pi^\star\Vert\hat\pi_1)$")
    ax.legend(title=r"$e_0$")
    ax = axes[1]
    scaled = data.assign(scaled=data["variance_part"] * data["n"])
    sns.lineplot(data=scaled, x="n", y="scaled", hue="e0", palette=palette, marker="o",
                 errorbar=("ci", 95), n_boot=1000, seed=0, ax=ax, err_style="bars", legend=False)
    for e0 in starts:
        ax.axhline(prediction(values, e0).variance, ls="--", color=palette[e0], lw=1)
    ax.set(xscale="log", xlabel="pairs $n$ in the single step",
           ylabel=r"$n\cdot\frac{1}{2}\|\hat\theta_1-\theta_1\|_F^2$")
    fig.tight_layout()
    return fig
