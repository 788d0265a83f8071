"""The figures and closing table of the judge-failures experiment
(:mod:`srlm_core.experiments.judge_failures`): the errors per round of the population arms,
the vanishing signal's floor against its prediction, and one table row per departure.
"""

from __future__ import annotations

import numpy as np

from srlm_core.experiments.judge_failures_analysis import arm_numbers, match_word, vanishing_numbers

#: what each kind of departure violates (the table's first column)
NEEDS = {
    "theory": "none (the theory's judge)",
    "bias": "no judge term outside r* and the log-ratio",
    "saturating": "self-preference linear in the log-ratio",
    "amplifying": "self-preference linear in the log-ratio",
    "confidence_noise": "label noise independent of the model (Bradley-Terry only)",
    "vanishing": "signal share alpha bounded away from 0",
}


def table(values: dict):
    """The chapter's closing table (a pandas DataFrame of strings), every cell from
    :func:`~srlm_core.experiments.judge_failures_analysis.arm_numbers` and
    :func:`~srlm_core.experiments.judge_failures_analysis.vanishing_numbers`: per departure the need
    of the guarantee it violates, whether the iteration contracts, the measured rate against the
    prediction, and the fixed point's distance to the target and KL."""
    import pandas as pd

    fading = vanishing_numbers(values["vanishing"])

    def fmt(x, spec=".3f"):
        return "-" if x is None else format(x, spec)

    rows = []
    for arm in values["arms"]:
        k = arm["name"]
        label = {"theory": "theory's judge", "saturating": f"saturating g, s = {arm['strength']}",
                 "confidence_noise": f"confidence noise, s = {arm['strength']}"}.get(k)
        if label is None and arm["kind"] == "bias":
            label = f"bias b = {arm['strength']}, alpha = {arm['alpha']}"
        if label is None:
            label = f"amplifying g, s = {arm['strength']}"
        got = arm_numbers(arm, values["signal"])
        dist_pred = got.get("dist_pred")
        rows.append({
            "departure": label,
            "need it violates": NEEDS[arm["kind"]],
            "iteration": got["contracts"],
            "rate (measured)": f"{fmt(got['rate'])} [{fmt(got['rate_lo'])}, "
                               f"{fmt(got['rate_hi'])}]",
            "rate (predicted)": fmt(got["rate_pred"]),
            "rate is": got["rate_verdict"],
            "||theta_inf - theta*||": f"{fmt(got['dist'])}"
                                      + (f" (pred. {fmt(dist_pred)})" if dist_pred is not None
                                         else ""),
            "KL(pi* || pi_inf)": fmt(got["kl"], ".2e"),
        })
    for a in values["vanishing"]["alphas"][1:]:
        got = fading[a]
        rows.append({
            "departure": f"alpha = {a} (theory's judge, n = {values['n']})",
            "need it violates": NEEDS["vanishing"],
            "iteration": "contracts" if got["rate"] < 1 else "does not contract",
            "rate (measured)": fmt(got["rate"]),
            "rate (predicted)": fmt(got["rate_pred"]),
            "rate is": match_word(got["rate"], got["rate_pred"]),
            "||theta_inf - theta*||": f"floor x{got['ratio']:.2f} "
                                      f"(pred. x{got['ratio_pred']:.2f})",
            "KL(pi* || pi_inf)": "-",
        })
    return pd.DataFrame(rows)


def plot(values: dict):
    r"""Left: :math:`\lVert\theta_t - \theta_\infty\rVert_2` (mean over instances, log scale)
    per population arm that converges, against :math:`e_0(1-\alpha)^t` (dashed); right:
    :math:`\lVert\theta_t - \theta^*\rVert_2`, where a displaced fixed point shows as a
    plateau and a diverging arm as a rising line."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    arms = values["arms"]
    colours = dict(zip([a["name"] for a in arms], sns.color_palette("tab10", len(arms))))
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for arm in arms:
        converged = all(s == "converged" for s in arm["status"])
        panels = ((left, "to_fixed"), (right, "to_target")) if converged else \
            ((right, "to_target"),)
        for ax, key in panels:
            length = min(len(r) for r in arm[key])
            mean = np.mean([r[:length] for r in arm[key]], axis=0)
            ax.plot(np.arange(length), mean, marker="o", ms=3, color=colours[arm["name"]],
                    label=arm["name"])
    steps = np.arange(max(len(r) for a in arms for r in a["to_fixed"]))
    left.plot(steps, values["init_dist"] * (1 - values["alpha"]) ** steps, "k--", lw=1,
              label=r"$e_0(1-\alpha)^t$")
    for ax, label in ((left, r"$\|\theta_t-\theta_\infty\|_2$"),
                      (right, r"$\|\theta_t-\theta^\star\|_2$")):
        ax.set_yscale("log")
        ax.set_xlabel("round $t$")
        ax.set_ylabel(label)
    left.set_ylim(bottom=1e-12)
    right.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.tight_layout()
    return fig


def plot_vanishing(values: dict):
    r"""The vanishing signal: the finite-n stationary mean of :math:`e_t^2` relative to the
    largest share (mean and 95% interval over instances) against
    :math:`\alpha_0(2-\alpha_0)/(\alpha(2-\alpha))` (dashed); log-log."""
    import matplotlib.pyplot as plt

    fading = vanishing_numbers(values["vanishing"])
    alphas = values["vanishing"]["alphas"]
    mean = [fading[a]["ratio"] for a in alphas]
    err = [[m - fading[a]["ratio_lo"] for m, a in zip(mean, alphas)],
           [fading[a]["ratio_hi"] - m for m, a in zip(mean, alphas)]]
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    ax.errorbar(alphas, mean, yerr=err, fmt="o", capsize=3, label="measured")
    grid = np.geomspace(min(alphas), max(alphas), 50)
    a0 = alphas[0]
    ax.plot(grid, a0 * (2 - a0) / (grid * (2 - grid)), "k--", lw=1,
            label=r"$\alpha_0(2-\alpha_0)/(\alpha(2-\alpha))$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(alphas, [f"{a:g}" for a in alphas])
    ax.minorticks_off()
    ax.set_xlabel(r"signal share $\alpha$")
    ax.set_ylabel("stationary error$^2$ / that at " + rf"$\alpha={a0}$")
    ax.legend()
    fig.tight_layout()
    return fig
