r"""The paper's loop with the update swapped: does the contraction of :math:`\kappa_t` need Eq. 3?

Each problem instance draws :math:`\pi_0=\mathrm{softmax}(\tau z)` (:math:`z\sim N(0,I)`, prompts x
responses) and runs :math:`T` rounds of every update of
:data:`srlm_core.model.sharpening.loss_variants.UPDATES` (Eq. 3 with the minimum-norm or ridge
rule, the logistic loss with soft or Bradley–Terry labels) at every per-round pair count, and the
population loop :math:`\pi_t\propto\pi_0^{s_t}`, which every loss shares
(:func:`srlm_core.theory.sharpening.loss_minimisers.pair_minimisers`).  The updates of one
instance and pair count start from the same seed, so their first round sees the same pairs.
The per-round contraction of :math:`\kappa_t-\kappa_\infty` (:math:`\kappa_\infty=1`, the
population limit when modes are unique) is summarised per run by its geometric mean
:math:`\bar q=((\kappa_T-1)/(\kappa_0-1))^{1/T}` (:func:`mean_contraction`).  Instances are the
units; comparisons are paired within an instance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import log_softmax

from srlm_core.errors import require, require_at_least, require_positive
from srlm_core.experiments import named
from srlm_core.model.sharpening import loss_variants, observables, tabular
from srlm_core.options import option
from srlm_core.stats import mean_interval, minimum_detectable_difference

POPULATION = "population"
#: The glue names of each pair count's population q and mode-switch shares at T.
PAIRS_NAMES = {
    4: {"q_pop": "p5_q_pop_n4", "switch_squared_ridge": "p5_switch_squared_ridge_n4",
        "switch_logistic_bt": "p5_switch_logistic_bt_n4"},
    16: {"q_pop": "p5_q_pop_n16", "switch_squared_ridge": "p5_switch_squared_ridge_n16",
         "switch_logistic_bt": "p5_switch_logistic_bt_n16"},
}
#: The glue names of each update's mean contraction q (mean and 95% interval), by pair count.
Q_NAMES = {
    ("squared", 4): {"mean": "p5_q_squared_n4", "lo": "p5_q_squared_n4_lo",
                     "hi": "p5_q_squared_n4_hi"},
    ("squared_ridge", 4): {"mean": "p5_q_squared_ridge_n4", "lo": "p5_q_squared_ridge_n4_lo",
                           "hi": "p5_q_squared_ridge_n4_hi"},
    ("logistic_soft", 4): {"mean": "p5_q_logistic_soft_n4", "lo": "p5_q_logistic_soft_n4_lo",
                           "hi": "p5_q_logistic_soft_n4_hi"},
    ("logistic_bt", 4): {"mean": "p5_q_logistic_bt_n4", "lo": "p5_q_logistic_bt_n4_lo",
                         "hi": "p5_q_logistic_bt_n4_hi"},
    ("squared", 16): {"mean": "p5_q_squared_n16", "lo": "p5_q_squared_n16_lo",
                      "hi": "p5_q_squared_n16_hi"},
    ("squared_ridge", 16): {"mean": "p5_q_squared_ridge_n16", "lo": "p5_q_squared_ridge_n16_lo",
                            "hi": "p5_q_squared_ridge_n16_hi"},
    ("logistic_soft", 16): {"mean": "p5_q_logistic_soft_n16", "lo": "p5_q_logistic_soft_n16_lo",
                            "hi": "p5_q_logistic_soft_n16_hi"},
    ("logistic_bt", 16): {"mean": "p5_q_logistic_bt_n16", "lo": "p5_q_logistic_bt_n16_lo",
                          "hi": "p5_q_logistic_bt_n16_hi"},
}
#: The glue names of each paired comparison (difference, 95% interval, smallest detectable
#: difference, verdict), by pair count.
COMPARISON_NAMES = {
    ("sq_pop", 4): {"mean": "p5_sq_pop_n4", "lo": "p5_sq_pop_n4_lo", "hi": "p5_sq_pop_n4_hi",
                    "mdd": "p5_sq_pop_n4_mdd", "verdict": "p5_sq_pop_n4_verdict"},
    ("bt_sqr", 4): {"mean": "p5_bt_sqr_n4", "lo": "p5_bt_sqr_n4_lo", "hi": "p5_bt_sqr_n4_hi",
                    "mdd": "p5_bt_sqr_n4_mdd", "verdict": "p5_bt_sqr_n4_verdict"},
    ("switch", 4): {"mean": "p5_switch_n4", "lo": "p5_switch_n4_lo", "hi": "p5_switch_n4_hi",
                    "mdd": "p5_switch_n4_mdd", "verdict": "p5_switch_n4_verdict"},
    ("sq_pop", 16): {"mean": "p5_sq_pop_n16", "lo": "p5_sq_pop_n16_lo", "hi": "p5_sq_pop_n16_hi",
                     "mdd": "p5_sq_pop_n16_mdd", "verdict": "p5_sq_pop_n16_verdict"},
    ("bt_sqr", 16): {"mean": "p5_bt_sqr_n16", "lo": "p5_bt_sqr_n16_lo", "hi": "p5_bt_sqr_n16_hi",
                     "mdd": "p5_bt_sqr_n16_mdd", "verdict": "p5_bt_sqr_n16_verdict"},
    ("switch", 16): {"mean": "p5_switch_n16", "lo": "p5_switch_n16_lo", "hi": "p5_switch_n16_hi",
                     "mdd": "p5_switch_n16_mdd", "verdict": "p5_switch_n16_verdict"},
}


@dataclass(frozen=True)
class Config:
    r"""The run and its pre-registered margins.

    ``updates``: the updates compared (names of
    :data:`~srlm_core.model.sharpening.loss_variants.UPDATES`; all four are needed by the
    verdicts); ``pairs_grid``: pairs per prompt and round, increasing; ``prompts``,
    ``responses``: the table's size; ``temperature``: :math:`\tau` of :math:`\pi_0`; ``beta``:
    :math:`\beta`; ``rounds``: :math:`T`; ``ridge``: :math:`\lambda` of ``squared_ridge`` and
    ``logistic_bt`` (the same for both, so that their difference is the labels);
    ``instances``: problem instances (the units); ``seed``: the base seed.  Pre-registered:
    ``identity_tolerance``: the largest :math:`|\Delta\log\pi|` between the squared and the
    soft-label logistic loops read as the same policy; ``equivalence_margin``: the margin on
    :math:`\log\bar q` within which two updates count as contracting alike."""

    updates: tuple[str, ...] = option(loss_variants.UPDATES,
                                      "updates compared (all four are needed by the verdicts)")
    pairs_grid: tuple[int, ...] = option((4, 16), "pairs per prompt and round, increasing")
    prompts: int = option(100, "prompts of the table")
    responses: int = option(20, "responses per prompt")
    temperature: float = option(0.5, "temperature tau of pi_0")
    beta: float = option(2.0, "KL strength beta")
    rounds: int = option(5, "rounds T")
    ridge: float = option(0.1, "ridge lambda of squared_ridge and logistic_bt")
    instances: int = option(12, "problem instances (the units)")
    seed: int = option(0, "base seed")
    identity_tolerance: float = option(1e-8,
                                       "largest |delta log pi| between the squared and soft-label "
                                       "loops read as one policy")
    equivalence_margin: float = option(0.05,
                                       "margin on log q-bar within which two updates contract "
                                       "alike")

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        require(self, ("updates", sorted(self.updates) == sorted(loss_variants.UPDATES),
                       f"must hold each of {', '.join(loss_variants.UPDATES)} once"),
                ("pairs_grid", len(self.pairs_grid) >= 2
                 and list(self.pairs_grid) == sorted(set(self.pairs_grid))
                 and min(self.pairs_grid) >= 1, "must be at least two increasing counts >= 1"))
        require_at_least(self, 1, "rounds")
        require_at_least(self, 2, "prompts", "responses", "instances")
        require_positive(self, "temperature", "beta", "ridge", "identity_tolerance",
                         "equivalence_margin")
        return self


def mean_contraction(kappas) -> float:
    r"""The geometric-mean per-round factor :math:`\bar q=((\kappa_T-1)/(\kappa_0-1))^{1/T}` of
    one run's :math:`\kappa_0,\dots,\kappa_T`."""
    kappas = np.asarray(kappas, float)
    return float(((kappas[-1] - 1) / (kappas[0] - 1)) ** (1 / (kappas.size - 1)))


def run(config: Config) -> dict:
    r"""Per instance, pair count, update (and the population) and round: :math:`\kappa_t`,
    :math:`F_{\mathrm{own}}`, :math:`F_{\mathrm{base}}` and the mode-switch share (``rows``); per
    instance and pair count the largest :math:`|\Delta\log\pi|` between the squared and the
    soft-label logistic loops (``identity``)."""
    c = config.validate()
    rows, identity = [], []
    for instance in range(c.instances):
        z = np.random.default_rng([c.seed, instance]).normal(size=(c.prompts, c.responses))
        start = np.exp(log_softmax(c.temperature * z, axis=-1))
        base = observables.modes(start)
        loops = {}
        for pairs in c.pairs_grid:
            loops[POPULATION] = [tabular.sharpen(start, c.beta, t) for t in range(c.rounds + 1)]
            for name in c.updates:
                rng = np.random.default_rng([c.seed, instance, pairs])
                loops[name] = loss_variants.iterate(name, start, c.beta, c.rounds, pairs, rng,
                                                    c.ridge)
            gap = max(float(np.abs(np.log(a) - np.log(b)).max())
                      for a, b in zip(loops["squared"], loops["logistic_soft"]))
            identity.append({"instance": instance, "pairs": pairs, "max_log_gap": gap})
            for name, policies in loops.items():
                for t, policy in enumerate(policies):
                    row = observables.summary(policy, base)
                    rows.append({"instance": instance, "pairs": pairs, "update": name, "t": t,
                                 "kappa": row["kappa"], "failure_own": row["failure_own"],
                                 "failure_base": row["failure_base"],
                                 "mode_switches": row["mode_switches"]})
    return {"config": {"pairs_grid": list(c.pairs_grid), "rounds": c.rounds, "beta": c.beta,
                       "ridge": c.ridge, "instances": c.instances, "prompts": c.prompts,
                       "responses": c.responses, "temperature": c.temperature,
                       "identity_tolerance": c.identity_tolerance,
                       "equivalence_margin": c.equivalence_margin},
            "rows": rows, "identity": identity}


def _series(rows: list[dict], update: str, pairs: int, field: str) -> np.ndarray:
    """``field`` per instance (rows) and round (columns) for one update and pair count."""
    sub = sorted((r for r in rows if r["update"] == update and r["pairs"] == pairs),
                 key=lambda r: (r["instance"], r["t"]))
    instances = len({r["instance"] for r in sub})
    return np.array([r[field] for r in sub]).reshape(instances, -1)


def log_contractions(values: dict, update: str, pairs: int) -> np.ndarray:
    r""":math:`\log\bar q` per instance for one update and pair count."""
    kappas = _series(values["rows"], update, pairs, "kappa")
    return np.log([mean_contraction(k) for k in kappas])


def _compare(difference: np.ndarray, margin: float, below: str, above: str) -> tuple:
    """Mean, 95% interval over instances, the smallest detectable difference, and a verdict:
    ``below`` / ``above`` when the interval excludes 0 on that side, ``alike`` when it lies
    within the margin, else ``undecided``."""
    ci = mean_interval(difference)
    mdd = minimum_detectable_difference(float(difference.std(ddof=1)), difference.size)
    if ci.hi < 0:
        verdict = below
    elif ci.lo > 0:
        verdict = above
    elif -margin < ci.lo and ci.hi < margin:
        verdict = "alike"
    else:
        verdict = "undecided"
    return ci.mean, ci.lo, ci.hi, mdd, verdict


def summarise(values: dict) -> dict:
    r"""The glued numbers and verdicts (prefix ``p5_``): the largest gap between the squared and
    soft-label logistic loops (an identity check: ``the same policy`` / ``different policies``); per
    pair count (:data:`PAIRS_NAMES`, :data:`Q_NAMES`, :data:`COMPARISON_NAMES`), the population's
    :math:`\bar q` (mean over instances; deterministic per instance, so no interval) and, per
    update, :math:`\bar q` (mean and 95% interval over instances); paired over instances,
    :math:`\log\bar q` of the squared loop minus the population's (``slower`` / ``faster`` /
    ``alike`` / ``undecided``), of the Bradley–Terry loop minus the squared-ridge one, and the
    mode-switch share at :math:`T` of the Bradley–Terry loop minus the squared-ridge one (``more`` /
    ``fewer`` ...), each with its smallest detectable difference (80% power)."""
    cfg, rows = values["config"], values["rows"]
    margin, T = cfg["equivalence_margin"], cfg["rounds"]
    gap = max(r["max_log_gap"] for r in values["identity"])
    out = {"p5_identity_gap": gap,
           "p5_identity": ("the same policy" if gap <= cfg["identity_tolerance"]
                           else "different policies"),
           "p5_swap_instances": cfg["instances"], "p5_swap_T": T, "p5_swap_beta": cfg["beta"],
           "p5_swap_ridge": cfg["ridge"], "p5_swap_margin": margin,
           "p5_swap_prompts": cfg["prompts"], "p5_swap_responses": cfg["responses"],
           "p5_swap_kappa0": float(_series(rows, POPULATION, cfg["pairs_grid"][0],
                                           "kappa")[:, 0].mean())}
    for n in cfg["pairs_grid"]:
        population = log_contractions(values, POPULATION, n)
        out.update(named(PAIRS_NAMES.get(n), q_pop=float(np.exp(population).mean())))
        for name in loss_variants.UPDATES:
            ci = mean_interval(np.exp(log_contractions(values, name, n)))
            out.update(named(Q_NAMES.get((name, n)), mean=ci.mean, lo=ci.lo, hi=ci.hi))
        comparisons = {
            "sq_pop": (log_contractions(values, "squared", n) - population, "faster", "slower"),
            "bt_sqr": (log_contractions(values, "logistic_bt", n)
                       - log_contractions(values, "squared_ridge", n), "faster", "slower"),
            "switch": (_series(rows, "logistic_bt", n, "mode_switches")[:, T]
                       - _series(rows, "squared_ridge", n, "mode_switches")[:, T],
                       "fewer", "more")}
        for key, (difference, below, above) in comparisons.items():
            mean, lo, hi, mdd, verdict = _compare(difference, margin, below, above)
            out.update(named(COMPARISON_NAMES.get((key, n)), mean=mean, lo=lo, hi=hi, mdd=mdd,
                             verdict=verdict))
        switches = {name: float(_series(rows, name, n, "mode_switches")[:, T].mean())
                    for name in ("squared_ridge", "logistic_bt")}
        out.update(named(PAIRS_NAMES.get(n), switch_squared_ridge=switches["squared_ridge"],
                         switch_logistic_bt=switches["logistic_bt"]))
    first, last = cfg["pairs_grid"][0], cfg["pairs_grid"][-1]
    shrink = (log_contractions(values, "squared", first) - log_contractions(values, POPULATION,
                                                                             first)
              - log_contractions(values, "squared", last)
              + log_contractions(values, POPULATION, last))
    (out["p5_shrink"], out["p5_shrink_lo"], out["p5_shrink_hi"], out["p5_shrink_mdd"],
     verdict) = _compare(shrink, margin, "grows", "shrinks")
    out["p5_shrink_verdict"] = verdict
    out["p5_n_first"], out["p5_n_last"] = first, last
    return out


def plot(values: dict):
    r"""Left: :math:`\kappa_t-1` against the round at the smallest pair count, per update (mean
    over instances, 95% intervals) and the population (dashed), log scale.  Middle: the
    per-round ratio :math:`(\kappa_{t+1}-1)/(\kappa_t-1)` likewise.  Right: the mode-switch share
    at :math:`T` per update and pair count (mean, 95% interval over instances)."""
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    frame = pd.DataFrame(values["rows"])
    frame["excess"] = frame["kappa"] - 1
    frame = frame.sort_values(["update", "pairs", "instance", "t"])
    frame["ratio"] = frame.groupby(["update", "pairs", "instance"])["excess"].transform(
        lambda s: s / s.shift(1))
    first = values["config"]["pairs_grid"][0]
    order = [POPULATION, *loss_variants.UPDATES]
    palette = dict(zip(order, ["black", *sns.color_palette("tab10", len(order) - 1)]))
    dashes = {name: (4, 2) if name == POPULATION else "" for name in order}
    sub = frame[frame.pairs == first]
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    sns.lineplot(data=sub, x="t", y="excess", hue="update", style="update", hue_order=order,
                 style_order=order, palette=palette, dashes=dashes, marker="o",
                 errorbar=("ci", 95), seed=0, ax=axes[0])
    axes[0].set_yscale("log")
    axes[0].set_ylabel(r"$\kappa_t-1$")
    axes[0].set_title(f"condition number, {first} pairs per prompt")
    axes[0].legend(fontsize=8)
    sns.lineplot(data=sub.dropna(subset=["ratio"]), x="t", y="ratio", hue="update",
                 style="update", hue_order=order, style_order=order, palette=palette,
                 dashes=dashes, marker="o", errorbar=("ci", 95), seed=0, ax=axes[1],
                 legend=False)
    axes[1].set_ylabel(r"$(\kappa_t-1)/(\kappa_{t-1}-1)$")
    axes[1].set_title("per-round contraction")
    for ax in axes[:2]:
        ax.set_xlabel("round $t$")
    last = frame[(frame.t == frame.t.max()) & (frame.update != POPULATION)]
    sns.pointplot(data=last, x="pairs", y="mode_switches", hue="update",
                  hue_order=order[1:], palette=palette, errorbar=("ci", 95), dodge=0.4,
                  linestyle="none", seed=0, ax=axes[2])
    axes[2].set_xlabel("pairs per prompt and round")
    axes[2].set_ylabel(r"share with mode $\ne y^{\pi_0}$ at $T$")
    axes[2].set_title("mode switches at the last round (population: 0)")
    axes[2].legend(fontsize=8, loc="center right")
    fig.tight_layout()
    return fig
