r"""S1 with finite samples: the error contracts by 1 - alpha per round, down to a floor.

For each signal share :math:`\alpha` the self-rewarding iteration
(:class:`srlm_core.model.self_rewarding.SelfRewardingRunner`, fixed reference) runs on
``instances`` random problems (features, :math:`w^\star` and the direction of
:math:`\theta_0` drawn with seed ``seed + i``), ``seeds`` times each, with ``n`` fresh pairs per
round from distance :math:`e_0` to the target.  S1 predicts in the population
:math:`e_t = e_0(1-\alpha)^t` in every problem, a line of slope :math:`\log(1-\alpha)` in
:math:`\log e_t`.  The *floor* of an instance is the mean error of the same procedure started
at the target (:math:`e_0 = 0`): what finite samples alone leave.  The slope is fitted within
each instance (the mean of :math:`\log e_t` over its seeds) over the rounds whose mean error
stays above ``floor_margin`` times the mean floor, and summarised across instances, the unit
of independence (:func:`srlm_core.stats.fit_log_decay`).  Beside the error, the consistency
residual (:func:`srlm_core.model.metrics.consistency_residual`), zero exactly at the fixed
point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from srlm_core.errors import require_at_least, require_positive, require_shares
from srlm_core.experiments import named
from srlm_core.model import metrics
from srlm_core.model.policy import ProblemConfig
from srlm_core.model.self_rewarding import SelfRewardingRunner, SimulationConfig
from srlm_core.options import nested, option
from srlm_core.stats import fit_log_decay, unit_slopes

#: bootstrap resamples of the 95% bands in the figures
N_BOOT = 2000
#: The glue names of each signal share: the fitted slope and its interval, the prediction,
#: the verdict, the floor, and the consistency ratio and its trend.
ARM_NAMES = {
    0.25: {"slope": "slope_a25", "lo": "slope_a25_lo", "hi": "slope_a25_hi", "pred": "pred_a25",
           "inside": "inside_a25", "floor": "floor_a25", "cons_ratio": "cons_ratio_a25",
           "cons_trend": "cons_trend_a25"},
    0.5: {"slope": "slope_a50", "lo": "slope_a50_lo", "hi": "slope_a50_hi", "pred": "pred_a50",
          "inside": "inside_a50", "floor": "floor_a50", "cons_ratio": "cons_ratio_a50",
          "cons_trend": "cons_trend_a50"},
    0.75: {"slope": "slope_a75", "lo": "slope_a75_lo", "hi": "slope_a75_hi", "pred": "pred_a75",
           "inside": "inside_a75", "floor": "floor_a75", "cons_ratio": "cons_ratio_a75",
           "cons_trend": "cons_trend_a75"},
}


@dataclass(frozen=True)
class InstanceDesign:
    """The design of the contraction experiments (this one and
    :mod:`~srlm_core.experiments.contraction_vs_n`): ``instances`` random problems (the unit of
    the intervals), ``seeds`` runs each from distance ``init_dist`` for ``iters`` rounds, the
    slope fitted over the rounds whose mean error stays above ``floor_margin`` floors."""

    iters: int = option(8, "rounds per run")
    floor_margin: float = option(4.0,
                                 "the slope is fitted over the rounds whose mean error stays "
                                 "above this many floors")
    problem: ProblemConfig = nested(ProblemConfig(),
                                   "the random problems (instance i: seed + i)")
    init_dist: float = option(4.0, "initial distance e_0 to the target")
    instances: int = option(8, "random problems (the unit of the intervals)")
    seeds: int = option(4, "runs per instance")
    device: str = option("cpu", "cpu, cuda or auto")

    def run_on(self, instance: int, alpha: float, n: int) -> SimulationConfig:
        """The run with signal share ``alpha`` and ``n`` pairs per round on one instance
        (problem seed ``seed + instance``)."""
        return SimulationConfig.on(self.problem.instance(instance), alpha=alpha, n=n,
                                   iters=self.iters, init_dist=self.init_dist, seeds=self.seeds,
                                   device=self.device)

    def validate_design(self) -> None:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field of the design."""
        require_at_least(self, 1, "iters")
        require_at_least(self, 2, "instances")
        require_positive(self, "init_dist", "floor_margin")


@dataclass(frozen=True)
class Config(InstanceDesign):
    """``alphas``: the signal shares, each in (0, 1), ``n`` pairs per round; ``floor_iters``:
    rounds of the run started at the target whose mean (over rounds t >= 1 and seeds) is the
    instance's floor; the rest is the :class:`InstanceDesign`."""

    alphas: tuple[float, ...] = option((0.25, 0.5, 0.75), "signal shares alpha, each in (0, 1)")
    n: int = option(20000, "pairs per round")
    floor_iters: int = option(4,
                              "rounds of the run started at the target whose mean error is the "
                              "floor")

    def simulation(self, alpha: float, instance: int = 0) -> SimulationConfig:
        """The run for one signal share on one instance (seed ``seed + instance``)."""
        return self.run_on(instance, alpha, self.n)

    def simulations(self, alpha: float) -> list[SimulationConfig]:
        """The runs for one signal share, one per instance."""
        return [self.simulation(alpha, i) for i in range(self.instances)]

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        require_shares(self, "alphas")
        require_at_least(self, 1, "n", "floor_iters")
        self.validate_design()
        self.simulation(self.alphas[0]).validate()
        return self


class _WithFloor(SelfRewardingRunner):
    r"""The run of ``sim`` batched with its floor run: seeds ``0..S-1`` start at
    :math:`\theta_0`, seeds ``S..2S-1`` at the target :math:`\theta^\star`, both on the same
    problem, for :math:`\max(T, T_{\mathrm{floor}})` rounds."""

    def __init__(self, sim: SimulationConfig, floor_iters: int):
        self.half = sim.seeds
        super().__init__(SimulationConfig(**{**sim.__dict__, "seeds": 2 * sim.seeds,
                                             "iters": max(sim.iters, floor_iters)}))

    def initial_thetas(self):
        start = super().initial_thetas()[: self.half]
        return torch.cat([start, self.problem.theta_star.expand(self.half, -1).clone()])


def measure(sims: list[SimulationConfig], floor_iters: int, floor_margin: float) -> dict:
    r"""One configuration on several instances (``sims``, one per instance, same share): per
    instance, round and seed (lists ``[i][t][seed]``) the error
    :math:`e_t = \lVert\theta_t-\theta^\star\rVert_2` and the consistency residual; the floor
    per instance (the mean error over rounds :math:`1 \le t \le` ``floor_iters`` and seeds of
    the same procedure started at the target, run in the same batch) and their mean; the slope
    of :math:`\log e_t` on :math:`t` per instance and its mean with a 95% interval over
    instances (:func:`srlm_core.stats.fit_log_decay` with the instance as unit); and the S1
    prediction :math:`\log(1-\alpha)`."""
    dist, consistency, floors = [], [], []
    for sim in sims:
        result = _WithFloor(sim, floor_iters).run()
        both = metrics.param_distance(result.problem, result.thetas).cpu().numpy()
        S, T = sim.seeds, sim.iters
        dist.append(both[: T + 1, :S])
        consistency.append(metrics.consistency_residual(result.problem, result.thetas[: T + 1, :S],
                                                        sim.alpha).cpu().numpy())
        floors.append(float(both[1: floor_iters + 1, S:].mean()))
    d = np.stack(dist)  # (instances, T+1, S)
    n_instances, T1, _ = d.shape
    t = np.broadcast_to(np.arange(T1)[None, :, None], d.shape).ravel()
    units = np.broadcast_to(np.arange(n_instances)[:, None, None], d.shape).ravel()
    floor = float(np.mean(floors))
    fit = fit_log_decay(t, d.ravel(), floor=floor, units=units, margin=floor_margin)
    keep = [s for s in range(T1) if d[:, s].mean() > floor_margin * floor]
    mask = np.isin(t, keep)
    per_instance = unit_slopes(t[mask], np.log(d.ravel()[mask]), units[mask])
    return {
        "alpha": sims[0].alpha,
        "dist": d.tolist(),
        "consistency": np.stack(consistency).tolist(),
        "floors": floors,
        "floor": floor,
        "fit_rounds": [int(s) for s in keep],
        "instance_slopes": per_instance.tolist(),
        "slope": fit.slope,
        "lo": fit.lo,
        "hi": fit.hi,
        "intercept": fit.intercept,
        "predicted": float(np.log(1 - sims[0].alpha)),
    }


def run(config: Config) -> dict:
    """Every signal share of ``config`` measured with :func:`measure` (S1, finite n)."""
    c = config.validate()
    return {
        "n": c.n,
        "instances": c.instances,
        "seeds": c.seeds,
        "iters": c.iters,
        "init_dist": c.init_dist,
        "floor_margin": c.floor_margin,
        "arms": [measure(c.simulations(alpha), c.floor_iters, c.floor_margin)
                 for alpha in c.alphas],
    }


def inside(lo: float, hi: float, predicted: float) -> bool:
    """Whether the prediction lies in the interval [lo, hi]."""
    return lo <= predicted <= hi


def direction(slopes, predicted) -> str:
    r"""Where fitted slopes of :math:`\log e_t` lie against predicted ones: ``shallower``
    (every slope above its prediction: weaker contraction), ``steeper`` (every one below) or
    ``mixed``."""
    gaps = np.asarray(slopes, float) - np.asarray(predicted, float)
    return "shallower" if (gaps > 0).all() else "steeper" if (gaps < 0).all() else "mixed"


#: the contraction words of :func:`direction`
STRENGTH = {"shallower": "weaker", "steeper": "stronger",
            "mixed": "weaker for some shares and stronger for others"}
#: the slope words of :func:`direction`
SLOPES = {"shallower": "every fitted slope is shallower than predicted",
          "steeper": "every fitted slope is steeper than predicted",
          "mixed": "the fitted slopes lie on both sides of the prediction"}


def summarise(values: dict) -> dict:
    r"""Per share (named by :data:`ARM_NAMES`): the fitted slope (mean over instances) and its
    interval, the prediction :math:`\log(1-\alpha)`, the verdict ``inside`` / ``outside``, the
    mean floor and the ratio of the last to the first mean consistency residual with the word
    ``falls`` / ``rises``;
    over the shares: how many predictions fall outside, the largest relative slope gap in
    percent, whether the contraction is ``weaker`` / ``stronger`` than :math:`1-\alpha`
    (:func:`direction`), whether the floor is higher for smaller shares; and the run's
    parameters."""
    out = {}
    arms = values["arms"]
    for arm in arms:
        verdict = inside(arm["lo"], arm["hi"], arm["predicted"])
        cons = np.mean(arm["consistency"], axis=(0, 2))
        ratio = float(cons[-1] / cons[0])
        out.update(named(
            ARM_NAMES.get(arm["alpha"]), slope=arm["slope"], lo=arm["lo"], hi=arm["hi"],
            pred=arm["predicted"], inside="inside" if verdict else "outside", floor=arm["floor"],
            cons_ratio=ratio, cons_trend="falls" if ratio < 1 else "rises",
        ))
    out["n_outside"] = sum(not inside(a["lo"], a["hi"], a["predicted"]) for a in arms)
    out["max_slope_gap_pct"] = float(100 * max(abs(a["slope"] / a["predicted"] - 1)
                                               for a in arms))
    side = direction([a["slope"] for a in arms], [a["predicted"] for a in arms])
    out["contraction_strength"] = STRENGTH[side]
    out["slope_direction"] = SLOPES[side]
    by_alpha = sorted(arms, key=lambda a: a["alpha"])
    floors = [a["floor"] for a in by_alpha]
    out["floor_order"] = ("the smaller the signal share, the higher the floor"
                          if all(a > b for a, b in zip(floors, floors[1:]))
                          else "the floor is not ordered by the signal share")
    out.update(n_pairs=values["n"], n_seeds=values["seeds"], n_instances=values["instances"],
               e0=values["init_dist"], n_iters=values["iters"],
               floor_margin=values["floor_margin"], n_alphas=len(arms))
    return out


def _frame(values: dict, column: str):
    """One row per share, instance and round: the mean of ``column`` over the seeds."""
    import pandas as pd

    return pd.DataFrame([
        {"t": t, "instance": i, "alpha": arm["alpha"], column: float(np.mean(row))}
        for arm in values["arms"]
        for i, rows in enumerate(arm[column])
        for t, row in enumerate(rows)
    ])


def _palette(values: dict) -> dict:
    import seaborn as sns

    alphas = [arm["alpha"] for arm in values["arms"]]
    return dict(zip(alphas, sns.color_palette("viridis", len(alphas))))


def _lines(values: dict, column: str, ylabel: str, size: tuple):
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=size)
    frame, palette = _frame(values, column), _palette(values)
    for (alpha, _), group in frame.groupby(["alpha", "instance"]):
        ax.plot(group["t"], group[column], color=palette[alpha], lw=0.6, alpha=0.35)
    sns.lineplot(data=frame, x="t", y=column, hue="alpha", palette=palette, marker="o",
                 errorbar=("ci", 95), n_boot=N_BOOT, seed=0, ax=ax)
    ax.set_yscale("log")
    ax.set_xlabel("iteration $t$")
    ax.set_ylabel(ylabel)
    ax.legend(title=r"$\alpha$")
    return fig, ax


def plot(values: dict):
    r"""Per share: the mean error over each instance's seeds (thin lines), its mean over
    instances with a 95% bootstrap band over instances, the S1 prediction
    :math:`e_0(1-\alpha)^t` (dashed) and the mean floor (dotted); log scale."""
    fig, ax = _lines(values, "dist", r"$\|\theta_t-\theta^\star\|_2$", (7, 4.2))
    palette = _palette(values)
    steps = np.arange(values["iters"] + 1)
    for arm in values["arms"]:
        color = palette[arm["alpha"]]
        ax.plot(steps, values["init_dist"] * (1 - arm["alpha"]) ** steps, ls="--", color=color,
                lw=1)
        ax.axhline(arm["floor"], ls=":", color=color, lw=1)
    ax.set_ylim(bottom=0.3 * min(min(arm["floors"]) for arm in values["arms"]))
    return fig


def plot_consistency(values: dict):
    """Per share: the mean consistency residual over each instance's seeds (thin lines) and
    its mean over instances (95% bootstrap band over instances); log scale."""
    fig, _ = _lines(values, "consistency", "consistency residual", (7, 3.6))
    return fig
