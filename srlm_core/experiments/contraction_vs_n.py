r"""S1 as n grows: does the fitted contraction slope approach log(1 - alpha), and from which side?

With ``n`` pairs per round the DPO step adds fresh noise and an :math:`O(d/n)` bias, so the
measured slope of :math:`\log e_t` may differ from the population slope
:math:`\log(1-\alpha)` of S1, by less as ``n`` grows.  For one signal share and a grid of
``ns`` each configuration is measured on ``instances`` random problems as in
:func:`srlm_core.experiments.contraction.measure` (floor from the run started at the target
over the same ``iters`` rounds; interval over instances); the gap is
:math:`100(\hat s/\log(1-\alpha) - 1)` percent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from srlm_core.errors import ConfigError, require
from srlm_core.experiments.contraction import InstanceDesign, direction, inside, measure
from srlm_core.model.self_rewarding import SimulationConfig
from srlm_core.options import option


@dataclass(frozen=True)
class Config(InstanceDesign):
    """``alpha``: the signal share; ``ns``: the numbers of pairs per round, increasing; the rest
    is the :class:`~srlm_core.experiments.contraction.InstanceDesign` (its floor runs over the
    same ``iters`` rounds)."""

    iters: int = option(4, "rounds per run")
    alpha: float = option(0.5, "signal share alpha, in (0, 1)")
    ns: tuple[int, ...] = option((5000, 20000, 80000), "pairs per round, increasing")

    def simulation(self, n: int, instance: int = 0) -> SimulationConfig:
        """The run with ``n`` pairs per round on one instance (seed ``seed + instance``)."""
        return self.run_on(instance, self.alpha, n)

    def simulations(self, n: int) -> list[SimulationConfig]:
        """The runs with ``n`` pairs per round, one per instance."""
        return [self.simulation(n, i) for i in range(self.instances)]

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        require(self, ("alpha", 0.0 < self.alpha < 1.0, "must be in (0, 1)"))
        if not self.ns or min(self.ns) < 1 or list(self.ns) != sorted(set(self.ns)):
            raise ConfigError("ns", f"must be increasing numbers of pairs >= 1, got {self.ns}")
        self.validate_design()
        self.simulation(self.ns[0]).validate()
        return self


def run(config: Config) -> dict:
    r"""Per n: the fitted slope of :math:`\log e_t` (mean over instances) with its 95% interval
    over instances (:func:`srlm_core.stats.fit_log_decay`), the slope per instance, the mean
    floor and the gap to :math:`\log(1-\alpha)` in percent."""
    c = config.validate()
    predicted = float(np.log(1 - c.alpha))
    rows = []
    for n in c.ns:
        arm = measure(c.simulations(n), c.iters, c.floor_margin)
        rows.append({"n": n, "slope": arm["slope"], "lo": arm["lo"], "hi": arm["hi"],
                     "gap_pct": 100 * (arm["slope"] / predicted - 1), "floor": arm["floor"],
                     "instance_slopes": arm["instance_slopes"]})
    return {"alpha": c.alpha, "predicted": predicted, "instances": c.instances,
            "seeds": c.seeds, "rows": rows}


def summarise(values: dict) -> dict:
    r"""The absolute gap at the smallest and the largest n; the largest n; whether the
    prediction is ``inside`` the interval there (else ``still outside``); whether the absolute
    gap ``shrinks`` at every step of the grid; and from which side the measured factor
    approaches :math:`1-\alpha`: ``approached from above`` (every slope shallower, the gap
    shrinking), ``approached from below`` (every slope steeper, the gap shrinking), else
    ``not approached monotonically``."""
    rows = values["rows"]
    first, last = rows[0], rows[-1]
    gaps = [abs(row["gap_pct"]) for row in rows]
    shrinks = all(a > b for a, b in zip(gaps, gaps[1:]))
    side = direction([row["slope"] for row in rows], [values["predicted"]] * len(rows))
    approach = {"shallower": "approached from above", "steeper": "approached from below"}
    return {
        "gap_small_n": float(gaps[0]),
        "gap_large_n": float(gaps[-1]),
        "small_n": int(first["n"]),
        "large_n": int(last["n"]),
        "large_n_inside": ("inside" if inside(last["lo"], last["hi"], values["predicted"])
                           else "still outside"),
        "gap_trend": "shrinks" if shrinks else "does not shrink at every step",
        "approach": (approach.get(side, "not approached monotonically") if shrinks
                     else "not approached monotonically"),
    }


def plot(values: dict):
    r"""Fitted slope per instance (small dots) and their mean with the 95% interval over
    instances against n (log scale), and the S1 slope :math:`\log(1-\alpha)` (dashed)."""
    import matplotlib.pyplot as plt

    rows = values["rows"]
    ns = [row["n"] for row in rows]
    slopes = np.array([row["slope"] for row in rows])
    err = [slopes - [row["lo"] for row in rows], [row["hi"] for row in rows] - slopes]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for row in rows:
        ax.plot([row["n"]] * len(row["instance_slopes"]), row["instance_slopes"], ".",
                color="gray", alpha=0.5)
    ax.errorbar(ns, slopes, yerr=err, marker="o", capsize=3, label="fitted")
    ax.axhline(values["predicted"], ls="--", color="gray", lw=1,
               label=rf"$\log(1-\alpha)$, $\alpha = {values['alpha']:g}$")
    ax.set_xscale("log")
    ax.set_xlabel("pairs per round $n$")
    ax.set_ylabel(r"slope of $\log e_t$")
    ax.legend()
    fig.tight_layout()
    return fig

