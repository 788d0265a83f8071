r"""Linear softmax in the B-ball: past the horizon, kappa stops at a floor set by B, whatever n.

The paper's loop with :math:`\beta=n^{-1/2}` (the scale its theorems need), each exact step
(:func:`srlm_core.model.sharpening.linear.update`) followed by the projection onto
:math:`\lVert\theta\rVert\le B` (:func:`srlm_core.model.sharpening.linear.project`).  The
population iterate is :math:`\theta_t=\min\{(1+1/\beta)^t\lVert\theta_0\rVert,B\}\,u`: it
reaches the ball's boundary after :math:`T^\dagger=\log(B/\lVert\theta_0\rVert)/\log(1+1/\beta)`
rounds (:func:`srlm_core.theory.sharpening.linear_softmax.realizability_horizon`), and from then
on Assumption 5.1 fails and :math:`\kappa_t` stays at :math:`\kappa(\pi_{Bu})`.  Per radius,
:math:`n`, problem instance (isotropic features, the same for every radius and :math:`n`) and
round it records :math:`\lVert\theta_t\rVert`, :math:`\kappa_t`, :math:`F_{\mathrm{own}}`, whether
every span so far was full, and the predicted floor and horizon.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from srlm_core.errors import require, require_at_least, require_positive
from srlm_core.experiments import named
from srlm_core.model.sharpening import linear, observables
from srlm_core.options import option

#: The glue names of each radius B: the mean floor, the failure on F_own after T rounds and
#: the largest spread of kappa within an instance.
RADIUS_NAMES = {
    5.0: {"floor": "p3_ball_floor_B5", "fown": "p3_ball_fown_B5", "spread": "p3_ball_spread_B5"},
    10.0: {"floor": "p3_ball_floor_B10", "fown": "p3_ball_fown_B10",
           "spread": "p3_ball_spread_B10"},
    20.0: {"floor": "p3_ball_floor_B20", "fown": "p3_ball_fown_B20",
           "spread": "p3_ball_spread_B20"},
    40.0: {"floor": "p3_ball_floor_B40", "fown": "p3_ball_fown_B40",
           "spread": "p3_ball_spread_B40"},
}
#: The glue names of the mean horizon of each (radius, n).
HORIZON_NAMES = {
    (5.0, 16): "p3_ball_horizon_B5_n16", (5.0, 64): "p3_ball_horizon_B5_n64",
    (5.0, 256): "p3_ball_horizon_B5_n256", (10.0, 16): "p3_ball_horizon_B10_n16",
    (10.0, 64): "p3_ball_horizon_B10_n64", (10.0, 256): "p3_ball_horizon_B10_n256",
    (20.0, 16): "p3_ball_horizon_B20_n16", (20.0, 64): "p3_ball_horizon_B20_n64",
    (20.0, 256): "p3_ball_horizon_B20_n256", (40.0, 16): "p3_ball_horizon_B40_n16",
    (40.0, 64): "p3_ball_horizon_B40_n64", (40.0, 256): "p3_ball_horizon_B40_n256",
}


@dataclass(frozen=True)
class Config:
    """``radii``: ball radii :math:`B`; ``ns``: pairs per round, each run at
    :math:`\\beta=n^{-1/2}`; ``d``: feature dimension; ``kappa0``: :math:`\\kappa(\\pi_0)` of every
    instance (small enough that :math:`\\lVert\\theta_0\\rVert<B`); ``rounds``: :math:`T`;
    ``prompts``, ``responses``: the table's size; ``instances``: problem instances;
    ``tolerance``: the largest relative gap of :math:`\\kappa_t` to the floor read as rounding
    error (fixed before the run); ``seed``: base seed."""

    radii: tuple[float, ...] = option((5.0, 10.0, 20.0, 40.0), "ball radii B")
    ns: tuple[int, ...] = option((16, 64, 256), "pairs per round, each run at beta = n^(-1/2)")
    d: int = option(8, "feature dimension")
    kappa0: float = option(16.0,
                           "kappa(pi_0) of every instance (small enough that ||theta_0|| < B)")
    rounds: int = option(6, "rounds T")
    prompts: int = option(256, "prompts of the table")
    responses: int = option(64, "responses per prompt")
    instances: int = option(8, "problem instances")
    tolerance: float = option(1e-9,
                              "largest relative gap of kappa_t to the floor read as rounding "
                              "error")
    seed: int = option(0, "base seed")

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        require(self, ("radii", bool(self.radii) and min(self.radii) > 0,
                       "needs positive radii"),
                ("ns", bool(self.ns) and min(self.ns) >= 1, "needs pair counts of at least 1"),
                ("kappa0", 1 < self.kappa0 < self.responses,
                 "must lie strictly between 1 and responses"))
        require_at_least(self, 1, "d", "rounds", "prompts", "instances")
        require_at_least(self, 2, "responses")
        require_positive(self, "tolerance")
        return self


def horizon_function():
    r""":math:`T^\dagger(B,\lVert\theta_0\rVert,\beta)` as a NumPy function, from the SymPy
    solution of :math:`(1+1/\beta)^T\lVert\theta_0\rVert=B`."""
    import sympy as sp

    from srlm_core.theory.sharpening import linear_softmax as lin

    return sp.lambdify((lin.B, lin.norm0, lin.beta), lin.realizability_horizon().horizon,
                       "numpy")


def run(config: Config) -> dict:
    r"""One row per radius, :math:`n`, instance and round :math:`t=0..T`; per radius, :math:`n`
    and instance the horizon :math:`T^\dagger`, its ceiling and the floor
    :math:`\kappa(\pi_{B\theta_0/\lVert\theta_0\rVert})`."""
    c = config.validate()
    rows, runs = [], []
    horizon = horizon_function()
    for instance in range(c.instances):
        phi, theta0 = linear.problem(c.prompts, c.responses, c.d, 0.0, c.kappa0,
                                     np.random.default_rng((c.seed, instance)))
        norm0 = float(np.linalg.norm(theta0))
        base = observables.modes(linear.policy(theta0, phi))
        for radius in c.radii:
            floor = float(observables.kappa(linear.policy(theta0 * radius / norm0, phi)))
            for n in c.ns:
                beta = n ** -0.5
                t_dagger = float(horizon(radius, norm0, beta))
                runs.append({"radius": radius, "n": n, "instance": instance, "norm0": norm0,
                             "horizon": t_dagger, "plateau_round": math.ceil(t_dagger),
                             "floor": floor})
                rng = np.random.default_rng((c.seed, instance, n, int(radius * 1000)))
                thetas, log = linear.iterate(theta0, phi, beta, c.rounds, n, rng, radius=radius)
                full = [True] + list(np.cumprod([step.rank == c.d for step in log]).astype(bool))
                for t, theta in enumerate(thetas):
                    probs = linear.policy(theta, phi)
                    rows.append({"radius": radius, "n": n, "instance": instance, "t": t,
                                 "norm": float(np.linalg.norm(theta)),
                                 "kappa": float(observables.kappa(probs)),
                                 "failure_own": float(observables.failure_own(probs)),
                                 "switches": float(observables.mode_switches(probs, base)),
                                 "full_so_far": bool(full[t])})
    return {"radii": list(c.radii), "ns": list(c.ns), "rounds": c.rounds, "d": c.d,
            "kappa0": c.kappa0, "prompts": c.prompts, "responses": c.responses,
            "instances": c.instances, "tolerance": c.tolerance, "rows": rows, "runs": runs}


def _run_rows(values: dict, run: dict) -> list[dict]:
    return sorted((r for r in values["rows"] if r["radius"] == run["radius"]
                   and r["n"] == run["n"] and r["instance"] == run["instance"]),
                  key=lambda r: r["t"])


def summarise(values: dict) -> dict:
    r"""The design's numbers; over the runs whose spans stayed full: how many first reach the radius
    at round :math:`\lceil T^\dagger\rceil` (``holds`` if all, else ``fails``) and the largest
    relative gap of :math:`\kappa_t` to the floor from that round on (``holds`` if at most
    ``tolerance``); the same gap over the other runs; per radius the floor and
    :math:`F_{\mathrm{own}}` there (means over instances; deterministic per instance, no interval),
    the largest spread of the last round's :math:`\kappa` over :math:`n` within an instance, and per
    radius and :math:`n` the mean horizon :math:`T^\dagger`."""
    tol = values["tolerance"]
    hits, gaps, other_gaps, full_runs = 0, [], [], 0
    for run in values["runs"]:
        rows = _run_rows(values, run)
        at_ball = [r["t"] for r in rows if r["norm"] >= run["radius"] * (1 - 1e-12)]
        first = at_ball[0] if at_ball else None
        plateau = [abs(r["kappa"] / run["floor"] - 1) for r in rows
                   if r["t"] >= run["plateau_round"]]
        if all(r["full_so_far"] for r in rows):
            full_runs += 1
            hits += first == run["plateau_round"]
            gaps += plateau
        else:
            other_gaps += plateau
    max_gap = max(gaps, default=0.0)
    out = {"p3_ball_radii": ", ".join(f"{b:g}" for b in values["radii"]),
           "p3_ball_ns": ", ".join(map(str, values["ns"])), "p3_ball_d": values["d"],
           "p3_ball_kappa0": values["kappa0"], "p3_ball_rounds": values["rounds"],
           "p3_ball_prompts": values["prompts"], "p3_ball_responses": values["responses"],
           "p3_ball_instances": values["instances"], "p3_ball_tolerance": tol,
           "p3_ball_radius_min": min(values["radii"]), "p3_ball_radius_max": max(values["radii"]),
           "p3_ball_runs": len(values["runs"]), "p3_ball_full_runs": full_runs,
           "p3_ball_hits": int(hits),
           "p3_ball_hit_verdict": "holds" if hits == full_runs else "fails",
           "p3_ball_gap": max_gap,
           "p3_ball_gap_verdict": "holds" if max_gap <= tol else "fails",
           "p3_ball_other_gap": 100 * max(other_gaps, default=0.0)}
    last = values["rounds"]
    for radius in values["radii"]:
        runs = [r for r in values["runs"] if r["radius"] == radius]
        end = [r for r in values["rows"] if r["radius"] == radius and r["t"] == last]
        spread = 0.0
        for i in range(values["instances"]):
            kappas = [r["kappa"] for r in end if r["instance"] == i]
            spread = max(spread, max(kappas) - min(kappas))
        out.update(named(RADIUS_NAMES.get(radius),
                         floor=float(np.mean([r["floor"] for r in runs])),
                         fown=float(np.mean([r["failure_own"] for r in end])), spread=spread))
        out.update({HORIZON_NAMES[radius, n]: float(np.mean([r["horizon"] for r in runs
                                                             if r["n"] == n]))
                    for n in values["ns"] if (radius, n) in HORIZON_NAMES})
    return out


def plot(values: dict):
    """One panel per radius (two per row): :math:`\\kappa_t` against the round, one colour per
    :math:`n` (thin lines: instances; markers: mean), the floor :math:`\\kappa(\\pi_{Bu})`
    (dashed, mean over instances) and the mean horizon :math:`T^\\dagger` per :math:`n`
    (dotted, same colour)."""
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    frame = pd.DataFrame(values["rows"])
    runs = pd.DataFrame(values["runs"])
    palette = dict(zip(values["ns"], sns.color_palette(n_colors=len(values["ns"]))))
    columns = min(2, len(values["radii"]))
    rows = math.ceil(len(values["radii"]) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5 * columns, 3.4 * rows), sharey=True,
                             squeeze=False)
    for ax in axes.flat[len(values["radii"]):]:
        ax.set_visible(False)
    for i, (ax, radius) in enumerate(zip(axes.flat, values["radii"])):
        sub = frame[frame.radius == radius]
        sns.lineplot(data=sub, x="t", y="kappa", hue="n", units="instance", estimator=None,
                     lw=0.5, alpha=0.3, palette=palette, legend=False, ax=ax)
        sns.lineplot(data=sub, x="t", y="kappa", hue="n", marker="o", errorbar=None,
                     palette=palette, ax=ax, legend=i == 0)
        here = runs[runs.radius == radius]
        ax.axhline(here["floor"].mean(), color="black", ls="--", lw=1)
        for n, group in here.groupby("n"):
            ax.axvline(group["horizon"].mean(), color=palette[n], ls=":")
        ax.set_yscale("log")
        ax.set_title(f"$B = {radius:g}$")
        ax.set_xlabel("round $t$")
        ax.set_ylabel(r"$\kappa(\pi_t)$")
        if i == 0:
            ax.legend(title="n")
    fig.tight_layout()
    return fig
