r"""S3: the condition number heals along the iteration, from a good and a poor start.

From each start :math:`e_0 = \lVert\theta_0-\theta^\star\rVert` the self-rewarding iteration
(:class:`srlm_core.model.self_rewarding.SelfRewardingRunner`, fixed reference) runs in the
population (:math:`n=\infty`, one run) and with ``n`` pairs per round (``seeds`` runs).  S3
predicts, in the population, :math:`\log\kappa(\pi_t) \le (1-\alpha)^t s_0
\le 2(1-\alpha)^t e_0` (:math:`s_0` the initial span) and :math:`\kappa_\Sigma \le \kappa`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from srlm_core.errors import ConfigError, require_at_least
from srlm_core.model.self_rewarding import SelfRewardingRunner, SimulationConfig
from srlm_core.stats import fit_slope, mean_interval

#: slack of the bound checks (floating point)
SLACK = 1e-9


@dataclass(frozen=True)
class Config:
    r"""``starts``: the initial distances :math:`e_0`; the smallest is the good start, the
    largest the poor one.  ``epsilon``: the healing target :math:`\kappa \le 1+\epsilon`."""

    alpha: float = 0.5
    iters: int = 10
    n: int = 2000
    seeds: int = 16
    starts: tuple[float, ...] = (1.0, 6.0)
    epsilon: float = 0.1

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        if not 0.0 < self.alpha < 1.0:
            raise ConfigError("alpha", f"must be in (0, 1), got {self.alpha}")
        require_at_least(self, 2, "iters", "seeds")
        require_at_least(self, 1, "n")
        if len(self.starts) < 1 or min(self.starts) <= 0.0:
            raise ConfigError("starts", f"must be positive distances, got {self.starts}")
        if self.epsilon <= 0.0:
            raise ConfigError("epsilon", f"must be positive, got {self.epsilon}")
        return self


def _regime(n: int) -> str:
    return "population" if n == 0 else f"n = {n}"


def run(config: Config) -> dict:
    r"""Per start, regime, round :math:`t` and seed: :math:`\kappa_t`,
    :math:`\kappa_{\Sigma,t}` and the span; and per start the initial span :math:`s_0`."""
    c = config.validate()
    rows, span0 = [], {}
    for e0 in c.starts:
        for n, seeds in ((0, 1), (c.n, c.seeds)):
            sim = SimulationConfig(alpha=c.alpha, n=n, iters=c.iters, init_dist=e0, seeds=seeds)
            frame = SelfRewardingRunner(sim).run().metrics()
            span0[str(e0)] = float(frame.query("t == 0")["span"].iloc[0])
            rows += [{"e0": e0, "regime": _regime(n), "t": int(t), "seed": int(s),
                      "kappa": float(k), "kappa_sigma": float(ks), "span": float(sp)}
                     for t, s, k, ks, sp in zip(frame.t, frame.seed, frame.kappa,
                                                frame.kappa_sigma, frame.span)]
    return {"alpha": c.alpha, "iters": c.iters, "n": c.n, "epsilon": c.epsilon,
            "starts": list(c.starts), "span0": span0, "rows": rows}


def span_bound(values: dict, e0: float) -> np.ndarray:
    r"""S3's span bound :math:`\log\kappa_t \le (1-\alpha)^t s_0` for :math:`t = 0..T`."""
    steps = np.arange(values["iters"] + 1)
    return values["span0"][str(e0)] * (1 - values["alpha"]) ** steps


def _select(values: dict, e0: float, regime: str, column: str, t: int | None = None):
    return np.array([row[column] for row in values["rows"] if row["e0"] == e0
                     and row["regime"] == regime and (t is None or row["t"] == t)])


def rounds_to_heal(alpha: float, e0: float, epsilon: float) -> float:
    r"""S3's bound on the rounds until :math:`\kappa \le 1+\epsilon`: the :math:`t` with
    :math:`2(1-\alpha)^t e_0 = \log(1+\epsilon)`
    (:func:`srlm_core.theory.condition_number.healing`)."""
    from srlm_core.theory import condition_number as s3

    h = _healing_theory()
    return float(h.rounds_to_epsilon.subs({s3.alpha: alpha, s3.e0: e0, h.epsilon: epsilon}))


@cache
def _healing_theory():
    from srlm_core.theory import condition_number as s3

    return s3.healing()


def summarise(values: dict) -> dict:
    r"""Whether both population bounds hold at every round (``holds``/``fails``); the slope of
    :math:`\log\log\kappa_t` on :math:`t \ge 1` for the poor start with its 95% interval,
    against :math:`\log(1-\alpha)` (``inside``/``outside``); the poor start's
    :math:`\kappa_0, \kappa_{\Sigma,0}`; the mean of :math:`\log\kappa_T` over the finite-n
    seeds with a Student-t interval per start; the rounds bound per start."""
    alpha, starts = values["alpha"], values["starts"]
    good, poor = min(starts), max(starts)
    holds = True
    for e0 in starts:
        kappa = _select(values, e0, "population", "kappa")
        kappa_sigma = _select(values, e0, "population", "kappa_sigma")
        holds &= bool((np.log(kappa) <= span_bound(values, e0) + SLACK).all()
                      and (kappa_sigma <= kappa * (1 + SLACK)).all())
    t = _select(values, poor, "population", "t")
    kappa = _select(values, poor, "population", "kappa")
    fit = fit_slope(t[t >= 1], np.log(np.log(kappa[t >= 1])))
    predicted = float(np.log(1 - alpha))
    out = {
        "s3_heal_holds": "holds" if holds else "fails",
        "s3_heal_slope": fit.slope,
        "s3_heal_lo": fit.lo,
        "s3_heal_hi": fit.hi,
        "s3_heal_pred": predicted,
        "s3_heal_inside": "inside" if fit.lo <= predicted <= fit.hi else "outside",
        "s3_kappa0_poor": float(_select(values, poor, "population", "kappa", t=0)[0]),
        "s3_kappas0_poor": float(_select(values, poor, "population", "kappa_sigma", t=0)[0]),
    }
    finite = _regime(values["n"])
    for e0 in sorted(starts):
        ci = mean_interval(np.log(_select(values, e0, finite, "kappa", t=values["iters"])))
        out[f"s3_final_logkappa_{int(e0)}"] = ci.mean
        out[f"s3_final_logkappa_{int(e0)}_lo"] = ci.lo
        out[f"s3_final_logkappa_{int(e0)}_hi"] = ci.hi
    out["s3_rounds_poor"] = rounds_to_heal(alpha, poor, values["epsilon"])
    out["s3_rounds_good"] = rounds_to_heal(alpha, good, values["epsilon"])
    out["n_heal"] = values["n"]
    out["n_heal_iters"] = values["iters"]
    return out


def plot(values: dict):
    r""":math:`\kappa_t` and :math:`\kappa_{\Sigma,t}` per start (one panel each): population
    and finite-n runs (mean over seeds, 95% bootstrap intervals), with the span bound
    :math:`\exp((1-\alpha)^t s_0)` and the distance bound :math:`\exp(2(1-\alpha)^t e_0)`."""
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    alpha, steps = values["alpha"], np.arange(values["iters"] + 1)
    heal = pd.DataFrame(values["rows"])
    long = heal.melt(id_vars=["t", "seed", "e0", "regime"], value_vars=["kappa", "kappa_sigma"],
                     var_name="measure", value_name="value")
    long["measure"] = long.measure.map({"kappa": r"$\kappa$", "kappa_sigma": r"$\kappa_\Sigma$"})
    groups = list(long.groupby("e0"))
    fig, axes = plt.subplots(1, len(groups), figsize=(5 * len(groups), 4.2), sharey=True,
                             squeeze=False)
    for ax, (e0, group) in zip(axes[0], groups):
        sns.lineplot(data=group, x="t", y="value", hue="measure", style="regime", marker="o",
                     errorbar=("ci", 95), n_boot=1000, seed=0, ax=ax)
        ax.plot(steps, np.exp(span_bound(values, e0)), ls="--", color="gray", lw=1,
                label=r"$\exp((1-\alpha)^t s_0)$")
        ax.plot(steps, np.exp(2 * e0 * (1 - alpha) ** steps), ls=":", color="gray", lw=1,
                label=r"$\exp(2(1-\alpha)^t e_0)$")
        ax.set(yscale="log", xlabel="iteration $t$", ylabel="condition number",
               title=rf"$e_0 = {e0:g}$")
        ax.legend(fontsize="small")
    fig.tight_layout()
    return fig
