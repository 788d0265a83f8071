r"""S3: the condition number heals along the iteration, from a good and a poor start.

From each start :math:`e_0 = \lVert\theta_0-\theta^\star\rVert` the self-rewarding iteration
(:class:`srlm_core.model.self_rewarding.SelfRewardingRunner`, fixed reference) runs on
``instances`` random problems (features, :math:`w^\star` and the direction of
:math:`\theta_0` drawn with seed ``seed + i``), in the population (:math:`n=\infty`, one run
each) and with ``n`` pairs per round (``seeds`` runs each).  S3 predicts, in the population,
:math:`\log\kappa(\pi_t) \le (1-\alpha)^t s_0 \le 2(1-\alpha)^t e_0` (:math:`s_0` the
instance's initial span) and :math:`\kappa_\Sigma \le \kappa`.  A population run is
deterministic: the slope of :math:`\log\log\kappa_t` is fitted per instance without an
interval (:func:`srlm_core.stats.fit_line`); the interval is over instances.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from srlm_core.errors import ConfigError, require_at_least, require_one_of
from srlm_core.experiments import named
from srlm_core.model.policy import ProblemConfig
from srlm_core.model.self_rewarding import ENGINES, SelfRewardingRunner, SimulationConfig
from srlm_core.options import nested, option
from srlm_core.stats import equivalence_test, fit_line, mean_interval

#: slack of the bound checks (floating point)
SLACK = 1e-9
#: The glue names of each start's final finite-n log kappa: mean and 95% interval.
FINAL_NAMES = {
    1.0: {"mean": "s3_final_logkappa_1", "lo": "s3_final_logkappa_1_lo",
          "hi": "s3_final_logkappa_1_hi"},
    6.0: {"mean": "s3_final_logkappa_6", "lo": "s3_final_logkappa_6_lo",
          "hi": "s3_final_logkappa_6_hi"},
}


@dataclass(frozen=True)
class Config:
    r"""``starts``: the initial distances :math:`e_0`; the smallest is the good start, the
    largest the poor one.  ``epsilon``: the healing target :math:`\kappa \le 1+\epsilon`.
    ``instances``: random problems (the unit of the intervals); ``seeds``: finite-n runs per
    instance.  ``forget_margin``: the equivalence margin of "the start is forgotten", as a
    share of the good start's final :math:`\log\kappa`."""

    alpha: float = option(0.5, "signal share alpha")
    iters: int = option(10, "rounds per run")
    n: int = option(2000, "pairs per round of the finite-n runs")
    instances: int = option(8, "random problems (the unit of the intervals)")
    seeds: int = option(4, "finite-n runs per instance")
    starts: tuple[float, ...] = option((1.0, 6.0),
                                       "initial distances e_0; the smallest is the good start, "
                                       "the largest the poor one")
    epsilon: float = option(0.1, "healing target: kappa at most 1 + epsilon")
    forget_margin: float = option(0.25,
                                  "equivalence margin of 'the start is forgotten', a share of the "
                                  "good start's final log kappa")
    problem: ProblemConfig = nested(ProblemConfig(),
                                   "the random problems (instance i: seed + i)")
    engine: str = option("counts", "engine of the finite-n runs: counts, samples or auto")

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        if not 0.0 < self.alpha < 1.0:
            raise ConfigError("alpha", f"must be in (0, 1), got {self.alpha}")
        require_at_least(self, 2, "iters", "instances")
        require_at_least(self, 1, "n", "seeds")
        self.problem.validate()
        if len(self.starts) < 1 or min(self.starts) <= 0.0:
            raise ConfigError("starts", f"must be positive distances, got {self.starts}")
        if self.epsilon <= 0.0:
            raise ConfigError("epsilon", f"must be positive, got {self.epsilon}")
        if self.forget_margin <= 0.0:
            raise ConfigError("forget_margin", f"must be positive, got {self.forget_margin}")
        require_one_of(self, "engine", ENGINES)
        return self

    def simulation(self, e0: float, n: int, instance: int) -> SimulationConfig:
        """One start on one instance, in the population (``n = 0``, one seed) or with n."""
        return SimulationConfig.on(self.problem.instance(instance), alpha=self.alpha, n=n,
                                   iters=self.iters, init_dist=e0,
                                   seeds=1 if n == 0 else self.seeds, engine=self.engine)


def _regime(n: int) -> str:
    return "population" if n == 0 else f"n = {n}"


def run(config: Config) -> dict:
    r"""Per start, regime, instance, round :math:`t` and seed: :math:`\kappa_t`,
    :math:`\kappa_{\Sigma,t}` and the span; and per start the initial span :math:`s_0` of
    each instance."""
    c = config.validate()
    rows, span0 = [], {}
    for e0 in c.starts:
        span0[str(e0)] = []
        for i in range(c.instances):
            for n in (0, c.n):
                frame = SelfRewardingRunner(c.simulation(e0, n, i)).run().metrics()
                if n == 0:
                    span0[str(e0)].append(float(frame.query("t == 0")["span"].iloc[0]))
                rows += [{"e0": e0, "regime": _regime(n), "instance": i, "t": int(t),
                          "seed": int(s), "kappa": float(k), "kappa_sigma": float(ks),
                          "span": float(sp)}
                         for t, s, k, ks, sp in zip(frame.t, frame.seed, frame.kappa,
                                                    frame.kappa_sigma, frame.span)]
    return {"alpha": c.alpha, "iters": c.iters, "n": c.n, "epsilon": c.epsilon,
            "instances": c.instances, "seeds": c.seeds, "forget_margin": c.forget_margin,
            "starts": list(c.starts), "span0": span0, "rows": rows}


def span_bound(values: dict, e0: float, instance: int = 0) -> np.ndarray:
    r"""S3's span bound :math:`\log\kappa_t \le (1-\alpha)^t s_0` for :math:`t = 0..T` on one
    instance."""
    steps = np.arange(values["iters"] + 1)
    return values["span0"][str(e0)][instance] * (1 - values["alpha"]) ** steps


def _select(values: dict, e0: float, regime: str, column: str, t: int | None = None,
            instance: int | None = None):
    return np.array([row[column] for row in values["rows"] if row["e0"] == e0
                     and row["regime"] == regime and (t is None or row["t"] == t)
                     and (instance is None or row["instance"] == instance)])


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


#: the healing-rate words: where the per-instance slopes lie against log(1 - alpha)
SIDES = {"steeper": ("steeper than the predicted rate in every instance", "faster than"),
         "shallower": ("shallower than the predicted rate in every instance", "slower than"),
         "mixed": ("on both sides of the predicted rate across instances",
                   "sometimes faster and sometimes slower than")}


def forgetting(diffs, level: float, margin: float) -> str:
    r"""Whether the start is forgotten, from the per-instance differences of the final
    :math:`\log\kappa` between the poor and the good start: ``the start is still visible``
    when their 95% interval excludes zero, ``the start is forgotten`` when a TOST
    (:func:`srlm_core.stats.equivalence_test`) puts the mean inside
    :math:`\pm` ``margin`` times ``level``, else ``the design cannot tell whether the start is
    forgotten``."""
    ci = mean_interval(diffs)
    if ci.lo > 0 or ci.hi < 0:
        return "the start is still visible"
    if equivalence_test(diffs, margin * abs(level)).equivalent:
        return "the start is forgotten"
    return "the design cannot tell whether the start is forgotten"


def summarise(values: dict) -> dict:
    r"""Whether both population bounds hold at every round on every instance
    (``holds``/``fails``); the slope of :math:`\log\log\kappa_t` on :math:`t \ge 1` for the poor
    start, fitted per instance (:func:`srlm_core.stats.fit_line`, deterministic) and summarised by
    its mean with a 95% interval over instances, against :math:`\log(1-\alpha)`
    (``inside``/``outside``, and the side words of ``SIDES``); the poor start's
    :math:`\kappa_0, \kappa_{\Sigma,0}` (median over instances); per start (:data:`FINAL_NAMES`) the
    mean over instances (each the mean over its seeds) of the final finite-n :math:`\log\kappa_T`
    with a 95% interval over instances, and the verdict of :func:`forgetting`; the rounds bound per
    start; the run's parameters."""
    alpha, starts = values["alpha"], values["starts"]
    instances = range(values["instances"])
    good, poor = min(starts), max(starts)
    holds = True
    for e0 in starts:
        for i in instances:
            kappa = _select(values, e0, "population", "kappa", instance=i)
            kappa_sigma = _select(values, e0, "population", "kappa_sigma", instance=i)
            holds &= bool((np.log(kappa) <= span_bound(values, e0, i) + SLACK).all()
                          and (kappa_sigma <= kappa * (1 + SLACK)).all())
    slopes = []
    for i in instances:
        t = _select(values, poor, "population", "t", instance=i)
        kappa = _select(values, poor, "population", "kappa", instance=i)
        slopes.append(fit_line(t[t >= 1], np.log(np.log(kappa[t >= 1]))).slope)
    ci = mean_interval(slopes)
    predicted = float(np.log(1 - alpha))
    gaps = np.array(slopes) - predicted
    side = "steeper" if (gaps < 0).all() else "shallower" if (gaps > 0).all() else "mixed"
    kappa0 = [_select(values, poor, "population", name, t=0)
              for name in ("kappa", "kappa_sigma")]
    out = {
        "s3_heal_holds": "holds" if holds else "fails",
        "s3_heal_slope": ci.mean,
        "s3_heal_lo": ci.lo,
        "s3_heal_hi": ci.hi,
        "s3_heal_slope_min": float(min(slopes)),
        "s3_heal_slope_max": float(max(slopes)),
        "s3_heal_pred": predicted,
        "s3_heal_inside": "inside" if ci.lo <= predicted <= ci.hi else "outside",
        "s3_heal_side": SIDES[side][0],
        "s3_heal_pace": SIDES[side][1],
        "s3_kappa0_poor": float(np.median(kappa0[0])),
        "s3_kappas0_poor": float(np.median(kappa0[1])),
    }
    finite = _regime(values["n"])
    final = {}
    for e0 in sorted(starts):
        final[e0] = np.array([np.log(_select(values, e0, finite, "kappa", t=values["iters"],
                                             instance=i)).mean() for i in instances])
        ci = mean_interval(final[e0])
        out.update(named(FINAL_NAMES.get(e0), mean=ci.mean, lo=ci.lo, hi=ci.hi))
    diffs = final[poor] - final[good]
    ci = mean_interval(diffs)
    out["s3_forget_diff"], out["s3_forget_lo"], out["s3_forget_hi"] = ci.mean, ci.lo, ci.hi
    out["s3_forget_margin"] = float(values["forget_margin"] * abs(final[good].mean()))
    out["s3_forget_margin_pct"] = 100 * values["forget_margin"]
    out["s3_forgotten"] = forgetting(diffs, final[good].mean(), values["forget_margin"])
    out["s3_rounds_poor"] = rounds_to_heal(alpha, poor, values["epsilon"])
    out["s3_rounds_good"] = rounds_to_heal(alpha, good, values["epsilon"])
    out["n_heal"] = values["n"]
    out["n_heal_iters"] = values["iters"]
    out["n_heal_instances"] = values["instances"]
    out["n_heal_seeds"] = values["seeds"]
    out["heal_e0_good"] = good
    out["heal_e0_poor"] = poor
    return out


def plot(values: dict):
    r""":math:`\kappa_t` and :math:`\kappa_{\Sigma,t}` per start (one panel each): the
    population run of each instance (thin solid lines) and the finite-n runs (mean over each
    instance's seeds, then the mean over instances with a 95% bootstrap interval over
    instances, dashed with markers); the span bound :math:`\exp((1-\alpha)^t s_0)` per instance
    (thin grey) and the distance bound :math:`\exp(2(1-\alpha)^t e_0)` (dotted)."""
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    alpha, steps = values["alpha"], np.arange(values["iters"] + 1)
    heal = pd.DataFrame(values["rows"])
    heal = heal.groupby(["e0", "regime", "instance", "t"], as_index=False)[
        ["kappa", "kappa_sigma"]].mean()
    long = heal.melt(id_vars=["t", "instance", "e0", "regime"],
                     value_vars=["kappa", "kappa_sigma"], var_name="measure", value_name="value")
    long["measure"] = long.measure.map({"kappa": r"$\kappa$", "kappa_sigma": r"$\kappa_\Sigma$"})
    palette = dict(zip([r"$\kappa$", r"$\kappa_\Sigma$"], sns.color_palette("deep", 2)))
    groups = list(long.groupby("e0"))
    fig, axes = plt.subplots(1, len(groups), figsize=(5 * len(groups), 4.2), sharey=True,
                             squeeze=False)
    for ax, (e0, group) in zip(axes[0], groups):
        population = group[group.regime == "population"]
        sns.lineplot(data=population, x="t", y="value", hue="measure", units="instance",
                     estimator=None, palette=palette, lw=0.7, alpha=0.5, ax=ax, legend=False)
        sns.lineplot(data=group[group.regime != "population"], x="t", y="value", hue="measure",
                     palette=palette, marker="o", ls="--", errorbar=("ci", 95), n_boot=1000,
                     seed=0, ax=ax)
        for i in range(values["instances"]):
            ax.plot(steps, np.exp(span_bound(values, e0, i)), color="gray", lw=0.5, alpha=0.6)
        ax.plot(steps, np.exp(2 * e0 * (1 - alpha) ** steps), ls=":", color="k", lw=1,
                label=r"$\exp(2(1-\alpha)^t e_0)$")
        ax.set(yscale="log", xlabel="iteration $t$", ylabel="condition number",
               title=rf"$e_0 = {e0:g}$")
        ax.legend(fontsize="small")
    fig.tight_layout()
    return fig
