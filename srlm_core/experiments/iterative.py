"""S4 experiment: the error after many self-rewarding iterations against the sample size n.

For each n of a doubling grid, ``seeds`` independent runs of ``iters`` rounds (fixed
reference, lambda = 0) from the same initial model; T is large enough that (1 - alpha)^T e_0
is far below the statistical floor, so the error at T is the floor.  Stored per n: the
per-seed ||theta_T - theta*|| and KL(pi* || pi_T), whether the S4 bound
(:func:`srlm_core.model.bounds.iterative_bound`) held at every t <= T, and the bound and the
linear-Gaussian predictions at T; and the fitted slopes of log error against log n (S4
predicts -1/2 for the distance and -1 for the KL) and the coverage.  :func:`summarise` and
:func:`plot` turn a record's values into the chapter's numbers and figure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from srlm_core.errors import require_at_least
from srlm_core.experiments import doubling_grid
from srlm_core.model import metrics
from srlm_core.model.bounds import iterative_bound, validate_delta
from srlm_core.model.self_rewarding import SelfRewardingRunner, SimulationConfig
from srlm_core.stats import fit_slope

TITLE = "S4: error at large T against n per iteration, and coverage of the iterative bound"
TOLERANCE = {"rtol": 1e-6, "atol": 1e-9}


@dataclass(frozen=True)
class Config:
    """n runs over ``n_min * 2**j`` up to ``n_max``."""

    alpha: float = 0.5
    n_min: int = 250
    n_max: int = 16000
    iters: int = 10
    init_dist: float = 2.0
    d: int = 8
    K: int = 8
    contexts: int = 32
    seeds: int = 64
    delta: float = 0.05
    seed: int = 0
    device: str = "cpu"

    def grid(self) -> list[int]:
        """The doubling grid ``n_min, 2 n_min, ...`` up to ``n_max``."""
        return doubling_grid(self.n_min, self.n_max)

    def simulation(self, n: int) -> SimulationConfig:
        return SimulationConfig.taking(self, n=n)

    def validate(self) -> Config:
        require_at_least(self, 1, "n_min")
        require_at_least(self, self.n_min, "n_max")
        validate_delta(self.delta)
        self.simulation(self.n_min).validate()
        return self


def run(config: Config) -> dict:
    """Per n of the grid: the per-seed distance and KL at T, whether the S4 bound held at
    every round, and the bound and the linear-Gaussian predictions at T."""
    per_n = []
    for n in config.grid():
        sim = config.simulation(n)
        result = SelfRewardingRunner(sim).run()
        dist = metrics.param_distance(result.problem, result.thetas).cpu().numpy()  # (T+1, S)
        kl = metrics.kl_target_to_policy(result.problem, result.thetas).cpu().numpy()
        frame = iterative_bound(replace(sim, device="cpu"), delta=config.delta).frame
        bound = frame["bound"].to_numpy()
        per_n.append(
            {
                "n": n,
                "dist_T": dist[-1].tolist(),
                "kl_T": kl[-1].tolist(),
                "covered_all_t": (dist <= bound[:, None]).all(axis=0).tolist(),
                "bound_T": float(bound[-1]),
                "bound_uniform_T": float(frame["bound_uniform"].iloc[-1]),
                "bound_kappa_T": float(frame["bound_kappa"].iloc[-1]),
                "predicted_rms_T": float(frame["predicted_rms"].iloc[-1]),
                "predicted_kl_T": float(frame["predicted_kl"].iloc[-1]),
                "population_dist_T": float(frame["population_dist"].iloc[-1]),
            }
        )
    slopes = {}
    for key in ("dist_T", "kl_T"):
        x = np.concatenate([np.full(config.seeds, np.log(row["n"])) for row in per_n])
        y = np.log(np.concatenate([row[key] for row in per_n]))
        fit = fit_slope(x, y)
        slopes[key] = {"slope": fit.slope, "lo": fit.lo, "hi": fit.hi, "intercept": fit.intercept}
    coverage = float(np.mean([c for row in per_n for c in row["covered_all_t"]]))
    return {"per_n": per_n, "slopes": slopes, "coverage": coverage}


def _per_n_summary(values: dict) -> dict[str, np.ndarray]:
    """Per n: the mean and 95% quantile over seeds of the error at T, the coverage, and the
    measured over predicted root mean square and KL."""
    per_n = values["per_n"]
    return {
        "n": np.array([row["n"] for row in per_n]),
        "mean": np.array([np.mean(row["dist_T"]) for row in per_n]),
        "q95": np.array([np.quantile(row["dist_T"], 0.95) for row in per_n]),
        "coverage": np.array([np.mean(row["covered_all_t"]) for row in per_n]),
        "rms_ratio": np.array([np.sqrt(np.mean(np.square(row["dist_T"]))) / row["predicted_rms_T"]
                               for row in per_n]),
        "kl_ratio": np.array([np.mean(row["kl_T"]) / row["predicted_kl_T"] for row in per_n]),
    }


def summarise(values: dict, config: Config) -> dict:
    r"""The chapter's numbers from the record's values and parameters (``config``).

    Rate: the fitted slopes of :math:`\log\lVert\theta_T-\theta^\star\rVert` and
    :math:`\log\mathrm{KL}` on :math:`\log n` with their intervals, and whether S4's
    :math:`-1/2` and :math:`-1` lie inside.  Level: measured over predicted root mean square
    and KL (range over n, and at the smallest n).  Coverage: the percentage of runs below the
    bound at every round (all, and the smallest per n).  Looseness: the bound at T over the 95%
    quantile and over the mean error, the condition-number form over the mean error (median
    over n), and the triangle inequality's share :math:`\sqrt{(2-\alpha)/\alpha}`.  The sweep's
    parameters and its initial term :math:`e_0(1-\alpha)^T`."""
    per_n, slopes = values["per_n"], values["slopes"]
    summary = _per_n_summary(values)
    bound_T = np.array([row["bound_T"] for row in per_n])
    loose_q, loose_mean = bound_T / summary["q95"], bound_T / summary["mean"]
    loose_kappa = np.array([row["bound_kappa_T"] for row in per_n]) / summary["mean"]
    out = {}
    for key, name, predicted in (("dist_T", "dist", -0.5), ("kl_T", "kl", -1.0)):
        fit = slopes[key]
        out |= {f"slope_{name}": float(fit["slope"]), f"slope_{name}_lo": fit["lo"],
                f"slope_{name}_hi": fit["hi"],
                f"{name}_inside": "inside" if fit["lo"] <= predicted <= fit["hi"] else "outside"}
    rms_ratio, kl_ratio = summary["rms_ratio"], summary["kl_ratio"]
    return out | {
        "coverage": 100 * values["coverage"],
        "coverage_runs": sum(len(row["covered_all_t"]) for row in per_n),
        "coverage_min": float(100 * summary["coverage"].min()),
        "loose_q_lo": float(loose_q.min()),
        "loose_q_hi": float(loose_q.max()),
        "loose_mean_lo": float(loose_mean.min()),
        "loose_mean_hi": float(loose_mean.max()),
        "loose_kappa": float(np.median(loose_kappa)),
        "rms_ratio_lo": float(rms_ratio.min()),
        "rms_ratio_hi": float(rms_ratio.max()),
        "kl_ratio_lo": float(kl_ratio.min()),
        "kl_ratio_hi": float(kl_ratio.max()),
        "sw_T": config.iters,
        "sw_e0": config.init_dist,
        "sw_alpha": config.alpha,
        "sw_nmin": config.n_min,
        "sw_nmax": config.n_max,
        "sw_seeds": config.seeds,
        "sw_initial": config.init_dist * (1 - config.alpha) ** config.iters,
        "triangle_factor": math.sqrt((2 - config.alpha) / config.alpha),
        "kl_ratio_small_n": float(kl_ratio[0]),
        "rms_ratio_small_n": float(rms_ratio[0]),
        "rms_ratio_small_n_sq": float(rms_ratio[0] ** 2),
    }


def plot(values: dict):
    r"""The error at T against n (log-log; mean over seeds with 95% bootstrap bands) beside its
    predictions.  Left: distance, with the root-mean-square prediction, the 95% quantile over
    seeds and the S4 bound.  Right: :math:`\mathrm{KL}(\pi^\star\Vert\pi_T)` with its
    second-order prediction."""
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    per_n = values["per_n"]
    sweep = pd.DataFrame([{"n": row["n"], "dist": d, "kl": k}
                          for row in per_n for d, k in zip(row["dist_T"], row["kl_T"])])
    summary = _per_n_summary(values)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    for ax, column, pred, label in (
        (axes[0], "dist", "predicted_rms_T", r"$\|\theta_T-\theta^\star\|_2$"),
        (axes[1], "kl", "predicted_kl_T", r"$\mathrm{KL}(\pi^\star\|\pi_T)$"),
    ):
        sns.lineplot(data=sweep, x="n", y=column, marker="o", errorbar=("ci", 95), n_boot=1000,
                     seed=0, ax=ax, label="measured (mean)")
        ax.plot(summary["n"], [row[pred] for row in per_n], ls="--", color="gray",
                label="predicted")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("pairs per round $n$")
        ax.set_ylabel(label)
    axes[0].plot(summary["n"], [row["bound_T"] for row in per_n], ls=":", color="C3",
                 label=r"S4 bound, $\delta=0.05$")
    axes[0].plot(summary["n"], summary["q95"], ls="-.", color="C2",
                 label="measured 95% quantile")
    axes[0].legend(fontsize=8)
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig
