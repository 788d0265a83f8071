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


#: The prefix of every glue name of :func:`summarise` (the chapter's tag).
GLUE = "p2_b_"


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


def key(tau: float, beta: float) -> str:
    """The glue suffix of a cell: ``t3_b5`` for temperature 0.3 and beta 0.05."""
    return f"t{round(tau * 10)}_b{round(beta * 100)}"


def verdict(diff: np.ndarray, lo: float, hi: float) -> str:
    """``lower`` / ``higher`` when the interval excludes 0, ``identical in every instance``
    when every difference is 0, else ``no difference detected``."""
    if np.all(diff == 0):
        return "identical in every instance"
    return "lower" if hi < 0 else "higher" if lo > 0 else "no difference detected"


def summarise(values: dict) -> dict:
    r"""Per temperature and strength: every arm's mean :math:`F_{\mathrm{own}}`,
    :math:`F_{\mathrm{base}}` and mode-switch share, the population values, and for each event
    and each single step the paired difference iterated minus single step (mean, 95% interval
    over instances, the smallest difference the design detects with 80% power, and
    :func:`verdict`); over the cells, how many bear out each prediction: iterating is
    ``lower`` on :math:`F_{\mathrm{own}}` than one step at the same :math:`\beta`, not
    ``lower`` on it than the matched step, and ``higher`` on :math:`F_{\mathrm{base}}` than the
    matched step.
    Every name carries the prefix :data:`GLUE`."""
    out = {"n_instances": values["instances"], "rounds": values["rounds"], "n": values["n"],
           "budget": values["n"] * values["rounds"],
           "temperatures": ", ".join(f"{t:g}" for t in values["temperatures"]),
           "betas": ", ".join(f"{b:g}" for b in values["betas"])}
    cells = list(product(values["temperatures"], values["betas"]))
    for cell in cells:
        k = key(*cell)
        out[f"kappa0_{k}"] = float(_values(values, cell, "iterated", "kappa0").mean())
        out[f"matched_beta_{k}"] = tabular.matched_beta(cell[1], values["rounds"])
        for arm, field in product(ARMS, EVENTS + ("mode_switches",)):
            out[f"{arm}_{field}_{k}"] = float(_values(values, cell, arm, field).mean())
        for arm, event in product(("iterated", "one_step"), ("own", "base")):
            out[f"population_{arm}_{event}_{k}"] = float(
                _values(values, cell, arm, f"population_{event}").mean())
        for event, other in product(EVENTS, VERSUS):
            diff = _values(values, cell, "iterated", event) - _values(values, cell, other, event)
            ci = mean_interval(diff)
            name = f"diff_{event.split('_')[1]}_{other}_{k}"
            out |= {name: ci.mean, f"{name}_lo": ci.lo, f"{name}_hi": ci.hi,
                    f"{name}_mdd": minimum_detectable_difference(float(diff.std(ddof=1)),
                                                                 diff.size),
                    f"{name}_verdict": verdict(diff, ci.lo, ci.hi)}
    keys = [key(*cell) for cell in cells]
    out |= {"n_cells": len(cells),
            "beats_one_step": sum(out[f"diff_own_one_step_{k}_verdict"] == "lower"
                                  for k in keys),
            "not_better_than_matched": sum(out[f"diff_own_matched_{k}_verdict"] != "lower"
                                           for k in keys),
            "worse_base_than_matched": sum(out[f"diff_base_matched_{k}_verdict"] == "higher"
                                           for k in keys)}
    return {GLUE + name: value for name, value in out.items()}


def table(values: dict):
    r"""Per temperature, strength, event and single step: the arms' mean shares and the paired
    difference iterated minus single step with its 95% interval over instances, the smallest
    difference the design detects (80% power) and the verdict."""
    import pandas as pd

    summary = {name[len(GLUE):]: value for name, value in summarise(values).items()}
    rows = []
    for (tau, beta), event, other in product(product(values["temperatures"], values["betas"]),
                                             EVENTS, VERSUS):
        k, short = key(tau, beta), event.split("_")[1]
        name = f"diff_{short}_{other}_{k}"
        rows.append({"τ": tau, "β": beta, "event": f"F_{short}",
                     "single step": other.replace("_", " "),
                     "iterated": summary[f"iterated_{event}_{k}"],
                     "single": summary[f"{other}_{event}_{k}"],
                     "difference [95% interval]": (f"{summary[name]:+.3f} "
                                                   f"[{summary[name + '_lo']:+.3f}, "
                                                   f"{summary[name + '_hi']:+.3f}]"),
                     "detectable": summary[f"{name}_mdd"],
                     "verdict": summary[f"{name}_verdict"]})
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
