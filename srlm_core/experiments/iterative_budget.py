r"""S4: one update with nT pairs against T rounds of n pairs, for a range of initial models.

With the same budget of :math:`nT` pairs, one step keeps the floor :math:`(1-\alpha)^2e_0^2` but
has noise :math:`v/T`; :math:`T` rounds of :math:`n` forget :math:`e_0` but pay the amplified
noise.  One step has the smaller mean square exactly when :math:`e_0` is below the critical
start of :func:`srlm_core.theory.iterative_bound.one_step_versus_iterating`, evaluated here
with :math:`v` the per-round mean square at the target from the bound's Fisher covariance.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from srlm_core.errors import ConfigError, require_at_least
from srlm_core.model import metrics
from srlm_core.model.bounds import iterative_bound
from srlm_core.model.policy import ProblemConfig
from srlm_core.model.self_rewarding import SelfRewardingRunner, SimulationConfig
from srlm_core.options import nested, option
from srlm_core.theory import iterative_bound as s4

#: The two ways to spend the budget: one update with all the pairs, T rounds of n.
ONE_STEP, ITERATED = "one step, nT pairs", "T rounds of n pairs"


@dataclass(frozen=True)
class Config:
    """``T`` rounds of ``n`` pairs against one round of ``n * T``, from each start in
    ``starts``, ``seeds`` runs each."""

    alpha: float = option(0.5, "signal share alpha")
    T: int = option(4, "rounds of the iterated arm")
    n: int = option(1000, "pairs per round (one round of n * T against T rounds of n)")
    starts: tuple[float, ...] = option((0.0, 0.25, 0.5, 1.0, 2.0),
                                       "initial distances e_0 to the target")
    seeds: int = option(32, "runs per start and arm")
    problem: ProblemConfig = nested(ProblemConfig(seed=2),
                                   "the random problems (instance i: seed + i)")

    def simulation(self, init_dist: float, arm: str) -> SimulationConfig:
        """The :class:`srlm_core.model.self_rewarding.SimulationConfig` of one arm and start."""
        n, iters = (self.n * self.T, 1) if arm == ONE_STEP else (self.n, self.T)
        return SimulationConfig.on(self.problem, alpha=self.alpha, n=n, iters=iters,
                                   init_dist=init_dist, seeds=self.seeds)

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        if not 0.0 < self.alpha < 1.0:
            raise ConfigError("alpha", f"must be in (0, 1), got {self.alpha}")
        require_at_least(self, 2, "T")
        require_at_least(self, 1, "n", "seeds")
        self.problem.validate()
        if not self.starts or min(self.starts) < 0.0:
            raise ConfigError("starts", f"must be non-empty and non-negative, got {self.starts}")
        return self


@functools.cache
def _critical_stated():
    return s4.one_step_versus_iterating().critical_stated  # SymPy: solved once per process


def critical_start(alpha: float, T: int, v: float) -> float:
    r"""The start :math:`e_{0,\mathrm{crit}}` at which both arms have the same mean square:
    the square root of the S4 critical value
    :math:`v\,\big(\frac{1-a^{2T}}{1-a^2}-\frac1T\big)/\big(a^2(1-a^{2T-2})\big)`,
    :math:`a=1-\alpha`."""
    return math.sqrt(float(_critical_stated().subs({s4.alpha: alpha, s4.T: T, s4.v: v})))


def run(config: Config) -> dict:
    r"""Per start and arm: the squared distance :math:`\lVert\theta-\theta^\star\rVert^2` after
    the budget per seed (``sq``) and its linear-Gaussian prediction; and :math:`v` (one round of
    ``n`` pairs at the target) with the critical start it gives."""
    config.validate()
    at_target = SimulationConfig.on(config.problem, alpha=config.alpha, n=config.n, iters=1,
                                    init_dist=0.0, seeds=config.seeds)
    v_round = float(iterative_bound(at_target).frame["predicted_rms"].iloc[1] ** 2)
    rows = []
    for e0 in config.starts:
        for arm in (ONE_STEP, ITERATED):
            sim = config.simulation(e0, arm)
            result = SelfRewardingRunner(sim).run()
            dist = metrics.param_distance(result.problem, result.thetas).cpu().numpy()
            predicted = float(iterative_bound(sim).frame["predicted_rms"].iloc[-1] ** 2)
            rows.append({"e0": e0, "arm": arm, "sq": (dist[-1] ** 2).tolist(),
                         "predicted": predicted})
    return {"alpha": config.alpha, "T": config.T, "n": config.n, "v_round": v_round,
            "critical_e0": critical_start(config.alpha, config.T, v_round), "rows": rows}


def _one_step_wins(values: dict) -> tuple[list[float], list[float]]:
    means = {(r["e0"], r["arm"]): np.mean(r["sq"]) for r in values["rows"]}
    starts = sorted({e0 for e0, _ in means})
    return starts, [e0 for e0 in starts if means[e0, ONE_STEP] < means[e0, ITERATED]]


def summarise(values: dict) -> dict:
    """The predicted crossover, the starts where one step had the smaller mean square (how
    many, the largest) and at how many starts the winner is the predicted one (one step below
    the crossover, iterating above)."""
    critical = values["critical_e0"]
    starts, one_wins = _one_step_wins(values)
    return {
        "critical_e0": critical,
        "one_wins_max": float(max(one_wins)) if one_wins else float("nan"),
        "n_one_wins": len(one_wins),
        "budget_agree": int(sum((e0 < critical) == (e0 in one_wins) for e0 in starts)),
    }


def plot(values: dict):
    """Mean square after the budget against the start per arm (95% bootstrap band, log scale),
    the linear-Gaussian predictions (dashed) and the critical start (dotted)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    budget = pd.DataFrame([{"e0": r["e0"], "arm": r["arm"], "sq": sq}
                           for r in values["rows"] for sq in r["sq"]])
    fig, ax = plt.subplots(figsize=(6.5, 4))
    sns.lineplot(data=budget, x="e0", y="sq", hue="arm", marker="o", errorbar=("ci", 95),
                 n_boot=1000, seed=0, ax=ax)
    for arm in (ONE_STEP, ITERATED):
        rows = sorted((r for r in values["rows"] if r["arm"] == arm), key=lambda r: r["e0"])
        ax.plot([r["e0"] for r in rows], [r["predicted"] for r in rows], ls="--", lw=1,
                color="gray")
    ax.axvline(values["critical_e0"], ls=":", color="C3", label=r"$e_{0,\mathrm{crit}}$")
    ax.set_yscale("log")
    ax.set_xlabel("initial distance $e_0$")
    ax.set_ylabel(r"$\|\theta-\theta^\star\|_2^2$ after the budget")
    ax.legend(fontsize=8)
    return fig
