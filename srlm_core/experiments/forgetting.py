r"""S4: four initial models - decay slopes, common floor, coverage of the bound, burn-in time.

Runs of ``iters`` self-rewarding rounds (fixed reference, :math:`\lambda = 0`) with ``n`` pairs
per round from initial models at distances :math:`e_0` in ``starts``.  S4 predicts that the
initial term decays like :math:`(1-\alpha)^t e_0`, i.e. slope :math:`\log(1-\alpha)` of
:math:`\log e_t` against :math:`t`, until the error settles on a noise floor of order
:math:`1/\sqrt n` that does not depend on :math:`e_0`; and that the error stays below the S4
bound (:func:`srlm_core.model.bounds.iterative_bound`) at every round with probability at least
:math:`1-\delta`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from srlm_core.errors import ConfigError, require_at_least
from srlm_core.model import metrics
from srlm_core.model.bounds import iterative_bound, validate_delta
from srlm_core.model.self_rewarding import SelfRewardingRunner, SimulationConfig
from srlm_core.stats import fit_log_decay, mean_interval
from srlm_core.theory import iterative_bound as s4


@dataclass(frozen=True)
class Config:
    """One simulation per start :math:`e_0` (``n = 0``: the population update); ``margin``: the
    decay phase is the rounds whose mean error stays above ``margin`` times the predicted noise
    floor."""

    alpha: float = 0.3
    n: int = 4000
    iters: int = 10
    starts: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)
    seeds: int = 16
    seed: int = 0
    delta: float = 0.05
    margin: float = 4.0

    def simulation(self, init_dist: float) -> SimulationConfig:
        """The :class:`srlm_core.model.self_rewarding.SimulationConfig` of one start."""
        return SimulationConfig.taking(self, init_dist=init_dist)

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        if not 0.0 < self.alpha < 1.0:
            raise ConfigError("alpha", f"must be in (0, 1) (a decay to fit), got {self.alpha}")
        require_at_least(self, 1, "iters", "seeds")
        require_at_least(self, 0, "n", "seed")
        if not self.starts or min(self.starts) < 0.0:
            raise ConfigError("starts", f"must be non-empty and non-negative, got {self.starts}")
        if self.margin <= 0.0:
            raise ConfigError("margin", f"must be positive, got {self.margin}")
        validate_delta(self.delta)
        return self


def run(config: Config) -> dict:
    r"""Per start: :math:`\lVert\theta_t-\theta^\star\rVert` and
    :math:`\mathrm{KL}(\pi^\star\Vert\pi_t)` per round and seed (lists of shape
    (T+1, seeds)), and along the noiseless trajectory the S4 bound, the linear-Gaussian root
    mean square, the per-round noise bound :math:`\varepsilon_t`, the feature condition number
    :math:`\kappa_\Sigma(\bar\pi_t)` and the predicted noise floor at T."""
    config.validate()
    starts = []
    for e0 in config.starts:
        sim = config.simulation(e0)
        result = SelfRewardingRunner(sim).run()
        bound = iterative_bound(sim, delta=config.delta)
        frame = bound.frame
        starts.append({
            "e0": e0,
            "dist": metrics.param_distance(result.problem, result.thetas).cpu().numpy().tolist(),
            "kl": metrics.kl_target_to_policy(result.problem, result.thetas).cpu().numpy().tolist(),
            "bound": frame["bound"].tolist(),
            "predicted_rms": frame["predicted_rms"].tolist(),
            "eps": frame["eps"].tolist(),
            "kappa_sigma": frame["kappa_sigma"].tolist(),
            "noise_floor": bound.noise_floor(),
        })
    return {"alpha": config.alpha, "n": config.n, "iters": config.iters, "seeds": config.seeds,
            "delta": config.delta, "margin": config.margin, "starts": starts}


@functools.cache
def _burn_in_stated():
    return s4.burn_in().stated  # SymPy: solved once per process


def _fits(values: dict) -> dict:
    """The fitted decay (:func:`srlm_core.stats.fit_log_decay`) per start that has one: a start
    already within ``margin`` noise floors of the target has no decay phase to fit."""
    floor = values["starts"][0]["noise_floor"]
    fits = {}
    for start in values["starts"]:
        dist = np.asarray(start["dist"], float)  # (T+1, seeds): t-major when flattened
        t = np.repeat(np.arange(dist.shape[0]), dist.shape[1])
        try:
            seeds = np.tile(np.arange(dist.shape[1]), dist.shape[0])
            fits[start["e0"]] = fit_log_decay(t, dist.ravel(), floor=floor, units=seeds,
                                              margin=values["margin"])
        except ValueError:
            pass
    return fits


def slope_rows(values: dict) -> list[dict]:
    r"""Per fitted start: the slope of :math:`\log e_t` on :math:`t` over the decay phase, its
    95% interval, the S4 prediction :math:`\log(1-\alpha)` and whether it lies inside."""
    predicted = math.log(1 - values["alpha"])
    return [{"e_0": e0, "slope": fit.slope, "95% interval": f"[{fit.lo:.3f}, {fit.hi:.3f}]",
             "log(1-alpha)": predicted,
             "prediction": "inside" if fit.lo <= predicted <= fit.hi else "outside"}
            for e0, fit in _fits(values).items()]


def slope_table(values: dict):
    """:func:`slope_rows` as a styled table (three decimals, no index)."""
    return pd.DataFrame(slope_rows(values)).style.format(precision=3).hide(axis="index")


def summarise(values: dict) -> dict:
    r"""The chapter's numbers.  Decay: the predicted slope, how many fitted intervals contain it,
    the starts with no decay phase.  Coverage: the percentage of runs below the S4 bound at
    every round, and the bound at T over the mean error (against the triangle inequality's
    share :math:`\sqrt{(2-\alpha)/\alpha}`).  Common floor: the range of the starts' mean
    errors at T, the predicted floor (first start) and a one-way ANOVA p-value across starts.
    Burn-in (largest start): :math:`T^\star=\log(\alpha e_0/\varepsilon)/\log\frac1{1-\alpha}`
    with the bound's largest :math:`\varepsilon_t`, the same with
    :math:`\varepsilon/\alpha` := the predicted floor, and the first round whose mean error is
    within :math:`\sqrt2` of the measured floor."""
    alpha, T, starts = values["alpha"], values["iters"], values["starts"]
    floor = starts[0]["noise_floor"]
    predicted = math.log(1 - alpha)
    fits = _fits(values)
    dist = {s["e0"]: np.asarray(s["dist"], float) for s in starts}
    covered = [(dist[s["e0"]] <= np.asarray(s["bound"])[:, None]).all(axis=0) for s in starts]
    final = [dist[s["e0"]][-1] for s in starts]
    floor_measured = float(np.mean(np.concatenate(final)))
    bound_T = np.mean([s["bound"][-1] for s in starts])
    final_means = [mean_interval(f).mean for f in final]
    largest = max(starts, key=lambda s: s["e0"])
    stated = _burn_in_stated()
    at = {s4.alpha: alpha, s4.e0: largest["e0"]}
    mean_largest = dist[largest["e0"]].mean(axis=1)
    crossed = np.flatnonzero(mean_largest <= math.sqrt(2) * floor_measured)
    return {
        "alpha_decay": alpha,
        "n_decay": values["n"],
        "pred_slope": float(predicted),
        "n_fitted": len(fits),
        "n_inside": sum(f.lo <= predicted <= f.hi for f in fits.values()),
        "unfitted": ", ".join(f"{s['e0']:g}" for s in starts if s["e0"] not in fits) or "none",
        "cover_decay": float(100 * np.mean(np.concatenate(covered))),
        "cover_decay_runs": int(sum(len(c) for c in covered)),
        "loose_decay": float(bound_T / floor_measured),
        "triangle_decay": math.sqrt((2 - alpha) / alpha),
        "final_lo": float(min(final_means)),
        "final_hi": float(max(final_means)),
        "floor_pred": float(floor),
        "T_decay": T,
        "final_anova_p": float(sps.f_oneway(*final).pvalue),
        "t_star_e4": float(stated.subs({**at, s4.eps: max(largest["eps"][1:])})),
        "t_star_mean": float(stated.subs({**at, s4.eps: alpha * floor})),
        "t_cross_measured": int(crossed[0]) if crossed.size else None,
        "eps_first": float(largest["eps"][1]),
        "eps_last": float(largest["eps"][-1]),
        "kappa_first": float(largest["kappa_sigma"][0]),
    }


def plot(values: dict):
    r"""Left: mean distance per round and start (95% bootstrap band), the linear-Gaussian root
    mean square (dashed) and the S4 bound (dotted), log scale.  Right:
    :math:`\kappa_\Sigma(\bar\pi_t)-1` along the noiseless trajectory (S3)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    starts = values["starts"]
    runs = pd.DataFrame([{"e0": s["e0"], "t": t, "dist": d}
                         for s in starts for t, row in enumerate(s["dist"]) for d in row])
    rounds = np.arange(values["iters"] + 1)
    palette = dict(zip([s["e0"] for s in starts], sns.color_palette("viridis", len(starts))))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    ax = axes[0]
    sns.lineplot(data=runs, x="t", y="dist", hue="e0", palette=palette, marker="o",
                 errorbar=("ci", 95), n_boot=1000, seed=0, ax=ax)
    for s in starts:
        ax.plot(rounds, s["predicted_rms"], ls="--", lw=1, color=palette[s["e0"]])
        ax.plot(rounds, s["bound"], ls=":", lw=1.2, color=palette[s["e0"]])
    ax.set_yscale("log")
    ax.set_xlabel("iteration $t$")
    ax.set_ylabel(r"$\|\theta_t-\theta^\star\|_2$")
    ax.legend(title="$e_0$", fontsize=8)
    ax = axes[1]
    for s in starts:
        ax.plot(rounds, np.asarray(s["kappa_sigma"]) - 1, marker="o", color=palette[s["e0"]],
                label=f"{s['e0']:g}")
    ax.set_yscale("log")
    ax.set_xlabel("iteration $t$")
    ax.set_ylabel(r"$\kappa_\Sigma(\bar\pi_t) - 1$")
    ax.legend(title="$e_0$", fontsize=8)
    fig.tight_layout()
    return fig
