r"""S1 contrast: with a moving DPO reference the population iteration is not a contraction.

The population iteration (:math:`n=\infty`, one run per random problem: features,
:math:`w^\star` and the direction of :math:`\theta_0` drawn with seed ``seed + i``) with the
DPO reference fixed at
:math:`\pi_{\mathrm{ref}}` and with it reset to :math:`\pi_t` every round, against the SymPy
closed forms of :mod:`srlm_core.theory.contraction_law`: fixed,
:math:`e_t = e_0(1-\alpha)^t` (:func:`srlm_core.theory.contraction_law.unrolled_error`); moving,
:math:`e_t = \lVert D_t - w^\star\rVert_2` with :math:`D_{t+1} = (2-\alpha)D_t + \alpha w^\star`
solved coordinate-wise (:func:`srlm_core.theory.contraction_law.moving_reference`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from srlm_core.errors import require_at_least, require_positive, require_shares
from srlm_core.experiments import named
from srlm_core.model import metrics
from srlm_core.model.policy import ProblemConfig
from srlm_core.model.self_rewarding import REFERENCES, SelfRewardingRunner, SimulationConfig
from srlm_core.options import nested, option

#: The glue names of each signal share: the last round's growth factor of the moving error
#: (mean, min, max over instances), its prediction, and the verdicts.
GROWTH_NAMES = {
    0.5: {"growth": "moving_growth_a50", "min": "moving_growth_a50_min",
          "max": "moving_growth_a50_max", "pred": "growth_pred_a50", "grows": "moving_grows_a50",
          "approach": "moving_approach_a50"},
    1.0: {"growth": "moving_growth_a100", "min": "moving_growth_a100_min",
          "max": "moving_growth_a100_max", "pred": "growth_pred_a100", "grows": "moving_grows_a100",
          "approach": "moving_approach_a100"},
}

@dataclass(frozen=True)
class Config:
    """``alphas``: the signal shares, each in (0, 1]; ``instances``: random problems;
    ``tolerance``: the largest gap to the closed forms read as rounding error."""

    alphas: tuple[float, ...] = option((0.5, 1.0), "signal shares alpha, each in (0, 1]")
    iters: int = option(5, "rounds per run")
    init_dist: float = option(1.0, "initial distance e_0 to the target")
    problem: ProblemConfig = nested(ProblemConfig(),
                                   "the random problems (instance i: seed + i)")
    instances: int = option(8, "random problems")
    tolerance: float = option(1e-6, "largest gap to the closed forms read as rounding error")
    device: str = option("cpu", "cpu, cuda or auto")

    def simulation(self, alpha: float, reference: str, instance: int = 0) -> SimulationConfig:
        """The population run (``n = 0``, one seed) for one share, reference and instance."""
        return SimulationConfig.on(self.problem.instance(instance), alpha=alpha, n=0, seeds=1,
                                   reference=reference, iters=self.iters,
                                   init_dist=self.init_dist, device=self.device)

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        require_shares(self, "alphas", closed=True)
        require_at_least(self, 2, "iters")
        require_at_least(self, 1, "instances")
        require_positive(self, "init_dist", "tolerance")
        self.simulation(self.alphas[0], "fixed").validate()
        return self


def closed_forms(alpha: float):
    r"""The S1 closed forms at ``alpha`` as NumPy functions: the fixed-reference error
    :math:`e_t(t, e_0)` and the moving-reference deviation :math:`D_t(t, D_0, w^\star)`
    (the :math:`\alpha=1` solution at :math:`\alpha=1`, where the general one is singular)."""
    import sympy as sp

    from srlm_core.theory import contraction_law

    m = contraction_law.moving_reference()
    D0, w = sp.symbols("D_0 w^*", real=True)
    moving = m.solution_alpha_one if alpha == 1 else m.solution.subs(contraction_law.alpha, alpha)
    fixed = contraction_law.unrolled_error().subs(contraction_law.alpha, alpha)
    return (sp.lambdify((contraction_law.t, contraction_law.e0), fixed, "numpy"),
            sp.lambdify((contraction_law.t, D0, w), moving, "numpy"))


def growth_factor(alpha: float) -> float:
    r"""The moving reference's per-round growth factor :math:`2-\alpha` from SymPy."""
    from srlm_core.theory import contraction_law

    return float(contraction_law.moving_reference().growth.subs(contraction_law.alpha, alpha))


def run(config: Config) -> dict:
    r"""Per share, reference, instance and round: the measured
    :math:`\lVert\theta_t-\theta^\star\rVert_2` and its closed form (:func:`closed_forms`); per
    share the predicted growth factor."""
    c = config.validate()
    rows, growth = [], []
    for alpha in c.alphas:
        fixed, moving = closed_forms(alpha)
        growth.append({"alpha": alpha, "predicted": growth_factor(alpha)})
        for reference in REFERENCES:
            for instance in range(c.instances):
                runner = SelfRewardingRunner(c.simulation(alpha, reference, instance))
                result = runner.run()
                p = runner.problem
                dist = metrics.param_distance(p, result.thetas)[:, 0].cpu().tolist()
                D_0 = (result.thetas[0, 0] - p.theta_ref).cpu().numpy()
                w_star = p.w_star.cpu().numpy()
                for t, measured in enumerate(dist):
                    if reference == "moving":  # ||theta_t - theta*|| = ||D_t - w*||
                        predicted = float(np.linalg.norm(moving(t, D_0, w_star) - w_star))
                    else:
                        predicted = float(fixed(t, c.init_dist))
                    rows.append({"alpha": alpha, "reference": reference, "instance": instance,
                                 "t": t, "measured": measured, "predicted": predicted})
    return {"alphas": list(c.alphas), "instances": c.instances, "tolerance": c.tolerance,
            "rows": rows, "growth": growth}


def _moving(values: dict, alpha: float) -> np.ndarray:
    """The moving-reference errors of one share: shape (instances, rounds)."""
    rows = [r for r in values["rows"] if r["reference"] == "moving" and r["alpha"] == alpha]
    rows.sort(key=lambda r: (r["instance"], r["t"]))
    return np.array([r["measured"] for r in rows]).reshape(values["instances"], -1)


def summarise(values: dict) -> dict:
    r"""The largest absolute gap between the simulation and the closed forms over every
    instance, and the verdict ``follows the closed forms to rounding error`` (gap at most
    ``tolerance``) or ``departs from the closed forms``; per share (named by
    :data:`GROWTH_NAMES`) the last round's measured
    growth factor of the moving-reference error (range over instances; deterministic, no
    interval), the predicted :math:`2-\alpha`, whether the moving error ``grows`` at every
    round in every instance (else ``does not grow at every round``) and whether the last
    round's factor is closer to :math:`2-\alpha` than the one before in every instance
    (``approaching`` / ``not approaching``)."""
    rows = values["rows"]
    gap = float(max(abs(r["measured"] - r["predicted"]) for r in rows))
    out = {"moving_max_gap": gap, "n_moving_instances": values["instances"],
           "moving_match": ("follows the closed forms to rounding error"
                            if gap <= values["tolerance"] else "departs from the closed forms")}
    for entry in values["growth"]:
        alpha, predicted = entry["alpha"], entry["predicted"]
        moving = _moving(values, alpha)
        factors = moving[:, 1:] / moving[:, :-1]
        last = factors[:, -1]
        closer = np.abs(factors[:, -1] - predicted) < np.abs(factors[:, -2] - predicted)
        out.update(named(
            GROWTH_NAMES.get(alpha), growth=float(last.mean()), min=float(last.min()),
            max=float(last.max()), pred=predicted,
            grows="grows" if (factors > 1).all() else "does not grow at every round",
            approach="approaching" if closer.all() else "not approaching",
        ))
    return out


def plot(values: dict):
    """One panel per share: measured error per round for both references, one thin line per
    instance and the mean over instances (markers), and the closed forms (dashed, grey; the
    moving one per instance); log scale."""
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    frame = pd.DataFrame(values["rows"])
    alphas = values["alphas"]
    fig, axes = plt.subplots(1, len(alphas), figsize=(4.5 * len(alphas), 3.6), sharey=True,
                             squeeze=False)
    for ax, alpha in zip(axes[0], alphas):
        sub = frame[frame.alpha == alpha]
        sns.lineplot(data=sub, x="t", y="measured", hue="reference", units="instance",
                     estimator=None, lw=0.6, alpha=0.4, legend=False, ax=ax)
        sns.lineplot(data=sub, x="t", y="measured", hue="reference", marker="o",
                     errorbar=None, ax=ax)
        for _, group in sub.groupby(["reference", "instance"]):
            ax.plot(group["t"], group["predicted"], ls="--", color="gray", lw=0.6)
        ax.set_yscale("log")
        ax.set_title(rf"$\alpha = {alpha:g}$")
        ax.set_xlabel("iteration $t$")
        ax.set_ylabel(r"$\|\theta_t-\theta^\star\|_2$")
    return fig
