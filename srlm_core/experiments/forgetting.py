r"""S4: four initial models - decay slopes, common floor, coverage of the bound, burn-in time.

Runs of ``iters`` self-rewarding rounds (fixed reference, :math:`\lambda = 0`) with ``n`` pairs
per round from initial models at distances :math:`e_0` in ``starts``, on ``instances`` random
problems (features, :math:`w^\star` and the initial direction drawn with seed
``seed + instance``; the instance is the unit of independence, ``seeds`` runs each).  S4
predicts that the initial term decays like :math:`(1-\alpha)^t e_0`, i.e. slope
:math:`\log(1-\alpha)` of :math:`\log e_t` against :math:`t`, until the error settles on a
noise floor of order :math:`1/\sqrt n` that does not depend on :math:`e_0`; and that the error
stays below the S4 envelope (:func:`srlm_core.model.bounds.iterative_bound`) at every round
with probability at least :math:`1-\delta`.  That the floor does not depend on the start is
tested as an equivalence (:func:`srlm_core.stats.equivalence_test`), not read off a null.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from srlm_core.errors import ConfigError, require_at_least
from srlm_core.model import metrics
from srlm_core.model.bounds import iterative_bound, validate_delta
from srlm_core.model.policy import ProblemConfig
from srlm_core.model.self_rewarding import SelfRewardingRunner, SimulationConfig
from srlm_core.options import nested, option
from srlm_core.stats import (
    bootstrap_interval,
    equivalence_test,
    fit_line,
    fit_log_decay,
    minimum_detectable_difference,
)
from srlm_core.theory import iterative_bound as s4


@dataclass(frozen=True)
class Config:
    """One simulation per start :math:`e_0` and instance (``n = 0``: the population update);
    ``margin``: the decay phase is the rounds whose mean error stays above ``margin`` times the
    predicted noise floor; ``equivalence``: the relative difference of the final mean errors
    within which the starts count as meeting on one floor."""

    alpha: float = option(0.3, "signal share alpha")
    n: int = option(4000, "pairs per round (0: the population update)")
    iters: int = option(10, "rounds per run")
    starts: tuple[float, ...] = option((0.5, 1.0, 2.0, 4.0), "initial distances e_0 to the target")
    instances: int = option(8, "random problems (the unit of independence)")
    seeds: int = option(16, "runs per instance")
    problem: ProblemConfig = nested(ProblemConfig(),
                                   "the random problems (instance i: seed + i)")
    delta: float = option(0.05, "failure probability of the S4 envelope")
    margin: float = option(4.0,
                           "the decay phase is the rounds whose mean error stays above this many "
                           "predicted floors")
    equivalence: float = option(0.1,
                                "relative difference of the final mean errors within which the "
                                "starts share one floor")

    def simulation(self, init_dist: float, instance: int = 0) -> SimulationConfig:
        """The :class:`srlm_core.model.self_rewarding.SimulationConfig` of one start on one
        instance (problem seed ``seed + instance``)."""
        return SimulationConfig.on(self.problem.instance(instance), alpha=self.alpha, n=self.n,
                                   iters=self.iters, init_dist=init_dist, seeds=self.seeds)

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        if not 0.0 < self.alpha < 1.0:
            raise ConfigError("alpha", f"must be in (0, 1) (a decay to fit), got {self.alpha}")
        require_at_least(self, 1, "iters", "seeds")
        require_at_least(self, 2, "instances")
        require_at_least(self, 0, "n")
        self.problem.validate()
        if not self.starts or min(self.starts) < 0.0:
            raise ConfigError("starts", f"must be non-empty and non-negative, got {self.starts}")
        if self.margin <= 0.0:
            raise ConfigError("margin", f"must be positive, got {self.margin}")
        if not self.equivalence > 0.0:
            raise ConfigError("equivalence", f"must be positive, got {self.equivalence}")
        validate_delta(self.delta)
        return self


def run(config: Config) -> dict:
    r"""Per start and instance: :math:`\lVert\theta_t-\theta^\star\rVert` and
    :math:`\mathrm{KL}(\pi^\star\Vert\pi_t)` per round and seed (lists of shape
    (instances, T+1, seeds)), and along each instance's noiseless trajectory the S4 bound, the
    linear-Gaussian root mean square, the per-round noise bound :math:`\varepsilon_t` and the
    feature condition number :math:`\kappa_\Sigma(\bar\pi_t)` (shape (instances, T+1)), and
    the predicted noise floor at T (per instance)."""
    config.validate()
    starts = []
    for e0 in config.starts:
        runs = {key: [] for key in ("dist", "kl", "bound", "predicted_rms", "eps",
                                    "kappa_sigma", "noise_floor")}
        for instance in range(config.instances):
            sim = config.simulation(e0, instance)
            result = SelfRewardingRunner(sim).run()
            bound = iterative_bound(sim, delta=config.delta)
            frame = bound.frame
            runs["dist"].append(
                metrics.param_distance(result.problem, result.thetas).cpu().numpy().tolist())
            runs["kl"].append(
                metrics.kl_target_to_policy(result.problem, result.thetas).cpu().numpy().tolist())
            for key in ("bound", "predicted_rms", "eps", "kappa_sigma"):
                runs[key].append(frame[key].tolist())
            runs["noise_floor"].append(bound.noise_floor())
        starts.append({"e0": e0, **runs})
    return {"alpha": config.alpha, "n": config.n, "iters": config.iters,
            "instances": config.instances, "seeds": config.seeds, "delta": config.delta,
            "margin": config.margin, "equivalence": config.equivalence, "starts": starts}


@functools.cache
def _burn_in_stated():
    return s4.burn_in().stated  # SymPy: solved once per process


def _floor(values: dict) -> float:
    """The predicted noise floor, averaged over instances."""
    return float(np.mean(values["starts"][0]["noise_floor"]))


def _fits(values: dict) -> dict:
    """The fitted decay (:func:`srlm_core.stats.fit_log_decay`, units: the instances) per
    start that has one: a start already within ``margin`` noise floors of the target has no
    decay phase to fit."""
    floor = _floor(values)
    fits = {}
    for start in values["starts"]:
        dist = np.asarray(start["dist"], float)  # (instances, T+1, seeds)
        units_n, T1, S = dist.shape
        t = np.tile(np.repeat(np.arange(T1), S), units_n)
        units = np.repeat(np.arange(units_n), T1 * S)
        try:
            fits[start["e0"]] = fit_log_decay(t, dist.ravel(), floor=floor, units=units,
                                              margin=values["margin"])
        except ValueError:
            pass
    return fits


def slope_rows(values: dict) -> list[dict]:
    r"""Per fitted start: the slope of :math:`\log e_t` on :math:`t` over the decay phase
    (fitted per instance, mean over instances), its 95% interval across instances, the S4
    prediction :math:`\log(1-\alpha)` and whether it lies inside."""
    predicted = math.log(1 - values["alpha"])
    return [{"e_0": e0, "slope": fit.slope, "95% interval": f"[{fit.lo:.3f}, {fit.hi:.3f}]",
             "log(1-alpha)": predicted,
             "prediction": "inside" if fit.lo <= predicted <= fit.hi else "outside"}
            for e0, fit in _fits(values).items()]


def slope_table(values: dict):
    """:func:`slope_rows` as a styled table (three decimals, no index)."""
    return pd.DataFrame(slope_rows(values)).style.format(precision=3).hide(axis="index")


def final_equivalence(values: dict) -> list[dict]:
    r"""Per start after the first: the log ratio of its final mean error to the first start's,
    one per instance (seeds averaged first), tested for equivalence within
    :math:`\pm\log(1+\text{equivalence})` (:func:`srlm_core.stats.equivalence_test`), with
    the smallest relative difference the design detects at 80% power
    (:func:`srlm_core.stats.minimum_detectable_difference`)."""
    finals = [np.asarray(s["dist"], float)[:, -1].mean(axis=1) for s in values["starts"]]
    margin = math.log(1 + values["equivalence"])
    rows = []
    for start, final in zip(values["starts"][1:], finals[1:], strict=True):
        ratio = np.log(final / finals[0])
        test = equivalence_test(ratio, margin)
        mdd = minimum_detectable_difference(float(ratio.std(ddof=1)), ratio.size)
        rows.append({"e0": start["e0"], "difference": math.expm1(float(ratio.mean())),
                     "p": test.p_value, "equivalent": test.equivalent,
                     "detectable": math.expm1(mdd)})
    return rows


def summarise(values: dict) -> dict:
    r"""The chapter's numbers.

    Decay: the predicted slope, how many fitted intervals (across instances) contain it, the
    starts with no decay phase, the start whose interval misses the prediction by the most, else
    the farthest from it (its role in words, its slope, the gap, ``shallower`` or ``steeper``)
    and the slope of the linear-Gaussian root mean square over
    the same rounds (``inside`` or ``outside`` that start's interval).
    Coverage: the percentage of runs below the S4 envelope at every round,
    and the envelope at T over the mean error (against the triangle inequality's share
    :math:`\sqrt{(2-\alpha)/\alpha}`).  Common floor: the range of the starts' mean errors at
    T, the predicted floor, and the equivalence of the final errors to the first start's
    (:func:`final_equivalence`: the verdict, the largest p-value, the largest relative
    difference and the largest detectable one; the largest start's predicted excess, its
    root-mean-square prediction over the first start's).  Burn-in (largest start, instance
    means): :math:`T^\star=\log(\alpha e_0/\varepsilon)/\log\frac1{1-\alpha}` with the
    bound's largest :math:`\varepsilon_t`, the same with :math:`\varepsilon/\alpha` := the
    predicted floor, and the first round whose mean error is within :math:`\sqrt2` of the
    measured floor.  The run's parameters."""
    alpha, T, starts = values["alpha"], values["iters"], values["starts"]
    floor = _floor(values)
    predicted = math.log(1 - alpha)
    fits = _fits(values)
    dist = {s["e0"]: np.asarray(s["dist"], float) for s in starts}  # (instances, T+1, seeds)
    covered = [(dist[s["e0"]] <= np.asarray(s["bound"])[:, :, None]).all(axis=1) for s in starts]
    final_means = [float(dist[s["e0"]][:, -1].mean()) for s in starts]
    floor_measured = float(np.mean(final_means))
    bound_T = np.mean([np.asarray(s["bound"])[:, -1] for s in starts])
    largest = max(starts, key=lambda s: s["e0"])
    eps = np.asarray(largest["eps"], float).mean(axis=0)
    stated = _burn_in_stated()
    at = {s4.alpha: alpha, s4.e0: largest["e0"]}
    mean_largest = dist[largest["e0"]].mean(axis=(0, 2))
    crossed = np.flatnonzero(mean_largest <= math.sqrt(2) * floor_measured)
    equivalence = final_equivalence(values)
    # the start whose interval misses the prediction by the most (else the farthest one)
    worst = max(fits, key=lambda e0: (not fits[e0].lo <= predicted <= fits[e0].hi,
                                      abs(fits[e0].slope - predicted))) if fits else None
    if worst is not None:  # the linear-Gaussian root mean square over the same rounds
        start = next(s for s in starts if s["e0"] == worst)
        mean = dist[worst].mean(axis=(0, 2))
        phase = np.flatnonzero(mean > values["margin"] * floor)
        rms = np.asarray(start["predicted_rms"], float).mean(axis=0)
        rms_slope = fit_line(phase, np.log(rms[phase])).slope
    all_equivalent = all(row["equivalent"] for row in equivalence)
    return {
        "alpha_decay": alpha,
        "n_decay": values["n"],
        "instances_decay": values["instances"],
        "seeds_decay": values["seeds"],
        "starts_decay": ", ".join(f"{s['e0']:g}" for s in starts),
        "margin_decay": values["margin"],
        "pred_slope": float(predicted),
        "n_fitted": len(fits),
        "n_inside": sum(f.lo <= predicted <= f.hi for f in fits.values()),
        "unfitted": ", ".join(f"{s['e0']:g}" for s in starts if s["e0"] not in fits) or "none",
        "cover_decay": float(100 * np.mean(np.concatenate([c.ravel() for c in covered]))),
        "cover_decay_runs": int(sum(c.size for c in covered)),
        "loose_decay": float(bound_T / floor_measured),
        "triangle_decay": math.sqrt((2 - alpha) / alpha),
        "final_lo": float(min(final_means)),
        "final_hi": float(max(final_means)),
        "floor_pred": floor,
        "T_decay": T,
        "equiv_margin": 100 * values["equivalence"],
        "equiv_verdict": ("equivalent" if all_equivalent else "not shown equivalent"),
        "equiv_p": max(row["p"] for row in equivalence) if equivalence else None,
        "equiv_diff": 100 * max(abs(row["difference"]) for row in equivalence)
        if equivalence else None,
        "equiv_detectable": 100 * max(row["detectable"] for row in equivalence)
        if equivalence else None,
        "t_star_e4": float(stated.subs({**at, s4.eps: float(eps[1:].max())})),
        "t_star_mean": float(stated.subs({**at, s4.eps: alpha * floor})),
        "t_cross_measured": int(crossed[0]) if crossed.size else None,
        "eps_first": float(eps[1]),
        "eps_last": float(eps[-1]),
        "kappa_first": float(np.mean(np.asarray(largest["kappa_sigma"])[:, 0])),
        "e0_largest": largest["e0"],
        "slope_worst_e0": worst,
        "slope_worst_role": (None if not fits else "farthest from the prediction"
                             if fits[worst].lo <= predicted <= fits[worst].hi
                             else "whose interval misses the prediction by the most"),
        "slope_worst": fits[worst].slope if fits else None,
        "slope_gap": abs(fits[worst].slope - predicted) if fits else None,
        "slope_direction": (None if not fits else
                            "shallower" if fits[worst].slope > predicted else "steeper"),
        "slope_rms_pred": rms_slope if fits else None,
        "slope_rms_inside": (None if not fits else "inside" if fits[worst].lo <= rms_slope
                             <= fits[worst].hi else "outside"),
        "equiv_pred_diff": 100 * float(np.mean(
            np.asarray(largest["predicted_rms"])[:, -1]
            / np.asarray(starts[0]["predicted_rms"])[:, -1]) - 1),
    }


def plot(values: dict):
    r"""Left: per start, the mean distance per round over all runs (bold; band: 95% bootstrap
    over instances of the instance means; thin lines: the instances), the linear-Gaussian root
    mean square (dashed) and the S4 envelope (dotted), both averaged over instances; log scale.
    Right: :math:`\kappa_\Sigma(\bar\pi_t)-1` along each instance's noiseless trajectory (thin)
    and their mean (S3)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    starts = values["starts"]
    rounds = np.arange(values["iters"] + 1)
    palette = dict(zip([s["e0"] for s in starts], sns.color_palette("viridis", len(starts))))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    ax = axes[0]
    for s in starts:
        color = palette[s["e0"]]
        means = np.asarray(s["dist"], float).mean(axis=2)  # (instances, T+1)
        for line in means:
            ax.plot(rounds, line, color=color, lw=0.5, alpha=0.3)
        bands = [bootstrap_interval(column) for column in means.T]
        ax.plot(rounds, [b.mean for b in bands], marker="o", color=color, label=f"{s['e0']:g}")
        ax.fill_between(rounds, [b.lo for b in bands], [b.hi for b in bands], color=color,
                        alpha=0.2)
        ax.plot(rounds, np.mean(s["predicted_rms"], axis=0), ls="--", lw=1, color=color)
        ax.plot(rounds, np.mean(s["bound"], axis=0), ls=":", lw=1.2, color=color)
    ax.set_yscale("log")
    ax.set_xlabel("iteration $t$")
    ax.set_ylabel(r"$\|\theta_t-\theta^\star\|_2$")
    ax.legend(title="$e_0$", fontsize=8)
    ax = axes[1]
    for s in starts:
        kappa = np.asarray(s["kappa_sigma"], float) - 1
        for line in kappa:
            ax.plot(rounds, line, color=palette[s["e0"]], lw=0.5, alpha=0.3)
        ax.plot(rounds, kappa.mean(axis=0), marker="o", color=palette[s["e0"]],
                label=f"{s['e0']:g}")
    ax.set_yscale("log")
    ax.set_xlabel("iteration $t$")
    ax.set_ylabel(r"$\kappa_\Sigma(\bar\pi_t) - 1$")
    ax.legend(title="$e_0$", fontsize=8)
    fig.tight_layout()
    return fig
