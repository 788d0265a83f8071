"""The figures of the coverage sweep (:mod:`srlm_core.experiments.coverage`): one step
against pairs per prompt (tabular and featured) and iterating at equal budget.
"""

from __future__ import annotations

import numpy as np

from srlm_core.experiments.coverage_analysis import featured_curve, iterative_table, tabular_curves


def plot_single_step(values: dict):
    r"""Left: tabular success against pairs per prompt over :math:`\kappa_0` (markers: mean
    over seeds with 95% intervals) and the coverage bound (dashed).  Right: the featured
    success against :math:`n\rho/\kappa_0` and :math:`n\rho/\kappa_\phi` (bootstrap intervals
    over seeds), with the large-:math:`\kappa_0` tabular bound :math:`1-e^{-2x}` (dotted)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    curves = tabular_curves(values)
    palette = sns.color_palette("viridis", len(curves))
    ax = axes[0]
    for colour, c in zip(palette, curves, strict=True):
        x, mean = np.asarray(c["x"]), np.asarray(c["mean"])
        ax.errorbar(x, mean, yerr=[mean - np.asarray(c["lo"]), np.asarray(c["hi"]) - mean],
                    fmt="o", color=colour, capsize=3, ms=4,
                    label=rf"$\kappa_0$ = {c['kappa']:g}")
        ax.plot(x, c["bound"], ls="--", color=colour, lw=1)
    ax.axhline(0.5, color="grey", lw=0.6)
    ax.set(xscale="log", xlabel=r"pairs per prompt / $\kappa_0$  ($m/\kappa_0$)",
           ylabel=r"share of prompts with $\pi_1(y^\star\mid x)\geq 1/2$",
           title="tabular: one step (dashed: coverage bound)")
    ax.legend(fontsize=8)
    ax = axes[1]
    grid = np.geomspace(1e-4, 1e3, 200)
    ax.plot(grid, 1 - np.exp(-2 * grid), ls=":", color="black", lw=1,
            label=r"tabular bound, $1-e^{-2x}$")
    for scale, label, colour in (("kappa0", r"$x = n\rho/\kappa_0$", "C0"),
                                 ("kappa_phi", r"$x = n\rho/\kappa_\phi$", "C3")):
        c = featured_curve(values, scale)
        x, mean = np.asarray(c["x"]), np.asarray(c["mean"])
        ax.errorbar(x, mean, yerr=[mean - np.asarray(c["lo"]), np.asarray(c["hi"]) - mean],
                    fmt="o-", color=colour, capsize=3, ms=4, lw=1, label=label)
    ax.axhline(0.5, color="grey", lw=0.6)
    ax.set(xscale="log", xlabel=r"$x$", title="featured: one step")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_iterative(values: dict):
    r"""One panel per (:math:`\alpha`, :math:`\kappa_0`): success after the last round against
    the total budget (pairs per prompt over :math:`\kappa_0`) for every :math:`T`, mean over
    seeds with 95% intervals; dotted: the population prediction after T rounds
    (:func:`srlm_core.theory.coverage_law.population_mass`)."""
    import matplotlib.pyplot as plt

    it, table = values["iterative"], iterative_table(values)
    alphas, kappas = it["alphas"], sorted({c["kappa"] for c in it["cells"]})
    fig, axes = plt.subplots(len(alphas), len(kappas), figsize=(2.8 * len(kappas),
                                                                2.3 * len(alphas)),
                             sharex=True, sharey=True, squeeze=False)
    for i, alpha in enumerate(alphas):
        for j, kappa in enumerate(kappas):
            ax = axes[i][j]
            for k, T in enumerate(it["rounds"]):
                rows = sorted((r for r in table if (r["alpha"], r["kappa"], r["rounds"])
                               == (alpha, kappa, T)), key=lambda r: r["budget"])
                x = np.array([r["budget"] for r in rows]) * (1.04 ** k)
                mean = np.array([r["mean"] for r in rows])
                ax.errorbar(x, mean, yerr=[mean - np.array([r["lo"] for r in rows]),
                                           np.array([r["hi"] for r in rows]) - mean],
                            fmt="o-", ms=3, lw=1, capsize=2, color=f"C{k}",
                            label=f"T = {T}")
                ax.axhline(rows[0]["population"], color=f"C{k}", ls=":", lw=0.8)
            ax.axhline(0.5, color="grey", lw=0.5)
            ax.set_xscale("log")
            ax.set_title(rf"$\alpha$ = {alpha:g}, $\kappa_0$ = {kappa:g}", fontsize=9)
            if j == 0:
                ax.set_ylabel(r"success", fontsize=9)
            if i == len(alphas) - 1:
                ax.set_xlabel(r"total pairs per prompt / $\kappa_0$", fontsize=9)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return fig
