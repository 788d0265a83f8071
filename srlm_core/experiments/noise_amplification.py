r"""S4: iterating amplifies the noise of one round by 1/(1-(1-alpha)^2), started at the target.

Started at the target, every round's error is pure noise:
:math:`\delta_{t+1}=(1-\alpha)\delta_t+\xi_t` with :math:`\mathbb E\lVert\xi_t\rVert^2=v`, so
the mean square :math:`m_t=\mathbb E\lVert\delta_t\rVert^2` obeys
:math:`m_{t+1}=(1-\alpha)^2m_t+v` and settles at :math:`v/(1-(1-\alpha)^2)`
(:func:`srlm_core.theory.iterative_bound.stationary_variance`).  Measured per signal share: the
stationary mean square (the rounds after a burn-in) over the mean square of a single round.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from srlm_core.errors import ConfigError, require_at_least
from srlm_core.model import metrics
from srlm_core.model.self_rewarding import SelfRewardingRunner, SimulationConfig
from srlm_core.options import option
from srlm_core.theory import iterative_bound as s4


@dataclass(frozen=True)
class Config:
    """``seeds`` runs per signal share for the stationary mean square (the
    ``stationary_rounds`` rounds after the burn-in), ``one_round_seeds`` independent single
    rounds for :math:`v`; a BCa bootstrap (``n_resamples``, seeded by
    ``bootstrap_seed``) of the ratio of the two means."""

    alphas: tuple[float, ...] = option((0.25, 0.5, 0.75, 1.0), "signal shares alpha")
    n: int = option(2000, "pairs per round")
    seeds: int = option(32, "runs per signal share for the stationary mean square")
    seed: int = option(1, "seed of the stationary runs")
    one_round_seeds: int = option(128, "independent single rounds for the one-round mean square v")
    one_round_seed: int = option(2, "seed of the single rounds")
    stationary_rounds: int = option(8, "rounds after the burn-in averaged")
    burn_in_level: float = option(0.01,
                                  "the burn-in ends once the start's share (1-alpha)^(2t) of the "
                                  "mean square is below this")
    n_resamples: int = option(2000, "BCa bootstrap resamples of the ratio")
    bootstrap_seed: int = option(0, "seed of the bootstrap")
    confidence: float = option(0.95, "confidence level of the intervals")

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        if not self.alphas or not all(0.0 < a <= 1.0 for a in self.alphas):
            raise ConfigError("alphas", f"must be non-empty, each in (0, 1], got {self.alphas}")
        require_at_least(self, 1, "n", "stationary_rounds", "n_resamples")
        require_at_least(self, 2, "seeds", "one_round_seeds")
        require_at_least(self, 0, "seed", "one_round_seed", "bootstrap_seed")
        for name in ("burn_in_level", "confidence"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise ConfigError(name, f"must be in (0, 1), got {getattr(self, name)}")
        return self


@functools.cache
def _amplification():
    return s4.stationary_variance().amplification  # SymPy: solved once per process


def burn_in(alpha: float, level: float) -> int:
    r"""The first round :math:`t\ge1` with :math:`(1-\alpha)^{2t}<` ``level``: the share of the
    starting mean square left in :math:`m_t`."""
    t = 1
    while (1 - alpha) ** (2 * t) >= level:
        t += 1
    return t


def _distance(config: SimulationConfig) -> np.ndarray:
    result = SelfRewardingRunner(config).run()
    return metrics.param_distance(result.problem, result.thetas).cpu().numpy()  # (T+1, seeds)


def _ratio_of_means(one_round, stationary) -> float:
    return stationary.mean() / one_round.mean()


def run(config: Config) -> dict:
    r"""Per signal share :math:`\alpha`: the per-seed stationary mean squares, the single-round
    squared errors, their ratio of means (``measured``) with its bootstrap interval
    (``lo``, ``hi``), and the S4 prediction :math:`1/(1-(1-\alpha)^2)` (``predicted``)."""
    config.validate()
    rows = []
    for alpha in config.alphas:
        burn = burn_in(alpha, config.burn_in_level)
        sim = SimulationConfig(alpha=alpha, n=config.n, iters=burn + config.stationary_rounds,
                               init_dist=0.0, seeds=config.seeds, seed=config.seed)
        stationary = (_distance(sim)[burn + 1:] ** 2).mean(axis=0)  # per seed
        single = SimulationConfig(alpha=alpha, n=config.n, iters=1, init_dist=0.0,
                                  seeds=config.one_round_seeds, seed=config.one_round_seed)
        one_round = _distance(single)[1] ** 2
        ratio = sps.bootstrap((one_round, stationary), _ratio_of_means, paired=False,
                              n_resamples=config.n_resamples, random_state=config.bootstrap_seed,
                              confidence_level=config.confidence, vectorized=False)
        rows.append({
            "alpha": alpha,
            "burn_in": burn,
            "measured": float(_ratio_of_means(one_round, stationary)),
            "lo": float(ratio.confidence_interval.low),
            "hi": float(ratio.confidence_interval.high),
            "predicted": float(_amplification().subs(s4.alpha, alpha)),
            "stationary": stationary.tolist(),
            "one_round": one_round.tolist(),
        })
    return {"rows": rows}


def summarise(values: dict) -> dict:
    """For how many signal shares the prediction lies inside the interval, the largest relative
    deviation of the measured ratio from it (percent), and the first share's measured and
    predicted ratio."""
    rows = values["rows"]
    return {
        "amp_inside": int(sum(r["lo"] <= r["predicted"] <= r["hi"] for r in rows)),
        "amp_worst": float(max(abs(r["measured"] / r["predicted"] - 1) for r in rows) * 100),
        "amp_a25": float(rows[0]["measured"]),
        "amp_a25_pred": float(rows[0]["predicted"]),
    }


def plot(values: dict):
    r"""Measured ratio with its interval per signal share against the curve
    :math:`1/(1-(1-\alpha)^2)`."""
    import matplotlib.pyplot as plt

    rows = values["rows"]
    alphas = np.array([r["alpha"] for r in rows])
    measured = np.array([r["measured"] for r in rows])
    lo, hi = np.array([r["lo"] for r in rows]), np.array([r["hi"] for r in rows])
    fig, ax = plt.subplots(figsize=(6, 4))
    grid = np.linspace(min(0.2, alphas.min()), 1.0, 100)
    ax.plot(grid, 1 / (1 - (1 - grid) ** 2), ls="--", color="gray",
            label=r"predicted $1/(1-(1-\alpha)^2)$")
    ax.errorbar(alphas, measured, yerr=[measured - lo, hi - measured], fmt="o", capsize=4,
                label="measured (95% bootstrap interval)")
    ax.set_xlabel(r"signal share $\alpha$")
    ax.set_ylabel("stationary / one-round mean square")
    ax.legend()
    return fig
