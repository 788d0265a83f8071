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
The comparison runs on ``instances`` independently drawn problems (features,
:math:`w^\star`, direction of :math:`\theta_0`; problem seed ``seed + instance``): seeds are
averaged within an instance and every interval is taken over instances.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from srlm_core.errors import ConfigError, require_at_least
from srlm_core.model import metrics
from srlm_core.model.one_step_prediction import predict_iterated_kl, predict_one_step
from srlm_core.model.policy import ProblemConfig
from srlm_core.model.self_rewarding import SelfRewardingRunner, SimulationConfig
from srlm_core.options import nested, option
from srlm_core.stats import mean_interval, minimum_detectable_difference
from srlm_core.theory import single_step as s2

ONE, ITERATED = r"one step of $nT$", r"$T$ steps of $n$"


@dataclass(frozen=True)
class Config:
    """The chapter's run: :math:`T = 1, \\dots,` ``t_max`` with ``n`` pairs per round, on
    ``instances`` problems with ``seeds`` runs each."""

    alpha: float = option(0.5, "signal share alpha")
    init_dist: float = option(4.0, "initial distance e_0 to the target")
    n: int = option(1000, "pairs per round")
    t_max: int = option(8, "largest number of rounds T compared")
    instances: int = option(8, "random problems (the unit of the intervals)")
    seeds: int = option(16, "runs per instance")
    problem: ProblemConfig = nested(ProblemConfig(),
                                   "the random problems (instance i: seed + i)")

    def simulation(self, n: int, iters: int, instance: int = 0) -> SimulationConfig:
        """``iters`` rounds of ``n`` pairs on problem ``instance`` (seed ``seed + instance``)."""
        return SimulationConfig.on(self.problem.instance(instance), alpha=self.alpha, n=n,
                                   iters=iters, init_dist=self.init_dist, seeds=self.seeds)

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        require_at_least(self, 1, "n", "t_max", "seeds")
        require_at_least(self, 2, "instances")
        if self.alpha >= 1.0:
            raise ConfigError("alpha", f"must be below 1 (no floor to compare), got {self.alpha}")
        self.simulation(self.n, self.t_max).validate()
        return self


def _instance(config: Config, instance: int) -> dict:
    alpha, n, t_max = config.alpha, config.n, config.t_max
    iterated_run = SelfRewardingRunner(config.simulation(n, t_max, instance))
    result = iterated_run.run()
    iterated_kl = metrics.kl_target_to_policy(result.problem, result.thetas)[1:].tolist()
    one_step_kl = []
    for T in range(1, t_max + 1):
        single = SelfRewardingRunner(config.simulation(n * T, 1, instance)).run()
        one_step_kl.append(metrics.kl_target_to_policy(single.problem, single.thetas)[1].tolist())
    p, theta0 = iterated_run.problem, iterated_run.initial_thetas()[0]
    pred = predict_one_step(p, theta0, alpha)
    q_0 = pred.floor / (1 - alpha) ** 2
    crossing = s2.one_versus_iterated().crossing_n
    n_cross = float(crossing.subs({s2.rho: 1 - alpha, s2.T: t_max, s2.v: pred.variance,
                                   s2.q0: q_0}))
    return {
        "iterated_kl": iterated_kl,
        "one_step_kl": one_step_kl,
        "predicted_one_step": [pred.kl(n * T) for T in range(1, t_max + 1)],
        "predicted_iterated": predict_iterated_kl(p, theta0, alpha, n, t_max)[1:],
        "floor": pred.floor,
        "variance": pred.variance,
        "n_cross": n_cross,
    }


def run(config: Config) -> dict:
    r"""Both schemes from the same initial model of every instance
    (:class:`srlm_core.model.self_rewarding.SelfRewardingRunner`): per instance and
    :math:`T`, the per-seed :math:`\mathrm{KL}(\pi^\star\Vert\hat\pi)` after :math:`T` rounds
    of :math:`n` pairs and after one round of :math:`nT`; the one-step prediction
    (:func:`srlm_core.model.one_step_prediction.predict_one_step`), the iterated one with the
    Fisher information along the population path
    (:func:`srlm_core.model.one_step_prediction.predict_iterated_kl`), and the crossing size
    :math:`n_\times` at :math:`T=` ``t_max`` with :math:`v` and :math:`q_0` of the start."""
    config.validate()
    return {
        "n": config.n, "t_max": config.t_max, "init_dist": config.init_dist,
        "seeds": config.seeds, "T": list(range(1, config.t_max + 1)),
        "instances": [_instance(config, i) for i in range(config.instances)],
    }


def instance_means(values: dict, key: str) -> np.ndarray:
    """(instances, T): the mean over seeds of ``iterated_kl`` or ``one_step_kl``."""
    return np.array([[np.mean(per_seed) for per_seed in inst[key]]
                     for inst in values["instances"]])


def _side(n_cross: np.ndarray, n: int) -> str:
    if np.all(n_cross < n):
        return "below"
    if np.all(n_cross > n):
        return "above"
    return "on both sides of"


def summarise(values: dict) -> dict:
    r"""The chapter's numbers at :math:`T=` ``t_max``, every interval a Student-t 95% interval
    over instances of the instance means over seeds: the KL of each scheme with the mean of
    its prediction and the ratio measured over predicted (verdict ``matches`` when its
    interval contains 1, else ``misses``); the paired difference one step minus iterating
    with its interval and its minimum detectable difference
    (:func:`srlm_core.stats.minimum_detectable_difference`); the mean floor; the median and
    range of :math:`n_\times` over instances, :math:`n` and :math:`T`; and the verdicts
    ``s2_cross_side`` (:math:`n_\times` ``below`` / ``above`` :math:`n` on every instance, or
    ``on both sides of`` it), ``s2_cross_verdict`` (the prediction this makes) and
    ``s2_budget_outcome`` (which scheme the paired interval favours)."""
    inst, n = values["instances"], values["n"]
    one_m, iter_m = instance_means(values, "one_step_kl")[:, -1], \
        instance_means(values, "iterated_kl")[:, -1]
    one, iterated = mean_interval(one_m), mean_interval(iter_m)
    diff = mean_interval(one_m - iter_m)
    pred_one = np.array([i["predicted_one_step"][-1] for i in inst])
    pred_iter = np.array([i["predicted_iterated"][-1] for i in inst])
    ratio_one, ratio_iter = mean_interval(one_m / pred_one), mean_interval(iter_m / pred_iter)
    n_cross = np.array([i["n_cross"] for i in inst])
    if diff.lo > 0:
        outcome = "iterating wins"
    elif diff.hi < 0:
        outcome = "one step wins"
    else:
        outcome = "neither scheme wins"
    side = _side(n_cross, n)
    out = {
        "s2_budget_instances": len(inst), "s2_budget_seeds": values["seeds"],
        "s2_init_dist": values["init_dist"],
        "s2_n_cross": float(np.median(n_cross)),
        "s2_n_cross_min": float(n_cross.min()), "s2_n_cross_max": float(n_cross.max()),
        "s2_n_round": n,
        "s2_t_max": values["t_max"],
        "s2_budget_one": one.mean, "s2_budget_one_lo": one.lo, "s2_budget_one_hi": one.hi,
        "s2_budget_iter": iterated.mean, "s2_budget_iter_lo": iterated.lo,
        "s2_budget_iter_hi": iterated.hi,
        "s2_budget_diff": diff.mean, "s2_budget_diff_lo": diff.lo, "s2_budget_diff_hi": diff.hi,
        "s2_budget_mdd": minimum_detectable_difference(float(np.std(one_m - iter_m, ddof=1)),
                                                       len(inst)),
        "s2_budget_one_pred": float(pred_one.mean()),
        "s2_budget_iter_pred": float(pred_iter.mean()),
        "s2_budget_one_ratio": ratio_one.mean, "s2_budget_one_ratio_lo": ratio_one.lo,
        "s2_budget_one_ratio_hi": ratio_one.hi,
        "s2_budget_iter_ratio": ratio_iter.mean, "s2_budget_iter_ratio_lo": ratio_iter.lo,
        "s2_budget_iter_ratio_hi": ratio_iter.hi,
        "s2_budget_one_match": "matches" if ratio_one.lo <= 1 <= ratio_one.hi else "misses",
        "s2_budget_iter_match": "matches" if ratio_iter.lo <= 1 <= ratio_iter.hi else "misses",
        "s2_budget_floor": float(np.mean([i["floor"] for i in inst])),
        "s2_cross_side": side,
        "s2_cross_verdict": {"below": "iterating should win", "above": "one step should win"}
        .get(side, "the prediction differs between instances"),
        "s2_budget_outcome": outcome,
    }
    predicted = {"below": "iterating wins", "above": "one step wins"}.get(side)
    out["s2_budget_prediction"] = ("holds" if outcome == predicted else "fails")
    return out


def frame(values: dict):
    """The per-seed KL of both schemes as a long pandas DataFrame (columns instance, t, seed,
    kl, scheme), iterated rows first."""
    import pandas as pd

    rows = [{"instance": i, "t": T, "seed": s, "kl": kl, "scheme": scheme}
            for scheme, key in ((ITERATED, "iterated_kl"), (ONE, "one_step_kl"))
            for i, inst in enumerate(values["instances"])
            for T, per_seed in zip(values["T"], inst[key])
            for s, kl in enumerate(per_seed)]
    return pd.DataFrame(rows)


def plot(values: dict):
    r"""Mean KL of both schemes against the budget multiplier :math:`T` (mean over instances
    with 95% intervals over instances; thin lines: one per instance), their second-order
    predictions averaged over instances (dashed) and the mean one-step floor
    :math:`\tfrac12(1-\alpha)^2\lVert\theta_0-\theta^\star\rVert_F^2` (dotted)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(7, 4.2))
    colors = dict(zip((ITERATED, ONE), sns.color_palette("deep", 2)))
    T, inst = np.asarray(values["T"]), values["instances"]
    for scheme, key, pred in ((ITERATED, "iterated_kl", "predicted_iterated"),
                              (ONE, "one_step_kl", "predicted_one_step")):
        means = instance_means(values, key)
        ax.plot(T, means.T, color=colors[scheme], lw=0.5, alpha=0.35)
        ivs = [mean_interval(col) for col in means.T]
        centre = np.array([iv.mean for iv in ivs])
        err = np.array([[iv.mean - iv.lo for iv in ivs], [iv.hi - iv.mean for iv in ivs]])
        ax.errorbar(T, centre, yerr=err, color=colors[scheme], marker="o", ms=4, capsize=2,
                    label=scheme)
        ax.plot(T, np.mean([i[pred] for i in inst], axis=0), ls="--", color=colors[scheme],
                lw=1)
    ax.axhline(np.mean([i["floor"] for i in inst]), ls=":", color="gray", lw=1)
    ax.set(yscale="log", xlabel=rf"budget multiplier $T$ (total pairs $nT$, $n={values['n']}$)",
           ylabel=r"$\mathrm{KL}(\pi^\star\Vert\hat\pi)$")
    ax.legend(title=None)
    return fig
