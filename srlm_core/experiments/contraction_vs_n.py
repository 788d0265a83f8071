r"""S1 as n grows: the fitted contraction slope approaches log(1 - alpha) from above.

With ``n`` pairs per round the DPO step adds fresh noise and an :math:`O(d/n)` bias, so the
measured slope of :math:`\log e_t` is shallower than the population slope
:math:`\log(1-\alpha)` of S1.  For one signal share and a grid of ``ns`` each configuration is
measured as in :func:`srlm_core.experiments.contraction.measure` (floor from the run started at
the target over the same ``iters`` rounds); the gap is :math:`100(\hat s/\log(1-\alpha) - 1)`
percent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from srlm_core.errors import ConfigError, require, require_positive
from srlm_core.experiments.contraction import (
    inside,
    measure,
)
from srlm_core.model.self_rewarding import SimulationConfig


@dataclass(frozen=True)
class Config:
    """``ns``: the numbers of pairs per round, increasing."""

    alpha: float = 0.5
    ns: tuple[int, ...] = (5000, 20000, 80000)
    iters: int = 4
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

    def simulation(self, n: int) -> SimulationConfig:
        """The run with ``n`` pairs per round."""
        return SimulationConfig.taking(self, n=n)

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        require(self, ("alpha", 0.0 < self.alpha < 1.0, "must be in (0, 1)"))
        if not self.ns or min(self.ns) < 1 or list(self.ns) != sorted(set(self.ns)):
            raise ConfigError("ns", f"must be increasing numbers of pairs >= 1, got {self.ns}")
        require_positive(self, "init_dist", "floor_margin")
        self.simulation(self.ns[0]).validate()
        return self


def run(config: Config) -> dict:
    r"""Per n: the fitted slope of :math:`\log e_t` with its 95% interval
    (:func:`srlm_core.stats.fit_log_decay`), the floor and the gap to :math:`\log(1-\alpha)`
    in percent."""
    c = config.validate()
    predicted = float(np.log(1 - c.alpha))
    rows = []
    for n in c.ns:
        arm = measure(c.simulation(n), c.iters, c.floor_margin)
        rows.append({"n": n, "slope": arm["slope"], "lo": arm["lo"], "hi": arm["hi"],
                     "gap_pct": 100 * (arm["slope"] / predicted - 1), "floor": arm["floor"]})
    return {"alpha": c.alpha, "predicted": predicted, "rows": rows}


def summarise(values: dict) -> dict:
    """The absolute gap at the smallest and the largest n, the largest n, and whether the
    prediction is ``inside`` the interval there (else ``still outside``)."""
    first, last = values["rows"][0], values["rows"][-1]
    return {
        "gap_small_n": float(abs(first["gap_pct"])),
        "gap_large_n": float(abs(last["gap_pct"])),
        "large_n": int(last["n"]),
        "large_n_inside": ("inside" if inside(last["lo"], last["hi"], values["predicted"])
                           else "still outside"),
    }


def plot(values: dict):
    r"""Fitted slope with its 95% interval against n (log scale), and the S1 slope
    :math:`\log(1-\alpha)` (dashed)."""
    import matplotlib.pyplot as plt

    rows = values["rows"]
    ns = [row["n"] for row in rows]
    slopes = np.array([row["slope"] for row in rows])
    err = [slopes - [row["lo"] for row in rows], [row["hi"] for row in rows] - slopes]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.errorbar(ns, slopes, yerr=err, marker="o", capsize=3, label="fitted")
    ax.axhline(values["predicted"], ls="--", color="gray", lw=1,
               label=rf"$\log(1-\alpha)$, $\alpha = {values['alpha']:g}$")
    ax.set_xscale("log")
    ax.set_xlabel("pairs per round $n$")
    ax.set_ylabel(r"slope of $\log e_t$")
    ax.legend()
    fig.tight_layout()
    return fig

