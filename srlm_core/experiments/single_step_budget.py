r"""S2: a budget of nT pairs spent on one update, or on T updates of n pairs each.

From one initial model at distance ``init_dist``, ``seeds`` runs of :math:`T_{\max}` rounds
of :math:`n` pairs are compared at every :math:`T\le T_{\max}` with ``seeds`` runs of a single
update with :math:`nT` pairs.  To second order (statement S2 and its contrast, in
:math:`\rho = 1-\alpha`, :math:`q_0=\tfrac12\lVert\theta_0-\theta^\star\rVert_F^2` and the
per-pair variance term :math:`v`)

.. math::

    \text{one step: } \rho^2 q_0 + \frac{v}{nT}, \qquad
    T\text{ steps: } \rho^{2T} q_0 + \frac{v}{n}\sum_{k<T}\rho^{2k},

so one step keeps the floor :math:`\rho^2 q_0` and iterating wins once :math:`n` exceeds the
crossing size :math:`n_\times` of :func:`srlm_core.theory.single_step.one_versus_iterated`.
"""

from __future__ import annotations

from dataclasses import dataclass

from srlm_core.errors import ConfigError, require_at_least
from srlm_core.model import metrics
from srlm_core.model.one_step_prediction import predict_iterated_kl, predict_one_step
from srlm_core.model.self_rewarding import SelfRewardingRunner, SimulationConfig
from srlm_core.stats import mean_interval
from srlm_core.theory import single_step as s2

ONE, ITERATED = r"one step of $nT$", r"$T$ steps of $n$"


@dataclass(frozen=True)
class Config:
    """The chapter's run: :math:`T = 1, \\dots,` ``t_max`` with ``n`` pairs per round."""

    alpha: float = 0.5
    init_dist: float = 4.0
    n: int = 1000
    t_max: int = 8
    seeds: int = 32
    d: int = 8
    K: int = 8
    contexts: int = 32
    seed: int = 0

    def simulation(self, n: int, iters: int) -> SimulationConfig:
        return SimulationConfig.taking(self, n=n, iters=iters)

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        require_at_least(self, 1, "n", "t_max", "seeds")
        if self.alpha >= 1.0:
            raise ConfigError("alpha", f"must be below 1 (no floor to compare), got {self.alpha}")
        self.simulation(self.n, self.t_max).validate()
        return self


def run(config: Config) -> dict:
    r"""Both schemes from the same initial model
    (:class:`srlm_core.model.self_rewarding.SelfRewardingRunner`): per :math:`T`, the
    per-seed :math:`\mathrm{KL}(\pi^\star\Vert\hat\pi)` after :math:`T` rounds of :math:`n`
    pairs and after one round of :math:`nT`; the one-step prediction
    (:func:`srlm_core.model.one_step_prediction.predict_one_step`), the iterated one with the
    Fisher information along the population path
    (:func:`srlm_core.model.one_step_prediction.predict_iterated_kl`), and the crossing size
    :math:`n_\times` at :math:`T=` ``t_max`` with :math:`v` and :math:`q_0` of the start."""
    config.validate()
    alpha, n, t_max = config.alpha, config.n, config.t_max
    iterated_run = SelfRewardingRunner(config.simulation(n, t_max))
    result = iterated_run.run()
    iterated_kl = metrics.kl_target_to_policy(result.problem, result.thetas)[1:].tolist()
    one_step_kl = []
    for T in range(1, t_max + 1):
        single = SelfRewardingRunner(config.simulation(n * T, 1)).run()
        one_step_kl.append(metrics.kl_target_to_policy(single.problem, single.thetas)[1].tolist())
    p, theta0 = iterated_run.problem, iterated_run.initial_thetas()[0]
    pred = predict_one_step(p, theta0, alpha)
    q_0 = pred.floor / (1 - alpha) ** 2
    crossing = s2.one_versus_iterated().crossing_n
    n_cross = float(crossing.subs({s2.rho: 1 - alpha, s2.T: t_max, s2.v: pred.variance,
                                   s2.q0: q_0}))
    return {
        "n": n, "t_max": t_max, "init_dist": config.init_dist,
        "T": list(range(1, t_max + 1)),
        "iterated_kl": iterated_kl,
        "one_step_kl": one_step_kl,
        "predicted_one_step": [pred.kl(n * T) for T in range(1, t_max + 1)],
        "predicted_iterated": predict_iterated_kl(p, theta0, alpha, n, t_max)[1:],
        "floor": pred.floor,
        "variance": pred.variance,
        "n_cross": n_cross,
    }


def summarise(values: dict) -> dict:
    r"""The chapter's numbers at :math:`T=` ``t_max``: mean KL of each scheme with its
    Student-t 95% interval and prediction, the floor, :math:`n_\times`, :math:`n`,
    :math:`T`, and two verdicts: ``s2_cross_side`` says whether :math:`n` is above or below
    :math:`n_\times` (the prediction: iterating wins above), ``s2_budget_outcome`` which
    scheme the measured intervals favour."""
    one = mean_interval(values["one_step_kl"][-1])
    iterated = mean_interval(values["iterated_kl"][-1])
    if iterated.hi < one.lo:
        outcome = "iterating wins"
    elif one.hi < iterated.lo:
        outcome = "one step wins"
    else:
        outcome = "neither scheme wins"
    return {
        "s2_n_cross": values["n_cross"],
        "s2_n_round": values["n"],
        "s2_t_max": values["t_max"],
        "s2_budget_one": one.mean, "s2_budget_one_lo": one.lo, "s2_budget_one_hi": one.hi,
        "s2_budget_iter": iterated.mean, "s2_budget_iter_lo": iterated.lo,
        "s2_budget_iter_hi": iterated.hi,
        "s2_budget_one_pred": values["predicted_one_step"][-1],
        "s2_budget_iter_pred": values["predicted_iterated"][-1],
        "s2_budget_floor": values["floor"],
        "s2_cross_side": "below" if values["n_cross"] < values["n"] else "above",
        "s2_cross_verdict": ("iterating should win" if values["n_cross"] < values["n"]
                             else "one step should win"),
        "s2_budget_outcome": outcome,
    }


def frame(values: dict):
    """The per-seed KL of both schemes as a long pandas DataFrame (columns t, seed, kl,
    scheme), iterated rows first."""
    import pandas as pd

    rows = [{"t": T, "seed": s, "kl": kl, "scheme": scheme}
            for scheme, key in ((ITERATED, "iterated_kl"), (ONE, "one_step_kl"))
            for T, per_seed in zip(values["T"], values[key])
            for s, kl in enumerate(per_seed)]
    return pd.DataFrame(rows)


def plot(values: dict):
    r"""Mean KL of both schemes against the budget multiplier :math:`T` (95% bootstrap
    intervals), their second-order predictions (dashed) and the one-step floor
    :math:`\tfrac12(1-\alpha)^2\lVert\theta_0-\theta^\star\rVert_F^2` (dotted)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(7, 4.2))
    colors = dict(zip((ITERATED, ONE), sns.color_palette("deep", 2)))
    sns.lineplot(data=frame(values), x="t", y="kl", hue="scheme", palette=colors, marker="o",
                 errorbar=("ci", 95), n_boot=1000, seed=0, ax=ax, err_style="bars")
    ax.plot(values["T"], values["predicted_one_step"], ls="--", color=colors[ONE], lw=1)
    ax.plot(values["T"], values["predicted_iterated"], ls="--", color=colors[ITERATED], lw=1)
    ax.axhline(values["floor"], ls=":", color="gray", lw=1)
    ax.set(yscale="log", xlabel=rf"budget multiplier $T$ (total pairs $nT$, $n={values['n']}$)",
           ylabel=r"$\mathrm{KL}(\pi^\star\Vert\hat\pi)$")
    ax.legend(title=None)
    return fig
