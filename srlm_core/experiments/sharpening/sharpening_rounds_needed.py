r"""Corollary 5.7 in the paper's tabular setting: how many rounds until the model is confident.

:math:`T_{90}` is the first round with :math:`F_{\mathrm{own}}\le0.1` (at least 90% of the
prompts put more than half their mass on their own mode).  For every temperature :math:`\tau`
in ``temperatures`` (it sets :math:`\kappa_0`) and every :math:`n` in ``ns`` the paper's loop
(minimum-norm rule, :func:`srlm_core.model.sharpening.tabular.iterate`) runs on
``instances`` graded near-uniform problems (instance :math:`i` drawn with seed ``seed + i``, the
same problems at every :math:`n`) for up to ``rounds`` rounds.  Two predictions of
:math:`T_{90}`:

* the paper's (Corollary 5.7): :math:`T_{90}\propto\log\kappa_0/\log(1+\sqrt{nc})`, with one
  constant for every cell (fitted here), :math:`c` the minimum confidence of :math:`\pi_0`;
* the population's: the first round with :math:`F_{\mathrm{own}}(\pi_0^{(1+1/\beta)^t})\le0.1`,
  computed exactly per instance, the same for every :math:`n`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from srlm_core.errors import require, require_at_least, require_positive
from srlm_core.experiments import named
from srlm_core.model.sharpening import observables, tabular
from srlm_core.model.sharpening.graded_problems import graded_near_uniform
from srlm_core.options import option
from srlm_core.stats import mean_interval

#: The failure share that ends the count: Corollary 5.7's "confident on 90% of prompts".
TARGET = 0.1


#: The glue names of the mean T_90 of each (temperature, n).
T90_NAMES = {
    (0.3, 2): "p2_r_t90_t3_n2", (0.3, 8): "p2_r_t90_t3_n8", (0.3, 32): "p2_r_t90_t3_n32",
    (0.3, 128): "p2_r_t90_t3_n128", (1.0, 2): "p2_r_t90_t10_n2", (1.0, 8): "p2_r_t90_t10_n8",
    (1.0, 32): "p2_r_t90_t10_n32", (1.0, 128): "p2_r_t90_t10_n128", (3.0, 2): "p2_r_t90_t30_n2",
    (3.0, 8): "p2_r_t90_t30_n8", (3.0, 32): "p2_r_t90_t30_n32", (3.0, 128): "p2_r_t90_t30_n128",
}
#: The glue names of each temperature's ratio of T_90 at the two largest n (measured and by
#: the paper's law), its kappa_0 and the population's T_90.
TEMPERATURE_NAMES = {
    0.3: {"ratio": "p2_r_ratio_t3", "paper_ratio": "p2_r_paper_ratio_t3",
          "kappa0": "p2_r_kappa0_t3", "population": "p2_r_population_t3"},
    1.0: {"ratio": "p2_r_ratio_t10", "paper_ratio": "p2_r_paper_ratio_t10",
          "kappa0": "p2_r_kappa0_t10", "population": "p2_r_population_t10"},
    3.0: {"ratio": "p2_r_ratio_t30", "paper_ratio": "p2_r_paper_ratio_t30",
          "kappa0": "p2_r_kappa0_t30", "population": "p2_r_population_t30"},
}


@dataclass(frozen=True)
class Config:
    r"""``prompts``, ``responses``: the table's size; ``temperatures``: the :math:`\tau` of
    :math:`\pi_0=\mathrm{softmax}(\tau z)`, increasing (decreasing :math:`\kappa_0`); ``beta``:
    the KL strength; ``rounds``: the most rounds run (a count not reached by then is censored);
    ``ns``: pairs per prompt and round, increasing; ``instances``: problems per temperature (the
    unit of every interval); ``tolerance``: the largest gap, in rounds, read as agreement (of the
    mean measured :math:`T_{90}` at the largest :math:`n` with the population's) or as no rise
    (from one :math:`n` to the next: integer counts averaged over few instances are noisy);
    ``seed``: the first instance's seed."""

    prompts: int = option(200, "prompts of the table")
    responses: int = option(50, "responses per prompt")
    temperatures: tuple[float, ...] = option((0.3, 1.0, 3.0),
                                             "temperatures tau of pi_0 = softmax(tau z), "
                                             "increasing")
    beta: float = option(1.0, "KL strength beta")
    rounds: int = option(24, "most rounds run (a count not reached by then is censored)")
    ns: tuple[int, ...] = option((2, 8, 32, 128), "pairs per prompt and round, increasing")
    instances: int = option(8, "problems per temperature (the unit of every interval)")
    tolerance: float = option(0.5, "largest gap in rounds read as agreement or as no rise")
    seed: int = option(0, "seed of instance 0 (instance i uses seed + i)")

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        require_at_least(self, 2, "prompts", "responses", "rounds", "instances")
        require_positive(self, "beta", "tolerance")
        require(self, ("temperatures", len(self.temperatures) >= 2
                       and all(t > 0 for t in self.temperatures)
                       and list(self.temperatures) == sorted(set(self.temperatures)),
                       "needs at least two distinct increasing positive temperatures"),
                ("ns", len(self.ns) >= 2 and all(n >= 1 for n in self.ns)
                 and list(self.ns) == sorted(set(self.ns)),
                 "needs at least two distinct increasing sample sizes >= 1"))
        return self


def first_round(failures, target: float = TARGET) -> int | None:
    """The first round whose failure share is at most ``target`` (None if none is)."""
    hits = [t for t, f in enumerate(failures) if f <= target]
    return hits[0] if hits else None


def run(config: Config) -> dict:
    r"""Per temperature, :math:`n` and instance: the measured :math:`T_{90}` and the share
    :math:`F_{\mathrm{own}}` per round; per temperature and instance: :math:`\kappa_0`,
    :math:`c` of :math:`\pi_0` and the population :math:`T_{90}`."""
    c = config.validate()
    rows, problems = [], []
    for tau in c.temperatures:
        for instance in range(c.instances):
            base = graded_near_uniform(c.prompts, c.responses, tau,
                                       np.random.default_rng(c.seed + instance))
            population = [float(observables.failure_own(tabular.sharpen(base, c.beta, t)))
                          for t in range(c.rounds + 1)]
            problems.append({"temperature": tau, "instance": instance,
                             "kappa0": float(observables.kappa(base)),
                             "c": float(observables.min_confidence(base)),
                             "population": first_round(population)})
            for n in c.ns:
                rng = np.random.default_rng([c.seed + instance, n])
                failures = [float(observables.failure_own(p))
                            for p in tabular.iterate(base, c.beta, c.rounds, n, rng)]
                rows.append({"temperature": tau, "n": n, "instance": instance,
                             "t90": first_round(failures), "failures": failures})
    return {"temperatures": list(c.temperatures), "ns": list(c.ns), "rounds": c.rounds,
            "beta": c.beta,
            "instances": c.instances, "tolerance": c.tolerance, "rows": rows,
            "problems": problems}


def cells(values: dict) -> list[dict]:
    r"""Per temperature and :math:`n`: the mean measured :math:`T_{90}` with its interval over
    instances (None where some instance is censored), mean :math:`\kappa_0`, mean population
    :math:`T_{90}`, and the paper's regressor :math:`\log\kappa_0/\log(1+\sqrt{nc})` (mean over
    instances)."""
    out = []
    for tau in values["temperatures"]:
        probs = [p for p in values["problems"] if p["temperature"] == tau]
        for n in values["ns"]:
            counts = [r["t90"] for r in values["rows"] if (r["temperature"], r["n"]) == (tau, n)]
            censored = sum(t is None for t in counts)
            ci = mean_interval(counts) if not censored else None
            out.append({"temperature": tau, "n": n, "censored": censored,
                        "t90": ci.mean if ci else None, "t90_lo": ci.lo if ci else None,
                        "t90_hi": ci.hi if ci else None,
                        "kappa0": float(np.mean([p["kappa0"] for p in probs])),
                        "population": float(np.mean([p["population"] for p in probs])),
                        "paper_x": float(np.mean([np.log(p["kappa0"])
                                                  / np.log1p(np.sqrt(n * p["c"]))
                                                  for p in probs]))})
    return out


def summarise(values: dict) -> dict:
    r"""Whether the mean :math:`T_{90}` never rises by more than ``tolerance`` from one
    :math:`n` to the next at any temperature (``never rises with n`` / ``rises with n
    somewhere``); per temperature the ratio of :math:`T_{90}` at the two largest :math:`n`,
    measured and by the paper's law (:math:`\log(1+\sqrt{n_{\max}c})/\log(1+\sqrt{n'c})`);
    at the largest :math:`n`, the largest gap between the measured mean and the population's
    :math:`T_{90}` (``matches the population`` within ``tolerance`` rounds, else ``departs
    from the population``; a censored count departs); the
    paper's law with its least-squares constant :math:`A` through the origin over every
    uncensored cell, its largest miss in rounds, and whether it misses by more than the
    population does at the largest :math:`n` (``the population count is closer`` / ``the
    paper's law is closer``); the number of censored runs.
    Every name carries the chapter's tag ``p2_r_`` (:data:`T90_NAMES`,
    :data:`TEMPERATURE_NAMES`)."""
    table = cells(values)
    done = [c for c in table if c["t90"] is not None]
    monotone = all(
        all(b["t90"] <= a["t90"] + values["tolerance"] for a, b in zip(row, row[1:]))
        for tau in values["temperatures"]
        for row in [[c for c in done if c["temperature"] == tau]])
    top = [c for c in table if c["n"] == values["ns"][-1]]
    pop_gap = max(np.inf if c["t90"] is None else abs(c["t90"] - c["population"]) for c in top)
    x = np.array([c["paper_x"] for c in done])
    y = np.array([c["t90"] for c in done])
    scale = float(x @ y / (x @ x))
    paper_miss = np.abs(scale * x - y)
    top_miss = max(np.inf if c["t90"] is None else abs(scale * c["paper_x"] - c["t90"])
                   for c in top)
    out = {"p2_r_n_instances": values["instances"], "p2_r_n_cells": len(table),
           "p2_r_n_done": len(done), "p2_r_censored_runs": int(sum(c["censored"] for c in table)),
           "p2_r_max_rounds": values["rounds"], "p2_r_tolerance": values["tolerance"],
           "p2_r_ns": ", ".join(map(str, values["ns"])), "p2_r_n_max": values["ns"][-1],
           "p2_r_n_prev": values["ns"][-2], "p2_r_beta": values["beta"],
           "p2_r_monotone_verdict": "never rises with n" if monotone else "rises with n somewhere",
           "p2_r_population_gap": float(pop_gap) if np.isfinite(pop_gap) else None,
           "p2_r_population_verdict": ("matches the population"
                                       if pop_gap <= values["tolerance"]
                                       else "departs from the population"),
           "p2_r_paper_scale": scale, "p2_r_paper_max_miss": float(paper_miss.max()),
           "p2_r_paper_top_miss": float(top_miss) if np.isfinite(top_miss) else None,
           "p2_r_closer_verdict": ("the population count is closer" if pop_gap < top_miss
                                   else "the paper's law is closer")}
    out |= {T90_NAMES[c["temperature"], c["n"]]: c["t90"] for c in table
            if (c["temperature"], c["n"]) in T90_NAMES}
    for tau in values["temperatures"]:
        cell = next(c for c in table if c["temperature"] == tau)
        last, before = [c for c in table if c["temperature"] == tau][-1:-3:-1]
        censored = before["t90"] is None or last["t90"] is None
        out |= named(TEMPERATURE_NAMES.get(tau),
                     ratio=None if censored else before["t90"] / last["t90"],
                     paper_ratio=before["paper_x"] / last["paper_x"], kappa0=cell["kappa0"],
                     population=cell["population"])
    return out


def plot(values: dict):
    r"""Left: :math:`T_{90}` against :math:`n` per temperature (mean and 95% interval over
    instances), the population count (dashed, same colour) and the paper's law with its fitted
    constant (dotted).  Right: the same counts against the paper's regressor
    :math:`\log\kappa_0/\log(1+\sqrt{nc})`, with the fitted line through the origin."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    table = [c for c in cells(values) if c["t90"] is not None]
    scale = summarise(values)["p2_r_paper_scale"]
    colors = sns.color_palette("deep", len(values["temperatures"]))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for color, tau in zip(colors, values["temperatures"]):
        row = [c for c in table if c["temperature"] == tau]
        ns = [c["n"] for c in row]
        label = rf"$\tau={tau:g}$, $\kappa_0\approx{row[0]['kappa0']:.1f}$"
        for ax, x in ((axes[0], ns), (axes[1], [c["paper_x"] for c in row])):
            ax.errorbar(x, [c["t90"] for c in row],
                        yerr=[[c["t90"] - c["t90_lo"] for c in row],
                              [c["t90_hi"] - c["t90"] for c in row]],
                        fmt="o-", color=color, label=label, capsize=3)
        axes[0].plot(ns, [c["population"] for c in row], "--", color=color)
        axes[0].plot(ns, [scale * c["paper_x"] for c in row], ":", color=color, lw=2)
    axes[0].plot([], [], "k--", label="population")
    axes[0].plot([], [], "k:", lw=2, label="paper's law, fitted constant")
    axes[0].set_xscale("log", base=2)
    axes[0].set_xlabel("pairs per prompt and round $n$")
    grid = np.linspace(0, max(c["paper_x"] for c in table) * 1.05, 50)
    axes[1].plot(grid, scale * grid, "k:", lw=2)
    axes[1].set_xlabel(r"$\log\kappa_0/\log(1+\sqrt{nc})$")
    for ax in axes:
        ax.set_ylabel(r"$T_{90}$ (rounds)")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig
