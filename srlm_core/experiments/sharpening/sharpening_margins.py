r"""Margin collapse in the paper's loop: planted near-ties, finite samples against the population.

Each problem instance draws graded near-uniform log-probabilities :math:`\tau z`
(:math:`z\sim N(0,I)`, prompts x responses) and, for every gap :math:`g` of the grid, plants two
top responses per prompt: the leader ``lead`` above the best of the rest and the runner-up
:math:`g` below the leader, so Definition 5.2's margin of :math:`\pi_0` is exactly :math:`g`
(:func:`planted_policy`).  The finite-sample loop is
:func:`srlm_core.model.sharpening.tabular.iterate` (Eq. 3, minimum-norm rule); the
population loop is :math:`\pi_t\propto\pi_0^{s_t}`, whose margin is :math:`s_tg`
(:func:`srlm_core.theory.sharpening.loss_minimisers.population_margin`).  Per round we record
:math:`\kappa_t`, :math:`F_{\mathrm{own}}`, :math:`F_{\mathrm{base}}`, the mode-switch share,
:math:`c_t` and :math:`\gamma_t` (minimum over prompts), for both loops.  Instances are the
units; the gaps of one instance share its :math:`z` (paired).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import log_softmax

from srlm_core.errors import require, require_at_least, require_positive
from srlm_core.experiments import named
from srlm_core.model.sharpening import observables, tabular
from srlm_core.options import option
from srlm_core.stats import equivalence_test, mean_interval, minimum_detectable_difference

#: The glue names of each planted gap: the mode-switch share, F_base and F_own at T, each with
#: its 95% interval; for a positive gap also gamma / g with its interval, the factor g / gamma
#: and the share of shrunk margins with its interval.
GAP_NAMES = {
    0.0: {"switch": "p5_switch_g000", "switch_lo": "p5_switch_g000_lo",
          "switch_hi": "p5_switch_g000_hi", "base": "p5_base_g000", "base_lo": "p5_base_g000_lo",
          "base_hi": "p5_base_g000_hi", "own": "p5_own_g000", "own_lo": "p5_own_g000_lo",
          "own_hi": "p5_own_g000_hi"},
    0.05: {"switch": "p5_switch_g005", "switch_lo": "p5_switch_g005_lo",
           "switch_hi": "p5_switch_g005_hi", "base": "p5_base_g005", "base_lo": "p5_base_g005_lo",
           "base_hi": "p5_base_g005_hi", "own": "p5_own_g005", "own_lo": "p5_own_g005_lo",
           "own_hi": "p5_own_g005_hi", "ratio": "p5_ratio_g005", "ratio_lo": "p5_ratio_g005_lo",
           "ratio_hi": "p5_ratio_g005_hi", "factor": "p5_factor_g005", "shrunk": "p5_shrunk_g005",
           "shrunk_lo": "p5_shrunk_g005_lo", "shrunk_hi": "p5_shrunk_g005_hi"},
    0.2: {"switch": "p5_switch_g020", "switch_lo": "p5_switch_g020_lo",
          "switch_hi": "p5_switch_g020_hi", "base": "p5_base_g020", "base_lo": "p5_base_g020_lo",
          "base_hi": "p5_base_g020_hi", "own": "p5_own_g020", "own_lo": "p5_own_g020_lo",
          "own_hi": "p5_own_g020_hi", "ratio": "p5_ratio_g020", "ratio_lo": "p5_ratio_g020_lo",
          "ratio_hi": "p5_ratio_g020_hi", "factor": "p5_factor_g020", "shrunk": "p5_shrunk_g020",
          "shrunk_lo": "p5_shrunk_g020_lo", "shrunk_hi": "p5_shrunk_g020_hi"},
    0.5: {"switch": "p5_switch_g050", "switch_lo": "p5_switch_g050_lo",
          "switch_hi": "p5_switch_g050_hi", "base": "p5_base_g050", "base_lo": "p5_base_g050_lo",
          "base_hi": "p5_base_g050_hi", "own": "p5_own_g050", "own_lo": "p5_own_g050_lo",
          "own_hi": "p5_own_g050_hi", "ratio": "p5_ratio_g050", "ratio_lo": "p5_ratio_g050_lo",
          "ratio_hi": "p5_ratio_g050_hi", "factor": "p5_factor_g050", "shrunk": "p5_shrunk_g050",
          "shrunk_lo": "p5_shrunk_g050_lo", "shrunk_hi": "p5_shrunk_g050_hi"},
    1.0: {"switch": "p5_switch_g100", "switch_lo": "p5_switch_g100_lo",
          "switch_hi": "p5_switch_g100_hi", "base": "p5_base_g100", "base_lo": "p5_base_g100_lo",
          "base_hi": "p5_base_g100_hi", "own": "p5_own_g100", "own_lo": "p5_own_g100_lo",
          "own_hi": "p5_own_g100_hi", "ratio": "p5_ratio_g100", "ratio_lo": "p5_ratio_g100_lo",
          "ratio_hi": "p5_ratio_g100_hi", "factor": "p5_factor_g100", "shrunk": "p5_shrunk_g100",
          "shrunk_lo": "p5_shrunk_g100_lo", "shrunk_hi": "p5_shrunk_g100_hi"},
}


@dataclass(frozen=True)
class Config:
    r"""The run and its pre-registered margins.

    ``gaps``: the planted log-gaps :math:`g\ge0` between the two top responses (0 = exact tie);
    ``prompts``, ``responses``: the table's size; ``temperature``: :math:`\tau` of
    :math:`\pi_0=\mathrm{softmax}(\tau z)` before planting; ``lead``: the leader's log-gap above
    the best unplanted response; ``beta``: the KL strength :math:`\beta`; ``rounds``: :math:`T`;
    ``pairs``: pairs per prompt and round; ``instances``: problem instances (the units);
    ``seed``: the base seed.  Pre-registered: ``collapse_ratio``: the finite-sample loop
    *collapses* the margin of gap :math:`g` when the 95% upper bound over instances of
    Definition 5.2's :math:`\gamma` (minimum over prompts and rounds) divided by :math:`g` is
    below it; ``tie_failure_max``: the loop *breaks ties* when the upper bound of
    :math:`F_{\mathrm{own}}` at :math:`T` on exact ties is below it; ``coin_margin``: the
    equivalence margin around :math:`\tfrac12` of the switch share among broken ties;
    ``tolerance``: the largest gap between the simulated population margin and
    :math:`s_tg` read as rounding error."""

    gaps: tuple[float, ...] = option((0.0, 0.05, 0.2, 0.5, 1.0),
                                     "planted log-gaps g >= 0 between the two top responses (0: "
                                     "exact tie)")
    prompts: int = option(100, "prompts of the table")
    responses: int = option(20, "responses per prompt")
    temperature: float = option(0.5, "temperature tau of pi_0 = softmax(tau z) before planting")
    lead: float = option(1.0, "the leader's log-gap above the best unplanted response")
    beta: float = option(1.0, "KL strength beta")
    rounds: int = option(6, "rounds T")
    pairs: int = option(4, "pairs per prompt and round")
    instances: int = option(20, "problem instances (the units)")
    seed: int = option(0, "base seed")
    collapse_ratio: float = option(0.5,
                                   "the margin collapses when the upper bound of gamma / g is "
                                   "below this")
    tie_failure_max: float = option(0.5,
                                    "the loop breaks ties when the upper bound of F_own on exact "
                                    "ties is below this")
    coin_margin: float = option(0.1,
                                "equivalence margin around 1/2 of the switch share among broken "
                                "ties")
    tolerance: float = option(1e-9,
                              "largest gap of the simulated population margin to s_t g read as "
                              "rounding error")

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        gaps = tuple(self.gaps)
        require(self, ("gaps", len(gaps) >= 2 and 0.0 in gaps and all(g >= 0 for g in gaps)
                       and len(set(gaps)) == len(gaps) and list(gaps) == sorted(gaps),
                       "must be distinct, sorted, non-negative and include the tie 0"))
        require_at_least(self, 1, "rounds", "pairs")
        require_at_least(self, 2, "prompts", "instances")
        require_at_least(self, 3, "responses")
        require_positive(self, "temperature", "lead", "beta", "collapse_ratio",
                         "tie_failure_max", "coin_margin", "tolerance")
        return self


def planted_policy(log_probs: np.ndarray, gap: float, lead: float) -> np.ndarray:
    r"""Renormalised :math:`\exp` of ``log_probs`` with its two largest entries per prompt
    replaced: the leader at :math:`\max+\text{lead}`, the runner-up ``gap`` below it."""
    out = log_probs.copy()
    order = np.argsort(-log_probs, axis=-1)
    rows = np.arange(out.shape[0])
    top = log_probs.max(axis=-1) + lead
    out[rows, order[:, 0]] = top
    out[rows, order[:, 1]] = top - gap
    return np.exp(log_softmax(out, axis=-1))


def base_margin(probs: np.ndarray, base_modes: np.ndarray) -> np.ndarray:
    r"""Per prompt, the signed margin of :math:`\pi_0`'s mode,
    :math:`\log\pi(y^{\pi_0})-\max_{y\ne y^{\pi_0}}\log\pi(y)` (negative once the mode has
    switched)."""
    with np.errstate(divide="ignore"):
        log_probs = np.log(probs)
    rows = np.arange(probs.shape[0])
    own = log_probs[rows, base_modes]
    log_probs[rows, base_modes] = -np.inf
    return own - log_probs.max(axis=-1)


def _record(policy: np.ndarray, base: np.ndarray) -> dict:
    """The observables of one policy, with the switch share among prompts that are not tied
    (``None`` when every prompt is tied)."""
    row = observables.summary(policy, base)
    untied = observables.log_margin(policy) > 0
    switched = observables.modes(policy) != base
    row["switches_untied"] = float(switched[untied].mean()) if untied.any() else None
    return row


def run(config: Config) -> dict:
    r"""Per instance, gap and round: the finite-sample and population observables (``rows``),
    with the share of prompts whose signed margin of :math:`\pi_0`'s mode
    (:func:`base_margin`) is below the planted gap (``shrunk``) and the
    population margin's closed form :math:`s_tg`."""
    c = config.validate()
    rows = []
    for instance in range(c.instances):
        z = np.random.default_rng([c.seed, instance]).normal(size=(c.prompts, c.responses))
        for k, gap in enumerate(c.gaps):
            start = planted_policy(c.temperature * z, gap, c.lead)
            base = observables.modes(start)
            rng = np.random.default_rng([c.seed, instance, k])
            finite = tabular.iterate(start, c.beta, c.rounds, c.pairs, rng)
            for t, policy in enumerate(finite):
                population = tabular.sharpen(start, c.beta, t)
                pop = observables.summary(population, base)
                shrunk = float((base_margin(policy, base) < gap - 1e-9).mean())
                rows.append({"instance": instance, "gap": gap, "t": t, **_record(policy, base),
                             "shrunk": shrunk,
                             "pop_kappa": pop["kappa"], "pop_failure_own": pop["failure_own"],
                             "pop_gamma": pop["gamma"],
                             "pop_gamma_closed": tabular.exponent(c.beta, t) * gap})
    return {"config": {"gaps": list(c.gaps), "rounds": c.rounds, "pairs": c.pairs,
                       "beta": c.beta, "instances": c.instances, "prompts": c.prompts,
                       "responses": c.responses, "temperature": c.temperature,
                       "lead": c.lead, "collapse_ratio": c.collapse_ratio,
                       "tie_failure_max": c.tie_failure_max, "coin_margin": c.coin_margin,
                       "tolerance": c.tolerance},
            "rows": rows}


def _per_instance(rows: list[dict], gap: float, field: str, t: int | None = None,
                  reduce=None) -> np.ndarray:
    """One number per instance for ``gap``: ``field`` at round ``t``, or reduced over rounds."""
    instances = sorted({r["instance"] for r in rows})
    out = []
    for i in instances:
        sub = sorted((r for r in rows if r["instance"] == i and r["gap"] == gap),
                     key=lambda r: r["t"])
        out.append(reduce([r[field] for r in sub]) if reduce else sub[t][field])
    return np.asarray(out, float)


def summarise(values: dict) -> dict:
    r"""The glued numbers and verdicts (prefix ``p5_``): the population margin against
    :math:`s_tg` (an identity check), the population's :math:`F_{\mathrm{own}}` on ties; the share
    of runs whose Definition 5.2 :math:`c` (minimum over rounds) is attained at round 0 and the
    smallest ratio of that :math:`c` to the round-0 one over all runs; per gap (:data:`GAP_NAMES`),
    Definition 5.2's :math:`\gamma` of the finite loop over :math:`g` (mean and 95% interval over
    instances), the factor :math:`g/\gamma` by which Eq. 7's :math:`1/\gamma` grows (median over
    instances), the share of prompts whose signed margin of :math:`\pi_0`'s mode after round 1 is
    below :math:`g` (mean and interval over instances), the mode-switch share,
    :math:`F_{\mathrm{own}}` and :math:`F_{\mathrm{base}}` at :math:`T`; the verdicts ``collapses``
    / ``does not collapse``, ``breaks ties`` / ``keeps ties``, ``a coin flip`` /
    ``not shown to be a coin flip`` and whether switches ``fall with the gap``."""
    cfg, rows = values["config"], values["rows"]
    T, gaps = cfg["rounds"], cfg["gaps"]
    gap_err = max(abs(r["pop_gamma"] - r["pop_gamma_closed"]) for r in rows)
    ties = [r for r in rows if r["gap"] == 0]
    out = {"p5_pop_gap_err": float(gap_err),
           "p5_pop_match": ("follows the closed form to rounding error"
                            if gap_err <= cfg["tolerance"] else "departs from the closed form"),
           "p5_pop_tie_own": ("1 at every round" if all(r["pop_failure_own"] == 1 for r in ties)
                              else "below 1 at some round"),
           "p5_instances": cfg["instances"], "p5_T": T, "p5_pairs": cfg["pairs"],
           "p5_beta": cfg["beta"], "p5_prompts": cfg["prompts"],
           "p5_responses": cfg["responses"], "p5_collapse_ratio": cfg["collapse_ratio"],
           "p5_tie_failure_max": cfg["tie_failure_max"], "p5_coin_margin": cfg["coin_margin"]}
    runs = {}
    for r in rows:
        runs.setdefault((r["instance"], r["gap"]), {})[r["t"]] = r["c"]
    out["p5_c_at_start"] = float(np.mean([min(c.values()) == c[0] for c in runs.values()]))
    out["p5_c_ratio"] = float(min(min(c.values()) / c[0] for c in runs.values()))
    collapsed, switch_means = [], []
    for gap in gaps:
        names = GAP_NAMES.get(gap)
        switch, base, own = (mean_interval(_per_instance(rows, gap, key, T))
                             for key in ("mode_switches", "failure_base", "failure_own"))
        out.update(named(names, switch=switch.mean, switch_lo=switch.lo, switch_hi=switch.hi,
                         base=base.mean, base_lo=base.lo, base_hi=base.hi,
                         own=own.mean, own_lo=own.lo, own_hi=own.hi))
        switch_means.append(switch.mean)
        if gap > 0:
            gamma = _per_instance(rows, gap, "gamma", reduce=min)  # Definition 5.2: min over t
            ci = mean_interval(gamma / gap)
            shrunk = mean_interval(_per_instance(rows, gap, "shrunk", 1))
            out.update(named(names, ratio=ci.mean, ratio_lo=ci.lo, ratio_hi=ci.hi,
                             factor=float(np.median(gap / gamma)), shrunk=shrunk.mean,
                             shrunk_lo=shrunk.lo, shrunk_hi=shrunk.hi))
            collapsed.append(ci.hi < cfg["collapse_ratio"])
    out["p5_collapse"] = ("collapses" if all(collapsed) else "does not collapse")
    out["p5_collapsed_gaps"] = int(sum(collapsed))
    out["p5_positive_gaps"] = len(collapsed)
    own = _per_instance(rows, 0.0, "failure_own", T)
    out["p5_tie_verdict"] = ("breaks ties" if mean_interval(own).hi < cfg["tie_failure_max"]
                             else "keeps ties")
    coin = _per_instance(rows, 0.0, "switches_untied", T) - 0.5
    test = equivalence_test(coin, cfg["coin_margin"])
    out["p5_coin"] = float(coin.mean() + 0.5)
    ci = mean_interval(coin + 0.5)
    out["p5_coin_lo"], out["p5_coin_hi"] = ci.lo, ci.hi
    out["p5_coin_p"] = test.p_value
    out["p5_coin_mdd"] = minimum_detectable_difference(float(coin.std(ddof=1)), coin.size)
    out["p5_coin_verdict"] = "a coin flip" if test.equivalent else "not shown to be a coin flip"
    out["p5_switch_trend"] = ("fall with the gap" if all(np.diff(switch_means) < 0)
                              else "do not fall with the gap at every step")
    return out


def plot(values: dict):
    r"""Three panels against the round, one colour per gap: Definition 5.2's :math:`\gamma_t`
    (minimum over prompts; finite loop solid with 95% intervals over instances, population
    :math:`s_tg` dashed; log scale, ties left out); the mode-switch share; :math:`F_{\mathrm{own}}`
    (finite solid, population dashed)."""
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    frame = pd.DataFrame(values["rows"])
    frame["gap"] = frame["gap"].map(lambda g: f"{g:g}")
    palette = dict(zip(frame["gap"].unique(), sns.color_palette("viridis",
                                                                 frame["gap"].nunique())))
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    positive = frame[frame["gap"] != "0"]
    sns.lineplot(data=positive, x="t", y="gamma", hue="gap", palette=palette, marker="o",
                 errorbar=("ci", 95), seed=0, ax=axes[0], legend=False)
    for gap, group in positive.groupby("gap"):
        first = group[group.instance == group.instance.min()]
        axes[0].plot(first["t"], first["pop_gamma_closed"], ls="--", color=palette[gap], lw=1)
    axes[0].set_yscale("log")
    axes[0].set_ylabel(r"margin $\gamma_t=\min_x$ log-gap")
    axes[0].set_title("margin: finite (solid), population (dashed)")
    sns.lineplot(data=frame, x="t", y="mode_switches", hue="gap", palette=palette, marker="o",
                 errorbar=("ci", 95), seed=0, ax=axes[1], legend=False)
    axes[1].axhline(0, color="gray", ls="--", lw=1)
    axes[1].set_ylabel(r"share of prompts with mode $\ne y^{\pi_0}$")
    axes[1].set_title("mode switches (population: 0)")
    sns.lineplot(data=frame, x="t", y="failure_own", hue="gap", palette=palette, marker="o",
                 errorbar=("ci", 95), seed=0, ax=axes[2])
    sns.lineplot(data=frame, x="t", y="pop_failure_own", hue="gap", palette=palette,
                 errorbar=None, ax=axes[2], legend=False, ls="--")
    axes[2].set_ylabel(r"$F_{\mathrm{own}}=P_x[\max_y\pi_t\leq 1/2]$")
    axes[2].legend(title="planted gap $g$", fontsize=8, loc="center right")
    axes[2].set_title(r"$F_{\mathrm{own}}$: finite (solid), population (dashed)")
    for ax in axes:
        ax.set_xlabel("round $t$")
    fig.tight_layout()
    return fig
