r"""S4 experiment: the error after many self-rewarding iterations against the sample size n.

For each n of a doubling grid and each of ``instances`` random problems (features,
:math:`w^\star` and the initial direction drawn with seed ``seed + instance``; the problem
instance is the unit of independence), ``seeds`` runs of ``iters`` rounds (fixed reference,
:math:`\lambda = 0`) from distance ``init_dist``; T is large enough that
:math:`(1-\alpha)^T e_0` is far below the statistical floor, so the error at T is the floor.
Stored per n and instance: the per-seed :math:`\lVert\theta_T-\theta^\star\rVert` and
:math:`\mathrm{KL}(\pi^\star\Vert\pi_T)`, whether the S4 envelope
(:func:`srlm_core.model.bounds.iterative_bound`) held at every round, and at T the bound, its
margin-free form and the linear-Gaussian predictions.  The rate is the slope of the log of the
instance's mean error on :math:`\log n`, fitted per instance and summarised across instances
(:func:`srlm_core.stats.slope_across_units`; S4 predicts :math:`-1/2` for the distance and
:math:`-1` for the KL).  :func:`summarise` and :func:`plot` turn a record's values into the
chapter's numbers and figure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from srlm_core.errors import require_at_least
from srlm_core.experiments import doubling_grid, named
from srlm_core.model import metrics
from srlm_core.model.bounds import iterative_bound, slack_factors, validate_delta
from srlm_core.model.policy import ProblemConfig
from srlm_core.model.self_rewarding import SelfRewardingRunner, SimulationConfig
from srlm_core.options import nested, option
from srlm_core.stats import bootstrap_interval, slope_across_units

TITLE = "S4: error at large T against n per iteration, and coverage of the iterative bound"
TOLERANCE = {"rtol": 1e-6, "atol": 1e-9}
#: The slack factors of the envelope (:func:`srlm_core.model.bounds.slack_factors`).
FACTORS = ("margin", "triangle", "model", "quantile")
#: How the chapter names each factor.
SLACK_NAMES = {"margin": "high-probability margin", "triangle": "triangle inequality",
               "model": "Gaussian model's level", "quantile": "root mean square over the quantile"}
#: The glue names of the slack factors.
SLACK_GLUE = {"margin": "slack_margin", "triangle": "slack_triangle", "model": "slack_model",
              "quantile": "slack_quantile"}
#: The glue names of the rate fits of the distance and the KL over the whole grid: the slope,
#: its interval, the range of the per-instance slopes and the verdict.
RATE_NAMES = {
    "dist_T": {"slope": "slope_dist", "lo": "slope_dist_lo", "hi": "slope_dist_hi",
               "min": "slope_dist_min", "max": "slope_dist_max", "inside": "dist_inside"},
    "kl_T": {"slope": "slope_kl", "lo": "slope_kl_lo", "hi": "slope_kl_hi", "min": "slope_kl_min",
             "max": "slope_kl_max", "inside": "kl_inside"},
}
#: The same over the upper half of the grid.
LARGE_RATE_NAMES = {
    "dist_T": {"slope": "slope_dist_large", "lo": "slope_dist_large_lo",
               "hi": "slope_dist_large_hi", "inside": "dist_large_inside"},
    "kl_T": {"slope": "slope_kl_large", "lo": "slope_kl_large_lo", "hi": "slope_kl_large_hi",
             "inside": "kl_large_inside"},
}


@dataclass(frozen=True)
class Config:
    """n runs over ``n_min * 2**j`` up to ``n_max`` (at least two n: a slope); ``seeds`` runs
    per problem instance."""

    alpha: float = option(0.5, "signal share alpha")
    n_min: int = option(250, "smallest n of the doubling grid")
    n_max: int = option(16000, "largest n of the doubling grid (at least 2 n_min: a slope)")
    iters: int = option(10, "rounds per run")
    init_dist: float = option(2.0, "initial distance to the target")
    problem: ProblemConfig = nested(ProblemConfig(),
                                   "the random problems (instance i: seed + i)")
    instances: int = option(8, "random problems (at least 2)")
    seeds: int = option(32, "runs per instance")
    delta: float = option(0.05, "failure probability of the S4 bound")
    device: str = option("cpu", "cpu, cuda or auto")

    def grid(self) -> list[int]:
        """The doubling grid ``n_min, 2 n_min, ...`` up to ``n_max``."""
        return doubling_grid(self.n_min, self.n_max)

    def simulation(self, n: int, instance: int = 0) -> SimulationConfig:
        """The simulation of one n on one instance (problem seed ``seed + instance``)."""
        return SimulationConfig.on(self.problem.instance(instance), alpha=self.alpha, n=n,
                                   iters=self.iters, init_dist=self.init_dist, seeds=self.seeds,
                                   device=self.device)

    def validate(self) -> Config:
        require_at_least(self, 1, "n_min")
        require_at_least(self, 2 * self.n_min, "n_max")  # two n at least: a slope
        require_at_least(self, 2, "instances")
        validate_delta(self.delta)
        self.simulation(self.n_min).validate()
        return self


def _instance_run(sim: SimulationConfig, delta: float) -> dict:
    """One n on one instance: the per-seed errors at T, coverage at every round, the bound's
    columns at T."""
    result = SelfRewardingRunner(sim).run()
    dist = metrics.param_distance(result.problem, result.thetas).cpu().numpy()  # (T+1, S)
    kl = metrics.kl_target_to_policy(result.problem, result.thetas).cpu().numpy()
    frame = iterative_bound(replace(sim, device="cpu"), delta=delta).frame
    bound = frame["bound"].to_numpy()
    last = frame.iloc[-1]
    return {
        "dist_T": dist[-1].tolist(),
        "kl_T": kl[-1].tolist(),
        "covered_all_t": (dist <= bound[:, None]).all(axis=0).tolist(),
        **{f"{key}_T": float(last[key]) for key in (
            "bound", "bound_trace", "bound_uniform", "bound_kappa", "predicted_rms",
            "predicted_kl", "population_dist")},
    }


def _slopes(per_n: list[dict], key: str) -> dict:
    """Per instance the slope of log(mean over seeds) on log n; summarised across instances."""
    x = [math.log(row["n"]) for row in per_n for _ in row["instances"]]
    y = [math.log(np.mean(cell[key])) for row in per_n for cell in row["instances"]]
    units = [i for row in per_n for i in range(len(row["instances"]))]
    fit = slope_across_units(x, y, units)
    per_instance = [float(np.polyfit(np.log([row["n"] for row in per_n]),
                                     [math.log(np.mean(row["instances"][i][key]))
                                      for row in per_n], 1)[0])
                    for i in range(len(per_n[0]["instances"]))]
    return {"slope": fit.slope, "lo": fit.lo, "hi": fit.hi, "intercept": fit.intercept,
            "per_instance": per_instance}


def run(config: Config) -> dict:
    """Per n of the grid and per instance: the per-seed distance and KL at T, whether the S4
    bound held at every round, and the bound and the linear-Gaussian predictions at T; the
    slopes across instances and the coverage over all runs."""
    config.validate()
    per_n = [{"n": n, "instances": [_instance_run(config.simulation(n, i), config.delta)
                                    for i in range(config.instances)]}
             for n in config.grid()]
    slopes = {key: _slopes(per_n, key) for key in ("dist_T", "kl_T")}
    coverage = float(np.mean([c for row in per_n for cell in row["instances"]
                              for c in cell["covered_all_t"]]))
    return {"per_n": per_n, "slopes": slopes, "coverage": coverage}


def cells(values: dict) -> list[dict]:
    """One row per (n, instance): the mean, root mean square and 95% quantile over seeds, the
    coverage, the measured over predicted root mean square and KL, and the envelope's slack
    factors at T (:func:`srlm_core.model.bounds.slack_factors`)."""
    rows = []
    for row in values["per_n"]:
        for i, cell in enumerate(row["instances"]):
            dist = np.asarray(cell["dist_T"], float)
            factors = slack_factors(cell["bound_T"], cell["bound_trace_T"],
                                    cell["predicted_rms_T"], dist)
            rows.append({
                "n": row["n"], "instance": i, "mean": float(dist.mean()),
                "q95": float(np.quantile(dist, 0.95)),
                "coverage": float(np.mean(cell["covered_all_t"])),
                "rms_ratio": 1.0 / factors["model"],
                "kl_ratio": float(np.mean(cell["kl_T"]) / cell["predicted_kl_T"]),
                "loose_mean": cell["bound_T"] / float(dist.mean()),
                "loose_kappa": cell["bound_kappa_T"] / float(dist.mean()),
                **{key: float(value) for key, value in factors.items()},
            })
    return rows


def _geomean(x) -> float:
    return float(np.exp(np.mean(np.log(np.asarray(x, float)))))


def summarise(values: dict, config: Config) -> dict:
    r"""The chapter's numbers from the record's values and parameters (``config``).

    Rate: the slopes of :math:`\log\lVert\theta_T-\theta^\star\rVert` and :math:`\log\mathrm{KL}` on
    :math:`\log n` across instances with their intervals, whether S4's :math:`-1/2` and :math:`-1`
    lie inside, and the range of the per-instance slopes; the same over the upper half of the grid
    (from ``large_nmin``), where the first-order law should hold. Level: measured over predicted
    root mean square and KL per instance (range over n of the mean over instances; the n of the
    largest deviation). Coverage: percentage of runs below the bound at every round (all; the
    smallest per instance) and the verdict ``holds``/``fails`` against :math:`1-\delta`. Slack at T:
    the bound over the 95% quantile (range over cells), and its factors (margin, triangle, model,
    quantile) as geometric means over the (n, instance) cells, whose product is the geometric mean
    of the ratio. The sweep's parameters and its initial term :math:`e_0(1-\alpha)^T`."""
    slopes, rows = values["slopes"], cells(values)
    grid = [row["n"] for row in values["per_n"]]
    by_n = {key: np.array([np.mean([r[key] for r in rows if r["n"] == n]) for n in grid])
            for key in ("rms_ratio", "kl_ratio")}
    out = {}
    for key, predicted in (("dist_T", -0.5), ("kl_T", -1.0)):
        fit = slopes[key]
        out |= named(RATE_NAMES[key], slope=float(fit["slope"]), lo=fit["lo"], hi=fit["hi"],
                     min=float(min(fit["per_instance"])), max=float(max(fit["per_instance"])),
                     inside="inside" if fit["lo"] <= predicted <= fit["hi"] else "outside")
    large = values["per_n"][min(len(grid) // 2, len(grid) - 2):]  # at least two n
    for key, predicted in (("dist_T", -0.5), ("kl_T", -1.0)):
        fit = _slopes(large, key)
        out |= named(LARGE_RATE_NAMES[key], slope=fit["slope"], lo=fit["lo"], hi=fit["hi"],
                     inside="inside" if fit["lo"] <= predicted <= fit["hi"] else "outside")
    per_instance = [np.mean([c for row in values["per_n"] for c in row["instances"][i]
                             ["covered_all_t"]]) for i in range(config.instances)]
    coverage = 100 * values["coverage"]
    worst = int(np.argmax(np.abs(np.log(by_n["rms_ratio"]))))
    ratio = np.array([r["ratio"] for r in rows])
    factors = {SLACK_GLUE[key]: _geomean([r[key] for r in rows]) for key in FACTORS}
    return out | factors | {
        "coverage": coverage,
        "coverage_runs": sum(len(c["covered_all_t"]) for row in values["per_n"]
                             for c in row["instances"]),
        "coverage_min": float(100 * min(per_instance)),
        "coverage_verdict": "holds" if coverage >= 100 * (1 - config.delta) else "fails",
        "slack_ratio": _geomean(ratio),
        "slack_largest": SLACK_NAMES[max(FACTORS, key=lambda key: factors[SLACK_GLUE[key]])],
        "slack_product": float(np.prod(list(factors.values()))),
        "loose_q_lo": float(ratio.min()),
        "loose_q_hi": float(ratio.max()),
        "loose_mean_lo": float(min(r["loose_mean"] for r in rows)),
        "loose_mean_hi": float(max(r["loose_mean"] for r in rows)),
        "loose_kappa": float(np.median([r["loose_kappa"] for r in rows])),
        "rms_ratio_lo": float(by_n["rms_ratio"].min()),
        "rms_ratio_hi": float(by_n["rms_ratio"].max()),
        "kl_ratio_lo": float(by_n["kl_ratio"].min()),
        "kl_ratio_hi": float(by_n["kl_ratio"].max()),
        "rms_worst_n": grid[worst],
        "rms_ratio_worst": float(by_n["rms_ratio"][worst]),
        "kl_ratio_worst": float(by_n["kl_ratio"][worst]),
        "rms_ratio_worst_sq": float(by_n["rms_ratio"][worst] ** 2),
        "sw_T": config.iters,
        "sw_e0": config.init_dist,
        "sw_alpha": config.alpha,
        "sw_delta": config.delta,
        "sw_nmin": config.n_min,
        "sw_nmax": config.n_max,
        "large_nmin": large[0]["n"],
        "sw_seeds": config.seeds,
        "sw_instances": config.instances,
        "sw_initial": config.init_dist * (1 - config.alpha) ** config.iters,
        "triangle_factor": math.sqrt((2 - config.alpha) / config.alpha),
    }


def plot(values: dict):
    r"""The error at T against n (log-log).  Thin lines: each instance's mean over seeds; bold:
    the mean over instances with a 95% bootstrap band over instances; beside it the mean over
    instances of the predictions.  Left: distance, with the root-mean-square prediction, the
    95% quantile over seeds and the S4 bound.  Right: :math:`\mathrm{KL}(\pi^\star\Vert\pi_T)`
    with its second-order prediction."""
    import matplotlib.pyplot as plt

    per_n = values["per_n"]
    n = np.array([row["n"] for row in per_n])

    def per_instance(fn):  # shape (instances, n)
        return np.array([[fn(cell) for cell in row["instances"]] for row in per_n]).T

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    for ax, key, pred, label in (
        (axes[0], "dist_T", "predicted_rms_T", r"$\|\theta_T-\theta^\star\|_2$"),
        (axes[1], "kl_T", "predicted_kl_T", r"$\mathrm{KL}(\pi^\star\|\pi_T)$"),
    ):
        means = per_instance(lambda cell, key=key: np.mean(cell[key]))
        for line in means:
            ax.plot(n, line, color="C0", lw=0.6, alpha=0.35)
        bands = [bootstrap_interval(column) for column in means.T]
        ax.plot(n, [b.mean for b in bands], marker="o", color="C0",
                label="measured (mean; thin: instances)")
        ax.fill_between(n, [b.lo for b in bands], [b.hi for b in bands], color="C0", alpha=0.2)
        ax.plot(n, per_instance(lambda cell, pred=pred: cell[pred]).mean(axis=0), ls="--",
                color="gray", label="predicted")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("pairs per round $n$")
        ax.set_ylabel(label)
    axes[0].plot(n, per_instance(lambda cell: cell["bound_T"]).mean(axis=0), ls=":", color="C3",
                 label="S4 envelope")
    axes[0].plot(n, per_instance(lambda cell: np.quantile(cell["dist_T"], 0.95)).mean(axis=0),
                 ls="-.", color="C2", label="measured 95% quantile")
    axes[0].legend(fontsize=8)
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig
