r"""Theorem 5.3 / Remark 5.5 in the paper's tabular setting: :math:`\kappa_t` round by round.

On ``instances`` graded near-uniform problems
(:mod:`srlm_core.model.sharpening.graded_problems`, instance :math:`i` drawn with seed
``seed + i``, which also seeds its pair draws) the paper's loop
(:func:`srlm_core.model.sharpening.tabular.iterate`) runs ``rounds`` rounds with :math:`n`
fresh pairs per prompt and round: with the minimum-norm rule for every :math:`n` in ``ns``,
with the ridge to :math:`\pi_t` (:math:`\lambda=` ``ridge``) for :math:`n` in
``ridge_ns``, and with the minimum-norm rule at the theorem's coupling
:math:`\beta_n=\beta/\sqrt n` (arm ``scaled``) for every :math:`n`.  Recorded per round:
:math:`\kappa_t`, :math:`F_{\mathrm{own}}`, the minimum confidence and the margin
(:mod:`srlm_core.model.sharpening.observables`), and the population curves
:math:`\kappa(\pi_0^{(1+1/\beta)^t})` at :math:`\beta` and at every :math:`\beta_n`.

Per instance and arm the recursion's form :math:`\kappa_t=U+q^t(\kappa_0-U)` is fitted by least
squares (:func:`fit_recursion`); the paper's rate is :math:`(1+\sqrt{n\hat c})^{-1}` with
:math:`\hat c` the instance's minimum confidence over all rounds (round 0 included)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import curve_fit

from srlm_core.errors import require, require_at_least, require_positive
from srlm_core.experiments import named
from srlm_core.model.sharpening import observables, tabular
from srlm_core.model.sharpening.graded_problems import graded_near_uniform
from srlm_core.options import option
from srlm_core.stats import mean_interval, slope_across_units

#: The arms: the minimum-norm minimiser and a ridge to pi_t at beta, and the minimum-norm
#: minimiser at beta / sqrt(n).
ARMS = ("min_norm", "ridge", "scaled")


#: The glue names of each pair count n: the minimum-norm arm's rate q-hat and the paper's
#: rate and floor (means, intervals over instances); the scaled arm's q-hat, its tied rate
#: beta_n / (1 + beta_n) and its population rate.
N_NAMES = {
    1: {"q": "p2_k_q_n1", "q_lo": "p2_k_q_n1_lo", "q_hi": "p2_k_q_n1_hi",
        "paper_rate": "p2_k_paper_rate_n1", "paper_floor": "p2_k_paper_floor_n1",
        "paper_floor_lo": "p2_k_paper_floor_n1_lo", "paper_floor_hi": "p2_k_paper_floor_n1_hi",
        "scaled_q": "p2_k_scaled_q_n1", "scaled_q_lo": "p2_k_scaled_q_n1_lo",
        "scaled_q_hi": "p2_k_scaled_q_n1_hi", "scaled_tied": "p2_k_scaled_tied_n1",
        "scaled_population": "p2_k_scaled_population_n1"},
    2: {"q": "p2_k_q_n2", "q_lo": "p2_k_q_n2_lo", "q_hi": "p2_k_q_n2_hi",
        "paper_rate": "p2_k_paper_rate_n2", "paper_floor": "p2_k_paper_floor_n2",
        "paper_floor_lo": "p2_k_paper_floor_n2_lo", "paper_floor_hi": "p2_k_paper_floor_n2_hi",
        "scaled_q": "p2_k_scaled_q_n2", "scaled_q_lo": "p2_k_scaled_q_n2_lo",
        "scaled_q_hi": "p2_k_scaled_q_n2_hi", "scaled_tied": "p2_k_scaled_tied_n2",
        "scaled_population": "p2_k_scaled_population_n2"},
    4: {"q": "p2_k_q_n4", "q_lo": "p2_k_q_n4_lo", "q_hi": "p2_k_q_n4_hi",
        "paper_rate": "p2_k_paper_rate_n4", "paper_floor": "p2_k_paper_floor_n4",
        "paper_floor_lo": "p2_k_paper_floor_n4_lo", "paper_floor_hi": "p2_k_paper_floor_n4_hi",
        "scaled_q": "p2_k_scaled_q_n4", "scaled_q_lo": "p2_k_scaled_q_n4_lo",
        "scaled_q_hi": "p2_k_scaled_q_n4_hi", "scaled_tied": "p2_k_scaled_tied_n4",
        "scaled_population": "p2_k_scaled_population_n4"},
    8: {"q": "p2_k_q_n8", "q_lo": "p2_k_q_n8_lo", "q_hi": "p2_k_q_n8_hi",
        "paper_rate": "p2_k_paper_rate_n8", "paper_floor": "p2_k_paper_floor_n8",
        "paper_floor_lo": "p2_k_paper_floor_n8_lo", "paper_floor_hi": "p2_k_paper_floor_n8_hi",
        "scaled_q": "p2_k_scaled_q_n8", "scaled_q_lo": "p2_k_scaled_q_n8_lo",
        "scaled_q_hi": "p2_k_scaled_q_n8_hi", "scaled_tied": "p2_k_scaled_tied_n8",
        "scaled_population": "p2_k_scaled_population_n8"},
    32: {"q": "p2_k_q_n32", "q_lo": "p2_k_q_n32_lo", "q_hi": "p2_k_q_n32_hi",
         "paper_rate": "p2_k_paper_rate_n32", "paper_floor": "p2_k_paper_floor_n32",
         "paper_floor_lo": "p2_k_paper_floor_n32_lo", "paper_floor_hi": "p2_k_paper_floor_n32_hi",
         "scaled_q": "p2_k_scaled_q_n32", "scaled_q_lo": "p2_k_scaled_q_n32_lo",
         "scaled_q_hi": "p2_k_scaled_q_n32_hi", "scaled_tied": "p2_k_scaled_tied_n32",
         "scaled_population": "p2_k_scaled_population_n32"},
    128: {"q": "p2_k_q_n128", "q_lo": "p2_k_q_n128_lo", "q_hi": "p2_k_q_n128_hi",
          "paper_rate": "p2_k_paper_rate_n128", "paper_floor": "p2_k_paper_floor_n128",
          "paper_floor_lo": "p2_k_paper_floor_n128_lo",
          "paper_floor_hi": "p2_k_paper_floor_n128_hi", "scaled_q": "p2_k_scaled_q_n128",
          "scaled_q_lo": "p2_k_scaled_q_n128_lo", "scaled_q_hi": "p2_k_scaled_q_n128_hi",
          "scaled_tied": "p2_k_scaled_tied_n128",
          "scaled_population": "p2_k_scaled_population_n128"},
}
#: The glue names of the slopes over the small and the large sample sizes.
PART_NAMES = {
    "small": {"slope": "p2_k_slope_small", "lo": "p2_k_slope_small_lo", "hi": "p2_k_slope_small_hi",
              "verdict": "p2_k_slope_small_verdict"},
    "large": {"slope": "p2_k_slope_large", "lo": "p2_k_slope_large_lo", "hi": "p2_k_slope_large_hi",
              "verdict": "p2_k_slope_large_verdict"},
}


@dataclass(frozen=True)
class Config:
    r"""``prompts``, ``responses``: the table's size :math:`P\times K`; ``temperature``:
    :math:`\tau` of :math:`\pi_0=\mathrm{softmax}(\tau z)`; ``beta``: the KL strength;
    ``rounds``: :math:`T`; ``ns``: pairs per prompt and round, increasing; ``ridge``:
    :math:`\lambda` of the ridge arm; ``ridge_ns``: its sample sizes (a subset of ``ns``);
    ``instances``: problems (the unit of every interval); ``small_n``: the "small-:math:`n`"
    slope is fitted over :math:`n\le` ``small_n``; ``large_n``: the "large-:math:`n`" slope
    over :math:`n\ge` ``large_n``; ``paper_slope``: the slope of :math:`\log(1/q-1)` on
    :math:`\log n` implied by :math:`q=(1+\sqrt{nc})^{-1}` at large :math:`nc`;
    ``slope_margin``: how far from ``paper_slope`` the ``scaled`` arm's large-:math:`n` slope
    may lie (its whole interval) to count as matching; ``seed``: the first instance's seed."""

    prompts: int = option(200, "prompts P of the table")
    responses: int = option(50, "responses K per prompt")
    temperature: float = option(0.3, "temperature tau of pi_0 = softmax(tau z)")
    beta: float = option(1.0, "KL strength beta")
    rounds: int = option(10, "rounds T")
    ns: tuple[int, ...] = option((1, 2, 4, 8, 32, 128), "pairs per prompt and round, increasing")
    ridge: float = option(1.0, "ridge lambda of the ridge arm")
    ridge_ns: tuple[int, ...] = option((2, 8, 32), "pair counts of the ridge arm (a subset of ns)")
    instances: int = option(8, "problems (the unit of every interval)")
    small_n: int = option(4, "the small-n slope is fitted over n up to this")
    large_n: int = option(32, "the large-n slope is fitted over n from this")
    paper_slope: float = option(0.5,
                                "slope of log(1/q - 1) on log n implied by q = (1 + sqrt(nc))^-1 "
                                "at large nc")
    slope_margin: float = option(0.1,
                                 "how far from paper_slope the scaled arm's large-n slope may lie "
                                 "to match")
    seed: int = option(0, "seed of instance 0 (instance i uses seed + i)")

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        require_at_least(self, 2, "prompts", "responses", "rounds", "instances")
        require_positive(self, "temperature", "beta", "ridge", "paper_slope", "slope_margin")
        require(self, ("ns", len(self.ns) >= 4 and all(n >= 1 for n in self.ns)
                       and list(self.ns) == sorted(set(self.ns)),
                       "needs at least four distinct increasing sample sizes >= 1"),
                ("ridge_ns", set(self.ridge_ns) <= set(self.ns), "must be a subset of ns"),
                ("small_n", sum(n <= self.small_n for n in self.ns) >= 2,
                 "must leave at least two sample sizes at or below it"),
                ("large_n", sum(n >= self.large_n for n in self.ns) >= 2,
                 "must leave at least two sample sizes at or above it"))
        return self


def fit_recursion(kappas) -> tuple[float, float]:
    r"""Least-squares :math:`(U, q)` of :math:`\kappa_t=U+q^t(\kappa_0-U)` with
    :math:`\kappa_0` the first value, :math:`1\le U<\kappa_0`, :math:`0<q<1`."""
    kappas = np.asarray(kappas, float)
    t, k0 = np.arange(kappas.size), kappas[0]
    (u, q), _ = curve_fit(lambda s, u, q: u + q**s * (k0 - u), t, kappas, p0=(1.0, 0.7),
                          bounds=([1.0, 1e-9], [k0 - 1e-9, 1.0 - 1e-9]))
    return float(u), float(q)


def floor_for_rate(kappas, rate: float) -> float:
    r"""The smallest :math:`U\ge1` with :math:`\kappa_t\le U+q^t(\kappa_0-U)` at every round
    for the given rate :math:`q`: :math:`\max_{t\ge1}(\kappa_t-q^t\kappa_0)/(1-q^t)`."""
    kappas = np.asarray(kappas, float)
    decay = rate ** np.arange(1, kappas.size)
    return float(max(1.0, np.max((kappas[1:] - decay * kappas[0]) / (1.0 - decay))))


def run(config: Config) -> dict:
    r"""Per arm, :math:`n`, instance and round: :math:`\kappa_t`, :math:`F_{\mathrm{own}}`,
    :math:`c_t`, :math:`\gamma_t`; per instance the population :math:`\kappa_t` at
    :math:`\beta` and per :math:`n` and instance at :math:`\beta_n=\beta/\sqrt n`."""
    c = config.validate()
    rows, population, scaled = [], [], {str(n): [] for n in c.ns}
    for instance in range(c.instances):
        base = graded_near_uniform(c.prompts, c.responses, c.temperature,
                                   np.random.default_rng(c.seed + instance))
        population.append([float(observables.kappa(tabular.sharpen(base, c.beta, t)))
                           for t in range(c.rounds + 1)])
        for n in c.ns:
            scaled[str(n)].append([float(observables.kappa(tabular.sharpen(
                base, c.beta / np.sqrt(n), t))) for t in range(c.rounds + 1)])
        for arm, n in _arms(c.ns, c.ridge_ns):
            rng = np.random.default_rng([c.seed + instance, n, ARMS.index(arm)])
            beta = c.beta / np.sqrt(n) if arm == "scaled" else c.beta
            rule, ridge = ("ridge", c.ridge) if arm == "ridge" else ("min_norm", 0.0)
            policies = tabular.iterate(base, beta, c.rounds, n, rng, rule, ridge)
            for t, policy in enumerate(policies):
                rows.append({"arm": arm, "n": n, "instance": instance, "t": t,
                             "kappa": float(observables.kappa(policy)),
                             "failure_own": float(observables.failure_own(policy)),
                             "c": float(observables.min_confidence(policy)),
                             "gamma": float(observables.margin(policy))})
    return {"prompts": c.prompts, "responses": c.responses, "temperature": c.temperature,
            "ns": list(c.ns), "ridge_ns": list(c.ridge_ns), "instances": c.instances,
            "rounds": c.rounds, "beta": c.beta, "ridge": c.ridge, "small_n": c.small_n,
            "large_n": c.large_n,
            "paper_slope": c.paper_slope, "slope_margin": c.slope_margin, "rows": rows,
            "population": population, "scaled_population": scaled}


def _arms(ns, ridge_ns) -> list[tuple[str, int]]:
    """(arm, n) of every run: each arm over its sample sizes."""
    return ([("min_norm", n) for n in ns] + [("ridge", n) for n in ridge_ns]
            + [("scaled", n) for n in ns])


def _curve(values: dict, arm: str, n: int, instance: int, field: str = "kappa") -> np.ndarray:
    return np.array([r[field] for r in values["rows"]
                     if (r["arm"], r["n"], r["instance"]) == (arm, n, instance)])


def fits(values: dict) -> list[dict]:
    r"""Per arm, :math:`n` and instance: the fitted :math:`(\hat U,\hat q)`, the instance's
    :math:`\hat c` (minimum over rounds), the paper's rate :math:`(1+\sqrt{n\hat c})^{-1}`, the
    floor :math:`U` that rate needs to bound the curve (:func:`floor_for_rate`), the margin
    :math:`\hat\gamma` (minimum over rounds) and :math:`\kappa_0\hat c`."""
    out = []
    for arm, n in _arms(values["ns"], values["ridge_ns"]):
        for i in range(values["instances"]):
            kappas = _curve(values, arm, n, i)
            c_hat = float(_curve(values, arm, n, i, "c").min())
            paper = 1.0 / (1.0 + np.sqrt(n * c_hat))
            u, q = fit_recursion(kappas)
            out.append({"arm": arm, "n": n, "instance": i, "U": u, "q": q, "c": c_hat,
                        "paper_rate": float(paper), "paper_floor": floor_for_rate(kappas, paper),
                        "gamma": float(_curve(values, arm, n, i, "gamma").min()),
                        "kappa0_c": float(kappas[0] * c_hat)})
    return out


def eq7_without_log():
    r"""Eq. 7 with every hidden constant 1 and its factor :math:`\log(n|\Pi|/\rho)` replaced by
    1 (smaller than any value it takes), from
    :func:`srlm_core.theory.sharpening.kappa_recursion.eq7`, as a NumPy function of
    :math:`(n, c, \gamma, \delta, \kappa_0, T)`."""
    import sympy as sp

    from srlm_core.theory.sharpening import kappa_recursion as kr

    e = kr.eq7()
    return sp.lambdify((kr.n, kr.c, kr.gamma, kr.delta, kr.kappa_0, kr.T),
                       sp.simplify(e.rhs / e.log_factor), "numpy")


def _slope(frame: list[dict], ns: list[int]) -> tuple:
    """The slope of log(1/q - 1) on log n within each instance, across instances."""
    rows = [f for f in frame if f["n"] in ns]
    return slope_across_units([np.log(f["n"]) for f in rows],
                              [np.log(1 / f["q"] - 1) for f in rows],
                              [f["instance"] for f in rows])


def _versus(lo: float, hi: float, value: float, below: str, inside: str, above: str) -> str:
    return below if hi < value else above if lo > value else inside


def summarise(values: dict) -> dict:
    r"""For the minimum-norm rule: the mean fitted :math:`\hat q` per :math:`n` with its interval
    over instances, the paper's rate and the floor it needs; the slope of :math:`\hat q` on
    :math:`\log n` (verdict ``falls with n`` when its interval is below 0, else ``does not fall
    with n``); the slopes of :math:`\log(1/\hat q-1)` on :math:`\log n` for
    :math:`n\le` ``small_n`` and :math:`n\ge` ``large_n`` against ``paper_slope`` (``steeper
    than`` / ``consistent with`` / ``shallower than``); the gap of :math:`\hat q` at the largest
    :math:`n` to the population curve's fitted rate, per instance, and the population rate
    :math:`\beta/(1+\beta)` of prompts whose margins have a density at 0; the ridge arm's
    :math:`\hat q` at its largest :math:`n` beside the minimum-norm one; the largest
    :math:`\kappa_0\hat c` (an identity: at most 1); the smallest Eq. 7 right-hand side over
    every cell, with the measured margin and with :math:`\gamma=1` (verdict, on the first,
    ``vacuous in every cell`` when it is at least 1, else ``below 1 somewhere``); for the
    ``scaled`` arm, :math:`\hat q` per :math:`n`, the population's fitted rate and
    :math:`\beta_n/(1+\beta_n)`, and its large-:math:`n` slope (``matches`` ``paper_slope``
    when its interval lies within ``slope_margin`` of it, else ``does not match``).
    Every name carries the chapter's tag ``p2_k_`` (per n :data:`N_NAMES`)."""
    frame = fits(values)
    ns = values["ns"]
    mn = [f for f in frame if f["arm"] == "min_norm"]
    out = {"p2_k_n_instances": values["instances"], "p2_k_n_min": ns[0], "p2_k_n_max": ns[-1],
           "p2_k_prompts": values["prompts"], "p2_k_responses": values["responses"],
           "p2_k_temperature": values["temperature"], "p2_k_beta": values["beta"],
           "p2_k_ridge": values["ridge"], "p2_k_q_tied": values["beta"] / (1 + values["beta"]),
           "p2_k_kappa0": float(np.mean([curve[0] for curve in values["population"]])),
           "p2_k_small_n": values["small_n"], "p2_k_large_n": values["large_n"],
           "p2_k_rounds": values["rounds"], "p2_k_paper_slope": values["paper_slope"]}
    for n in ns:
        cell = [f for f in mn if f["n"] == n]
        q = mean_interval([f["q"] for f in cell])
        floor = mean_interval([f["paper_floor"] for f in cell])
        out |= named(N_NAMES.get(n), q=q.mean, q_lo=q.lo, q_hi=q.hi,
                     paper_rate=float(np.mean([f["paper_rate"] for f in cell])),
                     paper_floor=floor.mean, paper_floor_lo=floor.lo, paper_floor_hi=floor.hi)
    trend = slope_across_units([np.log(f["n"]) for f in mn], [f["q"] for f in mn],
                               [f["instance"] for f in mn])
    out |= {"p2_k_q_trend": trend.slope, "p2_k_q_trend_lo": trend.lo, "p2_k_q_trend_hi": trend.hi,
            "p2_k_q_trend_verdict": "falls with n" if trend.hi < 0 else "does not fall with n"}
    for part, chosen in (("small", [n for n in ns if n <= values["small_n"]]),
                         ("large", [n for n in ns if n >= values["large_n"]])):
        s = _slope(mn, chosen)
        out |= named(PART_NAMES[part], slope=s.slope, lo=s.lo, hi=s.hi,
                     verdict=_versus(s.lo, s.hi, values["paper_slope"], "shallower than",
                                     "consistent with", "steeper than"))
    pop = [fit_recursion(curve)[1] for curve in values["population"]]
    top = sorted((f for f in mn if f["n"] == ns[-1]), key=lambda f: f["instance"])
    gap = mean_interval([f["q"] - p for f, p in zip(top, pop)])
    out |= {"p2_k_q_gap_population": gap.mean, "p2_k_q_gap_population_lo": gap.lo,
            "p2_k_q_gap_population_hi": gap.hi}
    top_ridge = values["ridge_ns"][-1]
    ridge = mean_interval([f["q"] for f in frame if f["arm"] == "ridge" and f["n"] == top_ridge])
    plain = mean_interval([f["q"] for f in mn if f["n"] == top_ridge])
    out |= {"p2_k_q_population": float(np.mean(pop)), "p2_k_q_population_min": float(np.min(pop)),
            "p2_k_q_population_max": float(np.max(pop)),
            "p2_k_ridge_n": top_ridge, "p2_k_q_ridge": ridge.mean, "p2_k_q_ridge_lo": ridge.lo,
            "p2_k_q_ridge_hi": ridge.hi, "p2_k_q_min_norm_at_ridge_n": plain.mean,
            "p2_k_kappa0_c_max": float(max(f["kappa0_c"] for f in frame))}
    scaled = [f for f in frame if f["arm"] == "scaled"]
    for n in ns:
        q = mean_interval([f["q"] for f in scaled if f["n"] == n])
        beta_n = values["beta"] / np.sqrt(n)
        out |= named(N_NAMES.get(n), scaled_q=q.mean, scaled_q_lo=q.lo, scaled_q_hi=q.hi,
                     scaled_tied=beta_n / (1 + beta_n),
                     scaled_population=float(np.mean([fit_recursion(curve)[1] for curve
                                                      in values["scaled_population"][str(n)]])))
    s = _slope(scaled, [n for n in ns if n >= values["large_n"]])
    margin = values["slope_margin"]
    inside = values["paper_slope"] - margin <= s.lo and s.hi <= values["paper_slope"] + margin
    out |= {"p2_k_scaled_slope": s.slope, "p2_k_scaled_slope_lo": s.lo,
            "p2_k_scaled_slope_hi": s.hi, "p2_k_slope_margin": margin,
            "p2_k_scaled_slope_verdict": "matches" if inside else "does not match"}
    eq7 = eq7_without_log()
    rhs = [eq7(f["n"], f["c"], f["gamma"], 0.5, values["population"][f["instance"]][0],
               values["rounds"]) for f in frame]
    at_gamma_one = [eq7(f["n"], f["c"], 1.0, 0.5, values["population"][f["instance"]][0],
                        values["rounds"]) for f in frame]
    out |= {"p2_k_eq7_min": float(np.min(rhs)),
            "p2_k_eq7_min_gamma_one": float(np.min(at_gamma_one)),
            "p2_k_eq7_verdict": ("vacuous in every cell" if np.min(rhs) >= 1
                                 else "below 1 somewhere"),
            "p2_k_gamma_max": float(max(f["gamma"] for f in frame))}
    return out


def plot(values: dict):
    r"""Left: :math:`\kappa_t-1` per round (log scale) for every :math:`n` (mean over instances,
    minimum-norm rule) and the population curve (dashed, black).  Middle, the reviewers' plot
    for the smallest, a middle and the largest :math:`n`:
    :math:`\kappa_t` (mean, markers), the fitted :math:`\hat U+\hat q^t(\kappa_0-\hat U)`
    (dotted) and the paper's rate with :math:`U=1` (dashed).  Right: :math:`\hat q` against
    :math:`n` (mean and 95% interval over instances) for every arm, the paper's
    :math:`(1+\sqrt{n\hat c})^{-1}`, the population's fitted rate at :math:`\beta` (grey band:
    its range over instances) and the population's fitted rate at :math:`\beta_n=\beta/\sqrt n`
    (dotted, mean over instances)."""
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    frame = pd.DataFrame(values["rows"])
    frame["excess"] = frame["kappa"] - 1
    frame["pairs"] = frame["n"].astype(str)
    mn = frame[frame.arm == "min_norm"]
    fitted = pd.DataFrame(fits(values))
    pop = np.array(values["population"])
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    ax = axes[0]
    sns.lineplot(data=mn, x="t", y="excess", hue="pairs", palette="viridis", marker="o",
                 hue_order=[str(n) for n in values["ns"]], errorbar=None, ax=ax)
    ax.plot(np.arange(pop.shape[1]), pop.mean(axis=0) - 1, "k--", label="population")
    ax.set_yscale("log")
    ax.set_xlabel("round $t$")
    ax.set_ylabel(r"$\kappa_t-1$")
    ax.legend(title="$n$", fontsize=8)
    ax = axes[1]
    t = np.arange(values["rounds"] + 1)
    ns = values["ns"]
    chosen = sorted({ns[0], ns[len(ns) // 2], ns[-1]})
    for color, n in zip(sns.color_palette("viridis", len(chosen)), chosen):
        kappas = mn[mn.n == n].groupby("t")["kappa"].mean().to_numpy()
        cell = fitted[(fitted.arm == "min_norm") & (fitted.n == n)]
        u, q, paper = cell["U"].mean(), cell["q"].mean(), cell["paper_rate"].mean()
        ax.plot(t, kappas, "o-", color=color, label=f"$n={n}$ measured")
        ax.plot(t, u + q**t * (kappas[0] - u), ":", color=color, lw=2)
        ax.plot(t, 1 + paper**t * (kappas[0] - 1), "--", color=color, lw=1)
    ax.plot([], [], "k:", lw=2, label=r"fitted $\hat U+\hat q^t(\kappa_0-\hat U)$")
    ax.plot([], [], "k--", lw=1, label=r"paper's rate, $U=1$")
    ax.set_xlabel("round $t$")
    ax.set_ylabel(r"$\kappa_t$")
    ax.legend(fontsize=8)
    ax = axes[2]
    labels = {"min_norm": "minimum norm", "ridge": "ridge", "scaled": r"$\beta/\sqrt{n}$"}
    for arm, marker in zip(ARMS, "os^"):
        cell = fitted[fitted.arm == arm].groupby("n")["q"]
        means = cell.mean()
        half = [mean_interval(g.to_numpy()) for _, g in cell]
        ax.errorbar(means.index, means.to_numpy(), fmt=marker + "-",
                    yerr=[[m - h.lo for m, h in zip(means, half)],
                          [h.hi - m for m, h in zip(means, half)]],
                    label=rf"measured $\hat q$, {labels[arm]}")
    paper = fitted[fitted.arm == "min_norm"].groupby("n")["paper_rate"].mean()
    ax.plot(paper.index, paper.to_numpy(), "k--", label=r"paper: $(1+\sqrt{n\hat c})^{-1}$")
    rates = [fit_recursion(curve)[1] for curve in pop]
    ax.axhspan(min(rates), max(rates), color="gray", alpha=0.3, label="population rate")
    scaled = [np.mean([fit_recursion(curve)[1] for curve in values["scaled_population"][str(n)]])
              for n in values["ns"]]
    ax.plot(values["ns"], scaled, ":", color="C2", lw=2,
            label=r"population rate at $\beta/\sqrt{n}$")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("pairs per prompt and round $n$")
    ax.set_ylabel("rate $q$")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
