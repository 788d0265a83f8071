r"""Linear softmax: the update is exact once the pairs span R^d; informative pairs thin out.

The paper's loop (reward :math:`\log\pi_t`, reference :math:`\pi_t`, Eq. 3 minimised exactly by
:func:`srlm_core.model.sharpening.linear.update`, minimum-norm) on linear-softmax problems
(:func:`srlm_core.model.sharpening.linear.problem`, isotropic features), with :math:`n=md` fresh
pairs per round.  Per round it records the pairs with :math:`\Delta\phi\ne0`, the rank of their
span, the relative distance of the step to the population step :math:`(1+1/\beta)\theta_t`, the
predicted informative share :math:`1-\mathbb E_x\sum_y\pi_t(y\mid x)^2`, and the observables of
the next policy.  Problem instances are the units: instance ``i`` of dimension ``d`` is the same
problem for every multiple :math:`m`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from srlm_core import stats
from srlm_core.errors import require, require_at_least, require_positive
from srlm_core.experiments import named, seeded_global_random
from srlm_core.model.sharpening import linear, observables
from srlm_core.options import option

#: The glue names of each (d, multiple, first or last round): the informative share and
#: the share of full-span steps.
CELL_NAMES = {
    (8, 1, "first"): {"share": "p3_share_d8_m1_first", "full": "p3_full_d8_m1_first"},
    (8, 1, "last"): {"share": "p3_share_d8_m1_last", "full": "p3_full_d8_m1_last"},
    (8, 4, "first"): {"share": "p3_share_d8_m4_first", "full": "p3_full_d8_m4_first"},
    (8, 4, "last"): {"share": "p3_share_d8_m4_last", "full": "p3_full_d8_m4_last"},
    (8, 16, "first"): {"share": "p3_share_d8_m16_first", "full": "p3_full_d8_m16_first"},
    (8, 16, "last"): {"share": "p3_share_d8_m16_last", "full": "p3_full_d8_m16_last"},
    (32, 1, "first"): {"share": "p3_share_d32_m1_first", "full": "p3_full_d32_m1_first"},
    (32, 1, "last"): {"share": "p3_share_d32_m1_last", "full": "p3_full_d32_m1_last"},
    (32, 4, "first"): {"share": "p3_share_d32_m4_first", "full": "p3_full_d32_m4_first"},
    (32, 4, "last"): {"share": "p3_share_d32_m4_last", "full": "p3_full_d32_m4_last"},
    (32, 16, "first"): {"share": "p3_share_d32_m16_first", "full": "p3_full_d32_m16_first"},
    (32, 16, "last"): {"share": "p3_share_d32_m16_last", "full": "p3_full_d32_m16_last"},
}
#: The glue names of Theorem 6.2's rate at n = d, by d.
RATE_NAMES = {8: "p3_rate_d8", 32: "p3_rate_d32"}


@dataclass(frozen=True)
class Config:
    """``dims``: feature dimensions :math:`d`; ``multiples``: pairs per round as multiples
    :math:`m` of :math:`d` (:math:`n=md`); ``beta``: the KL strength :math:`\\beta`; ``kappa0``:
    the initial condition number :math:`\\kappa(\\pi_0)` every instance is scaled to;
    ``rounds``: :math:`T`; ``prompts`` and ``responses``: the table's size; ``instances``:
    problem instances per dimension; ``tolerance``: the largest relative distance to the
    population step read as rounding error (fixed before the run); ``seed``: base seed."""

    dims: tuple[int, ...] = option((8, 32), "feature dimensions d")
    multiples: tuple[int, ...] = option((1, 4, 16), "pairs per round as multiples m of d (n = m d)")
    beta: float = option(1.0, "KL strength beta")
    kappa0: float = option(8.0, "initial condition number kappa(pi_0) of every instance")
    rounds: int = option(6, "rounds T")
    prompts: int = option(256, "prompts of the table")
    responses: int = option(64, "responses per prompt")
    instances: int = option(10, "problem instances per dimension")
    tolerance: float = option(1e-9,
                              "largest relative distance to the population step read as rounding "
                              "error")
    seed: int = option(0, "base seed")

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        require(self, ("dims", bool(self.dims) and min(self.dims) >= 1,
                       "needs dimensions of at least 1"),
                ("multiples", bool(self.multiples) and min(self.multiples) >= 1,
                 "needs multiples of at least 1"))
        require_positive(self, "beta", "tolerance")
        require(self, ("kappa0", 1 < self.kappa0 < self.responses,
                       "must lie strictly between 1 and responses"))
        require_at_least(self, 1, "rounds", "prompts", "instances")
        require_at_least(self, 2, "responses")
        return self


def theorem_rate(d: int, n: int, radius: float) -> float:
    r"""Theorem 6.2's statistical factor :math:`\sqrt{d\log(3Bn)/n}` (constants 1)."""
    return float(np.sqrt(d * np.log(3 * radius * n) / n))


def run(config: Config) -> dict:
    r"""One row per dimension, multiple, instance and round :math:`t` (the step from
    :math:`\theta_t`): informative pairs, rank, relative distance to the population step,
    the predicted informative share of :math:`\pi_t`, and :math:`\kappa`, the mode-switch share
    and :math:`F_{\mathrm{own}}` of :math:`\pi_{t+1}`; per dimension and multiple, Theorem 6.2's
    factor at the smallest realizable radius :math:`B=(1+1/\beta)^T\lVert\theta_0\rVert` of
    instance 0."""
    c = config.validate()
    rows, rates = [], []
    for d in c.dims:
        for instance in range(c.instances):
            phi, theta0 = linear.problem(c.prompts, c.responses, d, 0.0, c.kappa0,
                                         np.random.default_rng((c.seed, d, instance)))
            base = observables.modes(linear.policy(theta0, phi))
            for m in c.multiples:
                n = m * d
                rng = np.random.default_rng((c.seed, d, instance, m))
                thetas, log = linear.iterate(theta0, phi, c.beta, c.rounds, n, rng)
                for t, step in enumerate(log):
                    after = linear.policy(thetas[t + 1], phi)
                    rows.append({
                        "d": d, "n": n, "multiple": m, "instance": instance, "t": t,
                        "informative": step.informative, "independent": step.independent,
                        "rank": step.rank,
                        "deviation": step.deviation,
                        "predicted_share": float(linear.informative_share(
                            linear.policy(thetas[t], phi))),
                        "kappa": float(observables.kappa(after)),
                        "switches": float(observables.mode_switches(after, base)),
                        "failure_own": float(observables.failure_own(after))})
                if instance == 0:
                    radius = (1 + 1 / c.beta) ** c.rounds * float(np.linalg.norm(theta0))
                    rates.append({"d": d, "n": n, "radius": radius,
                                  "rate": theorem_rate(d, n, radius)})
    return {"dims": list(c.dims), "multiples": list(c.multiples), "rounds": c.rounds,
            "instances": c.instances, "beta": c.beta, "kappa0": c.kappa0,
            "prompts": c.prompts, "responses": c.responses, "tolerance": c.tolerance,
            "rows": rows, "rates": rates}


def _exact_so_far(rows: list[dict]) -> list[bool]:
    """Per row, whether this round and every earlier round of its run had a full span."""
    full: dict[tuple, bool] = {}
    out = []
    for r in sorted(rows, key=lambda r: (r["d"], r["n"], r["instance"], r["t"])):
        key = (r["d"], r["n"], r["instance"])
        full[key] = full.get(key, True) and r["rank"] == r["d"]
        out.append((r, full[key]))
    return out


def summarise(values: dict) -> dict:
    r"""The glued numbers and verdicts: the design (dimensions, multiples, rounds, instances,
    :math:`\beta`, :math:`\kappa_0`, table size, tolerance); the largest relative distance to the
    population step over the rounds with a full span (identity check: ``holds`` when at most
    ``tolerance``, else ``fails``), the smallest over the rank-deficient rounds; whether the rank is
    :math:`\min(d,\#\text{independent pairs})` in every round; the largest mode-switch share reached
    through full-span rounds only (prediction 0) and after a deficient one; the count of rows whose
    informative count lies in the central 95% binomial range of :math:`n` times the predicted share,
    against the range of that count for a correct prediction (the discrete interval covers at least
    95%, so only a count below the range is a failure: ``not below`` or ``below``); per dimension
    and multiple the mean informative share in the first and last round and the share of instances
    with a full span there; Theorem 6.2's factor at :math:`n=d`."""
    rows, tol = values["rows"], values["tolerance"]
    full = [r for r in rows if r["rank"] == r["d"]]
    short = [r for r in rows if r["rank"] < r["d"]]
    max_full = max((r["deviation"] for r in full), default=0.0)
    generic = sum(r["rank"] == min(r["d"], r["independent"]) for r in rows)
    exact_runs = _exact_so_far(rows)
    switch_exact = max((r["switches"] for r, ok in exact_runs if ok), default=0.0)
    switch_after = max((r["switches"] for r, ok in exact_runs if not ok), default=0.0)
    from scipy import stats as sps

    inside = 0
    for r in rows:
        lo, hi = sps.binom.interval(0.95, r["n"], r["predicted_share"])
        inside += int(lo <= r["informative"] <= hi)
    band = stats.binomial_count_range(len(rows), 0.95)
    out = {
        "p3_exact_dims": ", ".join(map(str, values["dims"])),
        "p3_exact_multiples": ", ".join(map(str, values["multiples"])),
        "p3_exact_rounds": values["rounds"], "p3_exact_instances": values["instances"],
        "p3_exact_beta": values["beta"], "p3_exact_kappa0": values["kappa0"],
        "p3_exact_prompts": values["prompts"], "p3_exact_responses": values["responses"],
        "p3_exact_tolerance": tol,
        "p3_exact_d_lo": values["dims"][0], "p3_exact_d_hi": values["dims"][-1],
        "p3_exact_m_lo": values["multiples"][0],
        "p3_exact_m_mid": values["multiples"][len(values["multiples"]) // 2],
        "p3_exact_m_hi": values["multiples"][-1],
        "p3_rows": len(rows), "p3_full_rounds": len(full), "p3_short_rounds": len(short),
        "p3_full_max_dev": max_full,
        "p3_full_verdict": "holds" if max_full <= tol else "fails",
        "p3_short_min_dev": min((r["deviation"] for r in short), default=float("nan")),
        "p3_short_verdict": ("every rank-deficient step departs from the population step"
                             if all(r["deviation"] > tol for r in short)
                             else "some rank-deficient steps equal the population step"),
        "p3_generic": generic,
        "p3_generic_verdict": ("in every round" if generic == len(rows)
                               else f"in {generic} of {len(rows)} rounds"),
        "p3_switch_exact": switch_exact,
        "p3_switch_exact_verdict": "holds" if switch_exact == 0 else "fails",
        "p3_switch_after": switch_after,
        "p3_share_inside": inside, "p3_share_expected": band.expected,
        "p3_share_range": f"{band.lo} to {band.hi}",
        "p3_share_verdict": "not below" if inside >= band.lo else "below",
    }
    last = values["rounds"] - 1
    for d in values["dims"]:
        for m in values["multiples"]:
            for t, tag in ((0, "first"), (last, "last")):
                cell = [r for r in rows if r["d"] == d and r["multiple"] == m and r["t"] == t]
                out.update(named(CELL_NAMES.get((d, m, tag)),
                                 share=float(np.mean([r["informative"] / r["n"] for r in cell])),
                                 full=float(np.mean([r["rank"] == d for r in cell]))))
    for entry in values["rates"]:
        if entry["n"] == entry["d"] and entry["d"] in RATE_NAMES:
            out[RATE_NAMES[entry["d"]]] = entry["rate"]
    return out


def plot(values: dict):
    """Three panels against the round: the informative share (markers, mean over instances with 95%
    intervals; dashed, the mean predicted share of the same runs); the relative distance to the
    population step (log scale, one point per run and round, floored at 1e-17); the share of
    instances whose pairs span :math:`\\mathbb R^d`."""
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    frame = pd.DataFrame(values["rows"])
    frame["share"] = frame["informative"] / frame["n"]
    frame["full span"] = frame["rank"] == frame["d"]
    frame["distance"] = frame["deviation"].clip(lower=1e-17)
    frame["run"] = "d=" + frame["d"].astype(str) + ", n=" + frame["n"].astype(str)
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    sns.lineplot(data=frame, x="t", y="share", hue="run", marker="o", seed=0, ax=axes[0])
    sns.lineplot(data=frame, x="t", y="predicted_share", hue="run", ls="--", errorbar=None,
                 ax=axes[0], legend=False)
    axes[0].set_ylabel(r"share of pairs with $\Delta\phi\neq0$")
    with seeded_global_random(0):  # the jitter draws from numpy's global generator
        sns.stripplot(data=frame, x="t", y="distance", hue="full span", dodge=True, size=3,
                      ax=axes[1], palette={True: "tab:blue", False: "tab:red"})
    axes[1].axhline(values["tolerance"], color="gray", ls=":")
    axes[1].set_yscale("log")
    axes[1].set_ylabel(r"$\|\theta_{t+1}-(1+1/\beta)\theta_t\|/\|(1+1/\beta)\theta_t\|$")
    sns.lineplot(data=frame, x="t", y="full span", hue="run", marker="o", errorbar=None,
                 ax=axes[2], legend=False)
    axes[2].set_ylabel(r"share of instances with full span")
    for ax in axes:
        ax.set_xlabel("round $t$")
    fig.tight_layout()
    return fig
