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
model itself by :func:`srlm_core.model.one_step_prediction.predict_one_step`.  The sweep runs
on ``instances`` independently drawn problems (features, :math:`w^\star` and the direction of
:math:`\theta_0`, problem seed ``seed + instance``): the instance is the unit of independence,
so every interval averages the seeds within an instance first and is taken over instances.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from srlm_core.errors import ConfigError, require_at_least
from srlm_core.experiments import doubling_grid, renamed
from srlm_core.model import metrics
from srlm_core.model.one_step_prediction import (
    OneStepPrediction,
    one_step_limit,
    policy_fisher,
    predict_one_step,
)
from srlm_core.model.policy import ProblemConfig
from srlm_core.model.self_rewarding import SelfRewardingRunner, SimulationConfig
from srlm_core.options import nested, option
from srlm_core.stats import (
    binomial_count_range,
    equivalence_test,
    mean_interval,
    slope_across_units,
)

#: the fields of :class:`srlm_core.model.one_step_prediction.OneStepPrediction`, in order
PREDICTION_FIELDS = ("floor", "variance", "exact_floor", "variance_at_limit", "param_variance")
#: the nominal level of every interval, and so the expected share of covered cells
LEVEL = 0.95
#: the glue names of the coverage counts (:func:`count_verdict`) over every cell, the large-n
#: cells, and the large-n cells against the refined prediction (which shares the large cells'
#: baseline, so it has no range of its own)
COVER_NAMES = {
    "all": {"count": "s2_cover_all", "verdict": "s2_cover_all_verdict",
            "range": "s2_cover_all_range"},
    "large": {"count": "s2_cover_large", "verdict": "s2_cover_large_verdict",
              "range": "s2_cover_large_range"},
    "refined_large": {"count": "s2_cover_refined_large",
                      "verdict": "s2_cover_refined_large_verdict"},
}


@dataclass(frozen=True)
class Config:
    """The chapter's run: :math:`n` over ``n_min * 2**j`` up to ``n_max`` for every start, on
    ``instances`` problems with ``seeds`` runs each.

    ``large_n``: cells with :math:`n` at least this count as large-sample in the summary;
    ``slope_start``: the start whose fitted variance slope the chapter quotes;
    ``slope_margin``: the equivalence margin of that slope around :math:`-1`."""

    alpha: float = option(0.5, "signal share alpha")
    starts: tuple[float, ...] = option((0.5, 1.0, 2.0, 4.0), "initial distances e_0 to the target")
    n_min: int = option(250, "smallest n of the doubling grid")
    n_max: int = option(32000, "largest n of the doubling grid")
    instances: int = option(8, "random problems (the unit of the intervals)")
    seeds: int = option(16, "runs per instance")
    problem: ProblemConfig = nested(ProblemConfig(),
                                   "the random problems (instance i: seed + i)")
    large_n: int = option(1000, "cells with at least this n count as large-sample in the summary")
    slope_start: float = option(2.0,
                                "the start (one of starts) whose fitted variance slope the "
                                "chapter quotes")
    slope_margin: float = option(0.1, "equivalence margin of that slope around -1")

    def grid(self) -> list[int]:
        """The doubling grid ``n_min, 2 n_min, ...`` up to ``n_max``."""
        return doubling_grid(self.n_min, self.n_max)

    def simulation(self, init_dist: float, n: int, instance: int = 0) -> SimulationConfig:
        """One step (``iters=1``) from distance ``init_dist`` with ``n`` pairs on problem
        ``instance`` (seed ``seed + instance``)."""
        return SimulationConfig.on(self.problem.instance(instance), alpha=self.alpha, n=n, iters=1,
                                   init_dist=init_dist, seeds=self.seeds)

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        require_at_least(self, 1, "n_min", "seeds", "large_n")
        require_at_least(self, 2, "instances")
        if self.n_max < self.n_min:
            raise ConfigError("n_max", f"must be at least n_min ({self.n_min}), got {self.n_max}")
        if len(self.grid()) < 2:
            raise ConfigError("n_max", f"must be at least 2 n_min ({2 * self.n_min}) for a "
                                       f"slope, got {self.n_max}")
        if not self.starts or min(self.starts) <= 0.0:
            raise ConfigError("starts", f"must be non-empty and positive, got {self.starts!r}")
        if self.slope_start not in self.starts:
            raise ConfigError("slope_start", f"must be one of starts {self.starts!r}, "
                                             f"got {self.slope_start!r}")
        if not self.slope_margin > 0.0:
            raise ConfigError("slope_margin", f"must be positive, got {self.slope_margin!r}")
        self.simulation(self.starts[0], self.n_min).validate()
        return self


def run(config: Config) -> dict:
    r"""One update per (instance, start, :math:`n`), ``seeds`` runs each
    (:class:`srlm_core.model.self_rewarding.SelfRewardingRunner`).

    Stored per cell and seed: :math:`\mathrm{KL}(\pi^\star\Vert\hat\pi_1)`, the variance
    part :math:`\tfrac12\lVert\hat\theta_1-\theta_1\rVert_F^2` with :math:`F=F(\theta^\star)`
    and :math:`\theta_1` the :math:`n=\infty` limit
    (:func:`srlm_core.model.one_step_prediction.one_step_limit`), the squared distance ratio
    :math:`\lVert\hat\theta_1-\theta^\star\rVert^2/e_0^2` and
    :math:`\lVert\hat\theta_1-\theta_1\rVert_2`; per instance and start, the S2 prediction."""
    config.validate()
    ns = config.grid()
    cells, predictions = [], []
    for instance in range(config.instances):
        for e0 in config.starts:
            for n in ns:
                runner = SelfRewardingRunner(config.simulation(e0, n, instance))
                thetas = runner.run().thetas
                p, theta0 = runner.problem, thetas[0, 0]
                if n == ns[0]:
                    pred = predict_one_step(p, theta0, config.alpha)
                    predictions.append({"instance": instance, "e0": e0, **asdict(pred)})
                theta1 = one_step_limit(p, theta0, config.alpha)
                F = policy_fisher(p, p.theta_star)
                dev = thetas[1] - theta1
                quadratic = 0.5 * np.einsum("sd,de,se->s", dev, F, dev)
                cells.append({
                    "instance": instance,
                    "e0": e0,
                    "n": n,
                    "kl": metrics.kl_target_to_policy(p, thetas[1]).tolist(),
                    "variance_part": quadratic.tolist(),
                    "sq_dist_ratio": (metrics.param_distance(p, thetas[1]) ** 2
                                      / e0**2).tolist(),
                    "deviation": dev.norm(dim=-1).tolist(),
                })
    return {
        "alpha": config.alpha, "starts": list(config.starts), "ns": ns,
        "d": config.problem.d, "K": config.problem.K, "contexts": config.problem.contexts,
        "instances": config.instances, "seeds": config.seeds, "large_n": config.large_n,
        "slope_start": config.slope_start, "slope_margin": config.slope_margin,
        "predictions": predictions, "cells": cells,
    }


def prediction(values: dict, e0: float, instance: int = 0) -> OneStepPrediction:
    """The S2 prediction stored for start ``e0`` on problem ``instance``."""
    row = next(row for row in values["predictions"]
               if row["e0"] == e0 and row.get("instance", 0) == instance)
    return OneStepPrediction(**{name: row[name] for name in PREDICTION_FIELDS})


def _instances(values: dict) -> list[int]:
    return sorted({cell.get("instance", 0) for cell in values["cells"]})


def _cell(values: dict, instance: int, e0: float, n: int) -> dict:
    return next(c for c in values["cells"]
                if c.get("instance", 0) == instance and c["e0"] == e0 and c["n"] == n)


def coverage(values: dict) -> list[dict]:
    r"""Per cell (start, :math:`n`): per instance the mean KL over seeds divided by that
    instance's prediction (floor + variance / n), its mean over instances with a Student-t
    95% interval over instances, the same for the refined prediction (exact floor, curvature
    at :math:`\theta_1`), whether each interval contains 1, and the measured and predicted
    KL averaged over instances."""
    rows, instances = [], _instances(values)
    for e0 in values["starts"]:
        for n in values["ns"]:
            means = np.array([np.mean(_cell(values, i, e0, n)["kl"]) for i in instances])
            preds = [prediction(values, e0, i) for i in instances]
            predicted = np.array([p.kl(n) for p in preds])
            refined = np.array([p.kl_refined(n) for p in preds])
            ratio, ratio_refined = mean_interval(means / predicted), mean_interval(means / refined)
            rows.append({
                "e0": e0, "n": n, "mean": float(means.mean()),
                "predicted": float(predicted.mean()), "refined": float(refined.mean()),
                "ratio": ratio.mean, "lo": ratio.lo, "hi": ratio.hi,
                "ratio_refined": ratio_refined.mean,
                "covered": bool(ratio.lo <= 1.0 <= ratio.hi),
                "covered_refined": bool(ratio_refined.lo <= 1.0 <= ratio_refined.hi),
            })
    return rows


def count_verdict(covered: int, cells: int, level: float = LEVEL) -> dict:
    """A coverage count against its expected-miss baseline
    (:func:`srlm_core.stats.binomial_count_range` at the nominal ``level``): the count text,
    the expected count, the central 95% range and the verdict ``consistent with`` (inside or
    above the range) or ``below`` (fewer covered cells than an exact prediction leaves).
    Cells that share instances are not independent, so the range is a guide, not a test."""
    expected = binomial_count_range(cells, level)
    return {"count": f"{covered} of {cells}", "expected": expected.expected,
            "range": f"{expected.lo}\u2013{expected.hi}",
            "verdict": "consistent with" if covered >= expected.lo else "below"}


def variance_fits(values: dict) -> list[dict]:
    r"""Per start: the slope of the log variance part,
    :math:`\log\tfrac12\lVert\hat\theta_1-\theta_1\rVert_F^2` (mean over seeds), on
    :math:`\log n`, fitted within each instance and summarised across instances
    (:func:`srlm_core.stats.slope_across_units`; S2 predicts :math:`-1`) with a TOST of
    :math:`|b+1|<` ``slope_margin`` (:func:`srlm_core.stats.equivalence_test`); the squared
    distance ratio at the largest :math:`n` (mean and 95% interval over instances) against
    its prediction :math:`(1-\alpha)^2+\operatorname{tr}(I_0^{-1})/(n\beta^2e_0^2)` averaged
    over instances; and the smallest and largest ratio of the quadratic floor to the exact
    one over instances (deterministic: no interval)."""
    alpha, n_max, out = values["alpha"], values["ns"][-1], []
    instances, margin = _instances(values), values.get("slope_margin", 0.1)
    for e0 in values["starts"]:
        x, y, units = [], [], []
        for i in instances:
            for n in values["ns"]:
                x.append(np.log(n))
                y.append(np.log(np.mean(_cell(values, i, e0, n)["variance_part"])))
                units.append(i)
        fit = slope_across_units(x, y, units)
        slopes = np.array([np.polyfit(np.array(x)[np.array(units) == i],
                                      np.array(y)[np.array(units) == i], 1)[0]
                           for i in instances])
        tost = equivalence_test(slopes + 1.0, margin)
        ratio = mean_interval([np.mean(_cell(values, i, e0, n_max)["sq_dist_ratio"])
                               for i in instances])
        preds = [prediction(values, e0, i) for i in instances]
        floor_ratios = [p.floor / p.exact_floor for p in preds]
        out.append({
            "e0": e0, "slope": fit.slope, "slope_lo": fit.lo, "slope_hi": fit.hi,
            "slope_p": tost.p_value, "slope_equivalent": tost.equivalent,
            "ratio": ratio.mean, "ratio_lo": ratio.lo, "ratio_hi": ratio.hi,
            "ratio_predicted": float(np.mean([(1 - alpha) ** 2 + p.param_variance
                                              / (n_max * e0**2) for p in preds])),
            "floor_ratio_min": float(min(floor_ratios)),
            "floor_ratio_max": float(max(floor_ratios)),
        })
    return out


def _side(rows: list[dict]) -> str:
    """Where the prediction sits against the measurement in ``rows``: ``above`` (every ratio
    measured / predicted below 1), ``below`` or ``on both sides of``."""
    if all(r["ratio"] < 1 for r in rows):
        return "above"
    return "below" if all(r["ratio"] > 1 for r in rows) else "on both sides of"


def miss_text(misses: list[dict]) -> str:
    """The clause naming the missed cells' starts and the side of the prediction at each."""
    if not misses:
        return "there are no misses there"
    parts = [f"at e\u2080 = {e0:g}, where the prediction sits "
             f"{_side([m for m in misses if m['e0'] == e0])} the measured KL"
             for e0 in sorted({m["e0"] for m in misses})]
    return "the misses there are " + " and ".join(parts)


def summarise(values: dict) -> dict:
    r"""The chapter's numbers and verdict words: the run's parameters; per group of cells
    (all, large :math:`n`, refined prediction at large :math:`n`) the count of cells whose
    interval over instances of measured over predicted KL contains 1, with its binomial
    expected-miss baseline at the nominal 95% and the verdict (:func:`count_verdict`); the
    starts of the missed large-sample cells and whether the prediction sits ``above`` or
    ``below`` the measurement there; the largest relative gap (percent) at the smallest and at
    large :math:`n`, and whether the measured KL is ``larger`` or ``smaller`` there; the
    largest :math:`\lVert\hat\theta_1-\theta_1\rVert_2`; the variance slope of
    ``slope_start`` with its interval over instances, whether that ``contains`` or
    ``excludes`` :math:`-1`, and its equivalence verdict; the count of starts whose squared
    distance ratio at the largest :math:`n` has an interval containing its prediction, with
    its verdict; and the largest gap of the
    quadratic floor to the exact one (percent), its start and its direction."""
    cells, large_n = coverage(values), values["large_n"]
    large = [c for c in cells if c["n"] >= large_n]
    small = [c for c in cells if c["n"] == values["ns"][0]]
    fits = {fit["e0"]: fit for fit in variance_fits(values)}
    slope = fits[values["slope_start"]]
    out: dict = {"s2_instances": len(_instances(values)), "s2_seeds": values["seeds"],
                 "s2_large_n": large_n, "s2_alpha": values["alpha"],
                 "s2_floor_factor": (1 - values["alpha"]) ** 2,
                 "s2_starts": ", ".join(f"{e0:g}" for e0 in values["starts"]),
                 "s2_n_starts": len(values["starts"]), "s2_n_min": values["ns"][0],
                 "s2_n_max": f"{values['ns'][-1]:,}".replace(",", " "),
                 "s2_slope_start": values["slope_start"],
                 **{name: values[key] for key, name in (("d", "s2_d"), ("K", "s2_K"),
                                                         ("contexts", "s2_contexts"))
                    if key in values}}
    for key, group, field in (("all", cells, "covered"), ("large", large, "covered"),
                              ("refined_large", large, "covered_refined")):
        verdict = count_verdict(sum(c[field] for c in group), len(group))
        out.update(renamed(verdict, COVER_NAMES[key]))
    out["s2_cover_all_expected"] = count_verdict(0, len(cells))["expected"]
    misses = [c for c in large if not c["covered"]]
    out["s2_miss_where"] = miss_text(misses)
    worst_small = max(small, key=lambda c: abs(c["ratio"] - 1))
    worst_large = max(large, key=lambda c: abs(c["ratio"] - 1)) if large else worst_small
    out["s2_worst_rel_small_n"] = float(abs(worst_small["ratio"] - 1) * 100)
    out["s2_worst_rel_large_n"] = float(abs(worst_large["ratio"] - 1) * 100)
    out["s2_small_n_side"] = "larger" if worst_small["ratio"] > 1 else "smaller"
    out["s2_max_dev"] = float(max(max(cell["deviation"]) for cell in values["cells"]))
    out.update({"s2_slope": slope["slope"], "s2_slope_lo": slope["slope_lo"],
                "s2_slope_hi": slope["slope_hi"], "s2_slope_p": slope["slope_p"],
                "s2_slope_margin": values.get("slope_margin", 0.1),
                "s2_slope_contains": ("contains" if slope["slope_lo"] <= -1.0 <= slope["slope_hi"]
                                      else "excludes"),
                "s2_slope_verdict": ("equivalent to" if slope["slope_equivalent"]
                                     else "not shown equivalent to")})
    ratio = count_verdict(sum(f["ratio_lo"] <= f["ratio_predicted"] <= f["ratio_hi"]
                              for f in fits.values()), len(fits))
    out["s2_ratio_cover"], out["s2_ratio_cover_verdict"] = ratio["count"], ratio["verdict"]
    gaps = {e0: max(abs(f["floor_ratio_max"] - 1), abs(f["floor_ratio_min"] - 1))
            for e0, f in fits.items()}
    worst = max(gaps, key=gaps.get)
    out["s2_quad_worst"] = float(gaps[worst] * 100)
    out["s2_quad_worst_start"] = worst
    over = fits[worst]["floor_ratio_max"] - 1 >= 1 - fits[worst]["floor_ratio_min"]
    out["s2_quad_side"] = "overstates" if over else "understates"
    return out


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
        "quadratic floor / exact floor (range over instances)":
            f"{fit['floor_ratio_min']:.4f}\u2013{fit['floor_ratio_max']:.4f}",
    } for fit in variance_fits(values)])


def frame(values: dict):
    """The per-seed measurements as a long pandas DataFrame (one row per instance, start, n
    and seed)."""
    import pandas as pd

    keys = ("kl", "variance_part", "sq_dist_ratio", "deviation")
    return pd.concat([pd.DataFrame({"instance": c.get("instance", 0), "e0": c["e0"],
                                    "n": c["n"], "seed": range(len(c["kl"])),
                                    **{k: c[k] for k in keys}}) for c in values["cells"]],
                     ignore_index=True)


def plot(values: dict):
    r"""Left: KL against :math:`n` per start (mean over instances with 95% intervals over
    instances), the S2 prediction floor + variance / n (dashed) and the floor (dotted), both
    averaged over instances.  Middle: measured over predicted KL, one thin line per instance
    and the mean over instances with its interval.  Right: the variance part times :math:`n`
    over its predicted constant :math:`\operatorname{tr}(FI_0^{-1})/(2\beta^2)`, likewise."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    starts, ns, instances = values["starts"], np.asarray(values["ns"]), _instances(values)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    palette = dict(zip(starts, sns.color_palette("viridis", len(starts))))
    grid = np.geomspace(ns[0], ns[-1], 100)
    for e0 in starts:
        color = palette[e0]
        preds = [prediction(values, e0, i) for i in instances]
        kl = np.array([[np.mean(_cell(values, i, e0, n)["kl"]) for n in ns] for i in instances])
        var = np.array([[np.mean(_cell(values, i, e0, n)["variance_part"]) * n / p.variance
                         for n in ns] for i, p in zip(instances, preds)])
        ratio = kl / np.array([[p.kl(n) for n in ns] for p in preds])
        for ax, data in ((axes[0], kl), (axes[1], ratio), (axes[2], var)):
            ivs = [mean_interval(col) for col in data.T]
            mean = np.array([iv.mean for iv in ivs])
            err = np.array([[iv.mean - iv.lo for iv in ivs], [iv.hi - iv.mean for iv in ivs]])
            if ax is not axes[0]:
                ax.plot(ns, data.T, color=color, lw=0.5, alpha=0.35)
            ax.errorbar(ns, mean, yerr=err, color=color, marker="o", ms=4, capsize=2,
                        label=f"{e0:g}")
        axes[0].plot(grid, np.mean([p.floor + p.variance / grid for p in preds], axis=0),
                     ls="--", color=color, lw=1)
        axes[0].axhline(np.mean([p.floor for p in preds]), ls=":", color=color, lw=1)
    axes[0].set(xscale="log", yscale="log", xlabel="pairs $n$ in the single step",
                ylabel=r"$\mathrm{KL}(\pi^\star\Vert\hat\pi_1)$")
    axes[0].legend(title=r"$e_0$")
    axes[1].axhline(1.0, ls="--", color="gray", lw=1)
    axes[1].set(xscale="log", xlabel="pairs $n$ in the single step",
                ylabel="measured / predicted KL")
    axes[2].axhline(1.0, ls="--", color="gray", lw=1)
    axes[2].set(xscale="log", xlabel="pairs $n$ in the single step",
                ylabel=r"$n\cdot\frac{1}{2}\|\hat\theta_1-\theta_1\|_F^2$ / predicted")
    fig.tight_layout()
    return fig
