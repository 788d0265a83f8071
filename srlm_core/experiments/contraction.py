r"""S1 with finite samples: the error contracts by 1 - alpha per round, down to a floor.

For each signal share :math:`\alpha` the self-rewarding iteration
(:class:`srlm_core.model.self_rewarding.SelfRewardingRunner`, fixed reference) runs ``seeds``
times with ``n`` fresh pairs per round from distance :math:`e_0` to the target.  S1 predicts
in the population :math:`e_t = e_0(1-\alpha)^t`, a line of slope :math:`\log(1-\alpha)` in
:math:`\log e_t`.  The *floor* is the mean error of the same procedure started at the target
(:math:`e_0 = 0`): what finite samples alone leave.  The slope is fitted with
:func:`srlm_core.stats.fit_log_decay` over the rounds whose mean error stays above
``floor_margin`` times the floor.  Beside the error, the consistency residual
(:func:`srlm_core.model.metrics.consistency_residual`), zero exactly at the fixed point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from srlm_core.errors import require_at_least, require_positive, require_shares
from srlm_core.model import metrics
from srlm_core.model.self_rewarding import SelfRewardingRunner, SimulationConfig
from srlm_core.stats import fit_log_decay

#: bootstrap resamples of the 95% bands in the figures
N_BOOT = 2000


@dataclass(frozen=True)
class Config:
    """``alphas``: the signal shares, each in (0, 1); ``floor_iters``: rounds of the run
    started at the target whose mean (over rounds t >= 1 and seeds) is the floor."""

    alphas: tuple[float, ...] = (0.25, 0.5, 0.75)
    n: int = 20000
    iters: int = 8
    floor_iters: int = 4
    floor_margin: float = 4.0
    d: int = 8
    K: int = 8
    contexts: int = 32
    init_dist: float = 4.0
    beta: float = 1.0
    signal: float = 1.0
    seeds: int = 16
    seed: int = 0
    device: str = "cpu"

    def simulation(self, alpha: float) -> SimulationConfig:
        """The run for one signal share."""
        return SimulationConfig.taking(self, alpha=alpha)

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        require_shares(self, "alphas")
        require_at_least(self, 1, "n", "iters", "floor_iters")
        require_positive(self, "init_dist", "floor_margin")
        self.simulation(self.alphas[0]).validate()
        return self


def statistical_floor(sim: SimulationConfig, iters: int) -> float:
    r"""The floor of ``sim``: the mean of :math:`\lVert\theta_t-\theta^\star\rVert_2` over
    rounds :math:`1 \le t \le` ``iters`` and seeds, for the same procedure started at the
    target (``init_dist = 0``)."""
    at_target = SimulationConfig(**{**sim.__dict__, "init_dist": 0.0, "iters": iters})
    result = SelfRewardingRunner(at_target).run()
    dist = metrics.param_distance(result.problem, result.thetas)[1:].cpu().numpy()
    return float(np.mean(dist.ravel()))


def measure(sim: SimulationConfig, floor_iters: int, floor_margin: float) -> dict:
    r"""One configuration: per round and seed (lists ``[t][seed]``) the error
    :math:`e_t = \lVert\theta_t-\theta^\star\rVert_2` and the consistency residual; the floor
    (:func:`statistical_floor`); the slope of :math:`\log e_t` on :math:`t` with its 95%
    interval (:func:`srlm_core.stats.fit_log_decay`) and the S1 prediction
    :math:`\log(1-\alpha)`."""
    result = SelfRewardingRunner(sim).run()
    dist = metrics.param_distance(result.problem, result.thetas).cpu().numpy()  # (T+1, S)
    consistency = metrics.consistency_residual(result.problem, result.thetas, sim.alpha)
    floor = statistical_floor(sim, floor_iters)
    t = np.repeat(np.arange(sim.iters + 1), sim.seeds)
    seeds = np.tile(np.arange(sim.seeds), sim.iters + 1)  # the unit of independence
    fit = fit_log_decay(t, dist.ravel(), floor=floor, units=seeds, margin=floor_margin)
    return {
        "alpha": sim.alpha,
        "dist": dist.tolist(),
        "consistency": consistency.cpu().numpy().tolist(),
        "floor": floor,
        "slope": fit.slope,
        "lo": fit.lo,
        "hi": fit.hi,
        "intercept": fit.intercept,
        "predicted": float(np.log(1 - sim.alpha)),
    }


def run(config: Config) -> dict:
    """Every signal share of ``config`` measured with :func:`measure` (S1, finite n)."""
    c = config.validate()
    return {
        "n": c.n,
        "seeds": c.seeds,
        "iters": c.iters,
        "init_dist": c.init_dist,
        "arms": [measure(c.simulation(alpha), c.floor_iters, c.floor_margin)
                 for alpha in c.alphas],
    }


def key(alpha: float) -> str:
    """The glue suffix of a signal share: ``a25`` for 0.25."""
    return f"a{round(alpha * 100)}"


def inside(lo: float, hi: float, predicted: float) -> bool:
    """Whether the prediction lies in the interval [lo, hi]."""
    return lo <= predicted <= hi


def summarise(values: dict) -> dict:
    r"""Per share: the fitted slope and its interval, the prediction :math:`\log(1-\alpha)`,
    the verdict ``inside`` / ``outside``, the floor and the ratio of the last to the first
    mean consistency residual; over the shares: how many predictions fall outside and the
    largest relative slope gap in percent; and the run's n, seeds, :math:`e_0` and rounds."""
    out = {}
    for arm in values["arms"]:
        k = key(arm["alpha"])
        verdict = inside(arm["lo"], arm["hi"], arm["predicted"])
        cons = np.mean(arm["consistency"], axis=1)
        out.update({
            f"slope_{k}": arm["slope"], f"slope_{k}_lo": arm["lo"], f"slope_{k}_hi": arm["hi"],
            f"pred_{k}": arm["predicted"], f"inside_{k}": "inside" if verdict else "outside",
            f"floor_{k}": arm["floor"], f"cons_ratio_{k}": float(cons[-1] / cons[0]),
        })
    arms = values["arms"]
    out["n_outside"] = sum(not inside(a["lo"], a["hi"], a["predicted"]) for a in arms)
    out["max_slope_gap_pct"] = float(100 * max(abs(a["slope"] / a["predicted"] - 1)
                                               for a in arms))
    out.update(n_pairs=values["n"], n_seeds=values["seeds"], e0=values["init_dist"],
               n_iters=values["iters"])
    return out


def _frame(values: dict, column: str):
    import pandas as pd

    return pd.DataFrame([
        {"t": t, "seed": s, "alpha": arm["alpha"], column: value}
        for arm in values["arms"]
        for t, row in enumerate(arm[column])
        for s, value in enumerate(row)
    ])


def _palette(values: dict) -> dict:
    import seaborn as sns

    alphas = [arm["alpha"] for arm in values["arms"]]
    return dict(zip(alphas, sns.color_palette("viridis", len(alphas))))


def _lines(values: dict, column: str, ylabel: str, size: tuple):
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=size)
    sns.lineplot(data=_frame(values, column), x="t", y=column, hue="alpha",
                 palette=_palette(values), marker="o", errorbar=("ci", 95), n_boot=N_BOOT,
                 seed=0, ax=ax)
    ax.set_yscale("log")
    ax.set_xlabel("iteration $t$")
    ax.set_ylabel(ylabel)
    ax.legend(title=r"$\alpha$")
    return fig, ax


def plot(values: dict):
    r"""Mean error over seeds (95% bootstrap band) per share, against the S1 prediction
    :math:`e_0(1-\alpha)^t` (dashed) and the floor (dotted); log scale."""
    fig, ax = _lines(values, "dist", r"$\|\theta_t-\theta^\star\|_2$", (7, 4.2))
    palette = _palette(values)
    steps = np.arange(values["iters"] + 1)
    for arm in values["arms"]:
        color = palette[arm["alpha"]]
        ax.plot(steps, values["init_dist"] * (1 - arm["alpha"]) ** steps, ls="--", color=color,
                lw=1)
        ax.axhline(arm["floor"], ls=":", color=color, lw=1)
    ax.set_ylim(bottom=0.3 * min(arm["floor"] for arm in values["arms"]))
    return fig


def plot_consistency(values: dict):
    """Mean consistency residual over seeds (95% bootstrap band) per share; log scale."""
    fig, _ = _lines(values, "consistency", "consistency residual", (7, 3.6))
    return fig
