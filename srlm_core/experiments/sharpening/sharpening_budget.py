r"""Remarks 5.5 and 5.8 in the paper's tabular setting: :math:`T` rounds of :math:`n` pairs
against one round of :math:`nT` pairs.

For every temperature and KL strength :math:`\beta`, three arms spend the same budget of
:math:`nT` pairs per prompt on each of ``instances`` graded near-uniform problems (instance
:math:`i` drawn with seed ``seed + i``, the same problems for every :math:`\beta`), all with
the minimum-norm rule
(:func:`srlm_core.model.sharpening.tabular.iterate`):

* ``iterated``: :math:`T` rounds of :math:`n` fresh pairs at :math:`\beta`;
* ``one_step``: one round of :math:`nT` pairs at the same :math:`\beta`;
* ``matched``: one round of :math:`nT` pairs at :math:`\beta'` with
  :math:`1+1/\beta'=(1+1/\beta)^T`, the single step with the same population target
  :math:`\pi_0^{(1+1/\beta)^T}`.

Both failure events are recorded: Theorem 5.3's :math:`F_{\mathrm{own}}` (low confidence in the
policy's own mode) and Theorem 4.1's :math:`F_{\mathrm{base}}` (at most half the mass on
:math:`\pi_0`'s mode), with the population values beside them.  The instance is the unit:
the arms are compared by paired differences per instance."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np

from srlm_core.errors import require, require_at_least
from srlm_core.experiments import named, row_names, seeded_global_random
from srlm_core.model.sharpening import observables, tabular
from srlm_core.model.sharpening.graded_problems import graded_near_uniform
from srlm_core.options import option
from srlm_core.stats import mean_interval, minimum_detectable_difference

#: The arms, in the order they are drawn.
ARMS = ("iterated", "one_step", "matched")
#: The failure events compared.
EVENTS = ("failure_own", "failure_base")
#: The comparisons: iterated minus each single step.
VERSUS = ("one_step", "matched")


#: The numbers of a cell (:func:`cell_numbers`).
CELL_FIELDS = (
    "kappa0", "matched_beta", "iterated_failure_own", "iterated_failure_base",
    "iterated_mode_switches", "one_step_failure_own", "one_step_failure_base",
    "one_step_mode_switches", "matched_failure_own", "matched_failure_base",
    "matched_mode_switches", "population_iterated_own", "population_iterated_base",
    "population_one_step_own", "population_one_step_base", "diff_own_one_step",
    "diff_own_one_step_lo", "diff_own_one_step_hi", "diff_own_one_step_mdd",
    "diff_own_one_step_verdict", "diff_own_matched", "diff_own_matched_lo", "diff_own_matched_hi",
    "diff_own_matched_mdd", "diff_own_matched_verdict", "diff_base_one_step",
    "diff_base_one_step_lo", "diff_base_one_step_hi", "diff_base_one_step_mdd",
    "diff_base_one_step_verdict", "diff_base_matched", "diff_base_matched_lo",
    "diff_base_matched_hi", "diff_base_matched_mdd", "diff_base_matched_verdict",
)
#: The glue names of each (temperature, beta) cell of the book, in the order of
#: CELL_FIELDS.
CELL_NAMES = {
    (0.3, 0.05): ("p2_b_kappa0_t3_b5", "p2_b_matched_beta_t3_b5", "p2_b_iterated_failure_own_t3_b5",
                  "p2_b_iterated_failure_base_t3_b5", "p2_b_iterated_mode_switches_t3_b5",
                  "p2_b_one_step_failure_own_t3_b5", "p2_b_one_step_failure_base_t3_b5",
                  "p2_b_one_step_mode_switches_t3_b5", "p2_b_matched_failure_own_t3_b5",
                  "p2_b_matched_failure_base_t3_b5", "p2_b_matched_mode_switches_t3_b5",
                  "p2_b_population_iterated_own_t3_b5", "p2_b_population_iterated_base_t3_b5",
                  "p2_b_population_one_step_own_t3_b5", "p2_b_population_one_step_base_t3_b5",
                  "p2_b_diff_own_one_step_t3_b5", "p2_b_diff_own_one_step_t3_b5_lo",
                  "p2_b_diff_own_one_step_t3_b5_hi", "p2_b_diff_own_one_step_t3_b5_mdd",
                  "p2_b_diff_own_one_step_t3_b5_verdict", "p2_b_diff_own_matched_t3_b5",
                  "p2_b_diff_own_matched_t3_b5_lo", "p2_b_diff_own_matched_t3_b5_hi",
                  "p2_b_diff_own_matched_t3_b5_mdd", "p2_b_diff_own_matched_t3_b5_verdict",
                  "p2_b_diff_base_one_step_t3_b5", "p2_b_diff_base_one_step_t3_b5_lo",
                  "p2_b_diff_base_one_step_t3_b5_hi", "p2_b_diff_base_one_step_t3_b5_mdd",
                  "p2_b_diff_base_one_step_t3_b5_verdict", "p2_b_diff_base_matched_t3_b5",
                  "p2_b_diff_base_matched_t3_b5_lo", "p2_b_diff_base_matched_t3_b5_hi",
                  "p2_b_diff_base_matched_t3_b5_mdd", "p2_b_diff_base_matched_t3_b5_verdict"),
    (0.3, 1.0): ("p2_b_kappa0_t3_b100", "p2_b_matched_beta_t3_b100",
                 "p2_b_iterated_failure_own_t3_b100", "p2_b_iterated_failure_base_t3_b100",
                 "p2_b_iterated_mode_switches_t3_b100", "p2_b_one_step_failure_own_t3_b100",
                 "p2_b_one_step_failure_base_t3_b100", "p2_b_one_step_mode_switches_t3_b100",
                 "p2_b_matched_failure_own_t3_b100", "p2_b_matched_failure_base_t3_b100",
                 "p2_b_matched_mode_switches_t3_b100", "p2_b_population_iterated_own_t3_b100",
                 "p2_b_population_iterated_base_t3_b100", "p2_b_population_one_step_own_t3_b100",
                 "p2_b_population_one_step_base_t3_b100", "p2_b_diff_own_one_step_t3_b100",
                 "p2_b_diff_own_one_step_t3_b100_lo", "p2_b_diff_own_one_step_t3_b100_hi",
                 "p2_b_diff_own_one_step_t3_b100_mdd", "p2_b_diff_own_one_step_t3_b100_verdict",
                 "p2_b_diff_own_matched_t3_b100", "p2_b_diff_own_matched_t3_b100_lo",
                 "p2_b_diff_own_matched_t3_b100_hi", "p2_b_diff_own_matched_t3_b100_mdd",
                 "p2_b_diff_own_matched_t3_b100_verdict", "p2_b_diff_base_one_step_t3_b100",
                 "p2_b_diff_base_one_step_t3_b100_lo", "p2_b_diff_base_one_step_t3_b100_hi",
                 "p2_b_diff_base_one_step_t3_b100_mdd", "p2_b_diff_base_one_step_t3_b100_verdict",
                 "p2_b_diff_base_matched_t3_b100", "p2_b_diff_base_matched_t3_b100_lo",
                 "p2_b_diff_base_matched_t3_b100_hi", "p2_b_diff_base_matched_t3_b100_mdd",
                 "p2_b_diff_base_matched_t3_b100_verdict"),
    (1.0, 0.05): ("p2_b_kappa0_t10_b5", "p2_b_matched_beta_t10_b5",
                  "p2_b_iterated_failure_own_t10_b5", "p2_b_iterated_failure_base_t10_b5",
                  "p2_b_iterated_mode_switches_t10_b5", "p2_b_one_step_failure_own_t10_b5",
                  "p2_b_one_step_failure_base_t10_b5", "p2_b_one_step_mode_switches_t10_b5",
                  "p2_b_matched_failure_own_t10_b5", "p2_b_matched_failure_base_t10_b5",
                  "p2_b_matched_mode_switches_t10_b5", "p2_b_population_iterated_own_t10_b5",
                  "p2_b_population_iterated_base_t10_b5", "p2_b_population_one_step_own_t10_b5",
                  "p2_b_population_one_step_base_t10_b5", "p2_b_diff_own_one_step_t10_b5",
                  "p2_b_diff_own_one_step_t10_b5_lo", "p2_b_diff_own_one_step_t10_b5_hi",
                  "p2_b_diff_own_one_step_t10_b5_mdd", "p2_b_diff_own_one_step_t10_b5_verdict",
                  "p2_b_diff_own_matched_t10_b5", "p2_b_diff_own_matched_t10_b5_lo",
                  "p2_b_diff_own_matched_t10_b5_hi", "p2_b_diff_own_matched_t10_b5_mdd",
                  "p2_b_diff_own_matched_t10_b5_verdict", "p2_b_diff_base_one_step_t10_b5",
                  "p2_b_diff_base_one_step_t10_b5_lo", "p2_b_diff_base_one_step_t10_b5_hi",
                  "p2_b_diff_base_one_step_t10_b5_mdd", "p2_b_diff_base_one_step_t10_b5_verdict",
                  "p2_b_diff_base_matched_t10_b5", "p2_b_diff_base_matched_t10_b5_lo",
                  "p2_b_diff_base_matched_t10_b5_hi", "p2_b_diff_base_matched_t10_b5_mdd",
                  "p2_b_diff_base_matched_t10_b5_verdict"),
    (1.0, 1.0): ("p2_b_kappa0_t10_b100", "p2_b_matched_beta_t10_b100",
                 "p2_b_iterated_failure_own_t10_b100", "p2_b_iterated_failure_base_t10_b100",
                 "p2_b_iterated_mode_switches_t10_b100", "p2_b_one_step_failure_own_t10_b100",
                 "p2_b_one_step_failure_base_t10_b100", "p2_b_one_step_mode_switches_t10_b100",
                 "p2_b_matched_failure_own_t10_b100", "p2_b_matched_failure_base_t10_b100",
                 "p2_b_matched_mode_switches_t10_b100", "p2_b_population_iterated_own_t10_b100",
                 "p2_b_population_iterated_base_t10_b100", "p2_b_population_one_step_own_t10_b100",
                 "p2_b_population_one_step_base_t10_b100", "p2_b_diff_own_one_step_t10_b100",
                 "p2_b_diff_own_one_step_t10_b100_lo", "p2_b_diff_own_one_step_t10_b100_hi",
                 "p2_b_diff_own_one_step_t10_b100_mdd", "p2_b_diff_own_one_step_t10_b100_verdict",
                 "p2_b_diff_own_matched_t10_b100", "p2_b_diff_own_matched_t10_b100_lo",
                 "p2_b_diff_own_matched_t10_b100_hi", "p2_b_diff_own_matched_t10_b100_mdd",
                 "p2_b_diff_own_matched_t10_b100_verdict", "p2_b_diff_base_one_step_t10_b100",
                 "p2_b_diff_base_one_step_t10_b100_lo", "p2_b_diff_base_one_step_t10_b100_hi",
                 "p2_b_diff_base_one_step_t10_b100_mdd", "p2_b_diff_base_one_step_t10_b100_verdict",
                 "p2_b_diff_base_matched_t10_b100", "p2_b_diff_base_matched_t10_b100_lo",
                 "p2_b_diff_base_matched_t10_b100_hi", "p2_b_diff_base_matched_t10_b100_mdd",
                 "p2_b_diff_base_matched_t10_b100_verdict"),
}


@dataclass(frozen=True)
class Config:
    r"""``prompts``, ``responses``: the table's size; ``temperatures``: the :math:`\tau` of
    :math:`\pi_0=\mathrm{softmax}(\tau z)`; ``betas``: the KL strengths of the iterated arm and
    of ``one_step``; ``rounds``: :math:`T`; ``n``: pairs per prompt and round of the iterated
    arm (the single steps get :math:`nT`); ``instances``: problems per temperature (the unit of
    every interval); ``seed``: the first instance's seed."""

    prompts: int = option(200, "prompts of the table")
    responses: int = option(50, "responses per prompt")
    temperatures: tuple[float, ...] = option((0.3, 1.0),
                                             "temperatures tau of pi_0 = softmax(tau z)")
    betas: tuple[float, ...] = option((0.05, 1.0),
                                      "KL strengths beta of the iterated arm and of one_step")
    rounds: int = option(5, "rounds T")
    n: int = option(2, "pairs per prompt and round of the iterated arm (the single steps get n T)")
    instances: int = option(20, "problems per temperature (the unit of every interval)")
    seed: int = option(0, "seed of instance 0 (instance i uses seed + i)")

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        require_at_least(self, 2, "prompts", "responses", "rounds", "instances")
        require_at_least(self, 1, "n")
        require(self, ("temperatures", bool(self.temperatures)
                       and all(t > 0 for t in self.temperatures),
                       "needs at least one positive temperature"),
                ("betas", bool(self.betas) and all(b > 0 for b in self.betas),
                 "needs at least one positive KL strength"))
        return self


def run(config: Config) -> dict:
    r"""Per temperature, KL strength, instance and arm: :math:`F_{\mathrm{own}}`,
    :math:`F_{\mathrm{base}}` and the mode-switch share after the budget is spent, with the
    population values at the arm's target, :math:`\pi_0^{(1+1/\beta)^T}` (``iterated`` and
    ``matched``) or :math:`\pi_0^{1+1/\beta}` (``one_step``)."""
    c = config.validate()
    rows = []
    for tau, beta_t, instance in product(c.temperatures, c.betas, range(c.instances)):
        base = graded_near_uniform(c.prompts, c.responses, tau,
                                   np.random.default_rng(c.seed + instance))
        base_modes = observables.modes(base)
        plan = {"iterated": (beta_t, c.rounds, c.n), "one_step": (beta_t, 1, c.n * c.rounds),
                "matched": (tabular.matched_beta(beta_t, c.rounds), 1, c.n * c.rounds)}
        for arm in ARMS:
            beta, rounds, pairs = plan[arm]
            rng = np.random.default_rng([c.seed + instance, ARMS.index(arm)])
            final = tabular.iterate(base, beta, rounds, pairs, rng)[-1]
            target = tabular.sharpen(base, beta_t, 1 if arm == "one_step" else c.rounds)
            rows.append({"temperature": tau, "beta": beta_t, "instance": instance, "arm": arm,
                         "kappa0": float(observables.kappa(base)),
                         "failure_own": float(observables.failure_own(final)),
                         "failure_base": float(observables.failure_base(final, base_modes)),
                         "mode_switches": float(observables.mode_switches(final, base_modes)),
                         "population_own": float(observables.failure_own(target)),
                         "population_base": float(observables.failure_base(target,
                                                                           base_modes))})
    return {"temperatures": list(c.temperatures), "betas": list(c.betas),
            "instances": c.instances, "rounds": c.rounds, "n": c.n, "rows": rows}


def _values(values: dict, cell: tuple, arm: str, field: str) -> np.ndarray:
    """One field of one arm in one (temperature, beta) cell, ordered by instance."""
    rows = sorted((r for r in values["rows"]
                   if (r["temperature"], r["beta"], r["arm"]) == (*cell, arm)),
                  key=lambda r: r["instance"])
    return np.array([r[field] for r in rows])


def verdict(diff: np.ndarray, lo: float, hi: float) -> str:
    """``lower`` / ``higher`` when the interval excludes 0, ``identical in every instance``
    when every difference is 0, else ``no difference detected``."""
    if np.all(diff == 0):
        return "identical in every instance"
    return "lower" if hi < 0 else "higher" if lo > 0 else "no difference detected"


def cell_numbers(values: dict, cell: tuple) -> dict:
    r"""One (temperature, beta) cell: :math:`\kappa_0`, the matched strength, every arm's mean
    :math:`F_{\mathrm{own}}`, :math:`F_{\mathrm{base}}` and mode-switch share, the population
    values, and for each event and each single step the paired difference iterated minus single
    step (mean, 95% interval over instances, the smallest difference the design detects with
    80% power, and :func:`verdict`), named as in :data:`CELL_FIELDS`."""
    out = {"kappa0": float(_values(values, cell, "iterated", "kappa0").mean()),
           "matched_beta": tabular.matched_beta(cell[1], values["rounds"])}
    for arm, field in product(ARMS, EVENTS + ("mode_switches",)):
        out[f"{arm}_{field}"] = float(_values(values, cell, arm, field).mean())
    for arm, event in product(("iterated", "one_step"), ("own", "base")):
        out[f"population_{arm}_{event}"] = float(
            _values(values, cell, arm, f"population_{event}").mean())
    for event, other in product(EVENTS, VERSUS):
        diff = _values(values, cell, "iterated", event) - _values(values, cell, other, event)
        ci = mean_interval(diff)
        name = f"diff_{event.split('_')[1]}_{other}"
        out |= {name: ci.mean, f"{name}_lo": ci.lo, f"{name}_hi": ci.hi,
                f"{name}_mdd": minimum_detectable_difference(float(diff.std(ddof=1)), diff.size),
                f"{name}_verdict": verdict(diff, ci.lo, ci.hi)}
    return out


def summarise(values: dict) -> dict:
    r"""The design, then per temperature and strength the :func:`cell_numbers` (glued under
    :data:`CELL_NAMES`); over the cells, how many bear out each prediction: iterating is
    ``lower`` on :math:`F_{\mathrm{own}}` than one step at the same :math:`\beta`, not
    ``lower`` on it than the matched step, and ``higher`` on :math:`F_{\mathrm{base}}` than the
    matched step.  Every name carries the chapter's tag ``p2_b_``."""
    out = {"p2_b_n_instances": values["instances"], "p2_b_rounds": values["rounds"],
           "p2_b_n": values["n"], "p2_b_budget": values["n"] * values["rounds"],
           "p2_b_temperatures": ", ".join(f"{t:g}" for t in values["temperatures"]),
           "p2_b_betas": ", ".join(f"{b:g}" for b in values["betas"])}
    cells = list(product(values["temperatures"], values["betas"]))
    numbers = [cell_numbers(values, cell) for cell in cells]
    for cell, cell_values in zip(cells, numbers):
        out |= named(row_names(CELL_FIELDS, CELL_NAMES.get(cell)), **cell_values)
    out |= {"p2_b_n_cells": len(cells),
            "p2_b_beats_one_step": sum(n["diff_own_one_step_verdict"] == "lower"
                                       for n in numbers),
            "p2_b_not_better_than_matched": sum(n["diff_own_matched_verdict"] != "lower"
                                                for n in numbers),
            "p2_b_worse_base_than_matched": sum(n["diff_base_matched_verdict"] == "higher"
                                                for n in numbers)}
    return out


def table(values: dict):
    r"""Per temperature, strength, event and single step: the arms' mean shares and the paired
    difference iterated minus single step with its 95% interval over instances, the smallest
    difference the design detects (80% power) and the verdict."""
    import pandas as pd

    cells = {cell: cell_numbers(values, cell)
             for cell in product(values["temperatures"], values["betas"])}
    rows = []
    for (tau, beta), event, other in product(cells, EVENTS, VERSUS):
        cell, short = cells[tau, beta], event.split("_")[1]
        name = f"diff_{short}_{other}"
        rows.append({"τ": tau, "β": beta, "event": f"F_{short}",
                     "single step": other.replace("_", " "),
                     "iterated": cell[f"iterated_{event}"],
                     "single": cell[f"{other}_{event}"],
                     "difference [95% interval]": (f"{cell[name]:+.3f} "
                                                   f"[{cell[name + '_lo']:+.3f}, "
                                                   f"{cell[name + '_hi']:+.3f}]"),
                     "detectable": cell[f"{name}_mdd"],
                     "verdict": cell[f"{name}_verdict"]})
    return pd.DataFrame(rows).round(3)


def plot(values: dict):
    r"""One panel per failure event: each arm's share per instance (points) and mean (bar) per
    temperature and strength, with the population value of the iterated arm's target (black
    tick)."""
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    frame = pd.DataFrame(values["rows"])
    frame["cell"] = [rf"$\tau={t:g}$, $\beta={b:g}$"
                     for t, b in zip(frame["temperature"], frame["beta"])]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
    titles = {"failure_own": r"$F_{\mathrm{own}}$ (Theorem 5.3)",
              "failure_base": r"$F_{\mathrm{base}}$ (Theorem 4.1)"}
    for ax, event in zip(axes, EVENTS):
        sns.barplot(data=frame, x="cell", y=event, hue="arm", hue_order=ARMS,
                    errorbar=None, alpha=0.5, ax=ax)
        with seeded_global_random(0):  # the jitter draws from numpy's global generator
            sns.stripplot(data=frame, x="cell", y=event, hue="arm", hue_order=ARMS,
                          dodge=True, size=3, legend=False, ax=ax)
        population = frame[frame.arm == "iterated"].groupby("cell", sort=False)[
            "population_" + event.split("_")[1]].mean()
        ax.scatter(range(len(population)), population.to_numpy(), marker="_", s=900,
                   color="black", zorder=5, label=r"population, $\pi_0^{(1+1/\beta)^T}$")
        ax.set_title(titles[event])
        ax.set_xlabel("")
        ax.set_ylabel("share of prompts")
        ax.legend().remove()
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8, markerscale=0.3)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig
