"""The figures and the temperature-sweep table of the paper's loop on SmolLM2, from the merged
values and the summary of :mod:`srlm_core.experiments.sharpening.likelihood_self_reward_analysis`.
"""

from __future__ import annotations

import numpy as np

from srlm_core.experiments.sharpening.likelihood_self_reward_analysis import (
    SPLITS,
    bound_curve,
    main_arms,
    mean_or_none,
    round_rows,
    rounds_text,
)


def sweep_table(summary: dict, tau: float, pairs: int):
    """P2's arms (seed 0): the temperature sweep at ``pairs`` pairs and the pair counts at
    ``tau``, each with log kappa-hat_0 on the training prompts, the rounds until the confident
    share reaches the level and the final share (a pandas Styler)."""
    import pandas as pd

    level = summary["share_level"]
    rounds = summary["rounds"]
    rows = ([{"tau": r["tau"], "pairs per prompt": pairs, **r} for r in summary["tau_table"]]
            + [{"tau": tau, "pairs per prompt": r["pairs"], **r} for r in summary["pairs_table"]
               if r["pairs"] != pairs])
    table = pd.DataFrame([{
        "τ": r["tau"], "pairs per prompt": r["pairs per prompt"],
        "log κ̂₀ (training)": r["log_kappa0"],
        f"rounds to share ≥ {level:g}": rounds_text(r["rounds"], rounds),
        "final share": r["final_share"]} for r in rows])
    return table.style.format(precision=2).hide(axis="index")


def plot_kappa(values: dict, summary: dict):
    """kappa-hat_t per seed (training and held-out prompts), the beam estimate, and the
    fitted recursion's bound kappa_inf + q^t (kappa_0 - kappa_inf)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
    main = main_arms(values)
    fit = {"kappa_inf": summary["rec_kappa_inf"], "q": summary["rec_q"]}
    for ax, split in zip(axes, SPLITS, strict=True):
        for a in main:
            rows = round_rows(values, a, split)
            t = [r["t"] for r in rows]
            ax.plot(t, [r["kappa"] for r in rows], "o-", color="C0", alpha=0.7,
                    label=r"$\hat\kappa_t$ (greedy), per seed" if a == main[0] else None)
            beam = [r["kappa_beam"] for r in rows]
            if beam[0] is not None and split == "train":
                first = a == main[0]
                ax.plot(t, [r["kappa_beam_prompts"] for r in rows], "^:", color="C1",
                        alpha=0.6, label="greedy, on the beam prompts only" if first else None)
                ax.plot(t, beam, "s--", color="C2", alpha=0.6,
                        label="beam estimate, on the beam prompts" if first else None)
        if split == "train":
            k0 = float(np.mean([round_rows(values, a, split)[0]["kappa"] for a in main]))
            T = len(round_rows(values, main[0], split)) - 1
            ax.plot(range(T + 1), bound_curve(k0, fit, T), "k:",
                    label=r"fitted recursion: $\kappa_\infty+q^t(\kappa_0-\kappa_\infty)$")
        ax.set_yscale("log")
        ax.set_xticks(range(len(round_rows(values, main[0], split))))
        ax.set_xlabel("round t")
        ax.set_title(f"{split} prompts")
    axes[0].set_ylabel(r"$\hat\kappa_t=\mathrm{mean}\,1/\pi_t(\mathrm{greedy})$")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_rounds(values: dict):
    """Per round (seeds' mean, held-out prompts): the confident share, F_base, agreement with
    pi_0's mode, greedy and sampled accuracy; and answer length."""
    import matplotlib.pyplot as plt

    main = main_arms(values)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    keys = (("share", r"share $\pi_t(\mathrm{greedy})>1/2$"), ("f_base", r"$F_{\rm base}$"),
            ("agree", r"greedy $=\pi_0$'s"), ("greedy_acc", "greedy accuracy"),
            ("sampled_acc", "sampled accuracy"))
    for split, style in zip(SPLITS, ("-", "--"), strict=True):
        table = [round_rows(values, a, split) for a in main]
        t = [r["t"] for r in table[0]]
        for i, (key, label) in enumerate(keys):
            y = [mean_or_none([rows[j][key] for rows in table]) for j in range(len(t))]
            tt = [x for x, v in zip(t, y, strict=True) if v is not None]
            axes[0].plot(tt, [v for v in y if v is not None], style, marker="o",
                         color=f"C{i}", label=label if split == "train" else None)
        lengths = [mean_or_none([rows[j]["length"] for rows in table]) for j in range(len(t))]
        axes[1].plot(t, lengths, style, marker="o", color="C0", label=f"greedy, {split}")
    for ax in axes:
        ax.set_xticks(t)
    axes[0].set_ylim(-0.03, 1.03)
    axes[0].set_xlabel("round t (solid: training prompts, dashed: held-out)")
    axes[0].legend(fontsize=7)
    axes[1].set_xlabel("round t")
    axes[1].set_ylabel("answer length (tokens)")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    return fig
