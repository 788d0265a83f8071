"""The chapter "Controlled signal share" from an analysis of the controlled-alpha records
(:func:`srlm_core.experiments.controlled_alpha_analysis.analyse`): every glued number and
computed word under its glue name, the figures, the tables and the closing paragraphs.
"""

from __future__ import annotations

import math

import numpy as np

from srlm_core.experiments.controlled_alpha_analysis import (
    HELDOUT_ALPHA,
    change_word,
    compare_word,
    predicted_rate,
    verdict_word,
)
from srlm_core.experiments.controlled_alpha_names import ARM_NAMES, SMALL_RUN_NAMES


def heldout_numbers(test: dict, seconds: float) -> dict:
    """The glued numbers of
    :func:`~srlm_core.experiments.controlled_alpha_analysis.heldout_share`'s ``test`` (the
    record took ``seconds``): its verdict and comparison word, the rate, its gap to the
    prediction and the second calibration with its change."""
    out = {"heldout_verdict": verdict_word(test["holds"]),
           "heldout_word": compare_word(test["gap"], "slower than", "faster than",
                                        "consistent with"),
           "heldout_minutes": seconds / 60}
    out.update(_ends(("heldout_rho_value", "heldout_rho_lo", "heldout_rho_hi"), test["rho"]))
    out.update(_ends(("heldout_gap_value", "heldout_gap_lo", "heldout_gap_hi"), test["gap"]))
    out.update(_ends(("heldout_gamma_value", "heldout_gamma_lo", "heldout_gamma_hi"),
                     test["gamma_replicate"]))
    out.update(_ends(("heldout_gamma_change_value", "heldout_gamma_change_lo",
                      "heldout_gamma_change_hi"), test["gamma_change"]))
    return out


def plot_contraction(analysis: dict, arms=None):
    """log E_t / E_0 against t for the fixed-reference soft-label arms, with the predicted
    (1 - gamma-hat alpha)^t and its band."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    gamma = analysis["gamma"]
    names = arms or [n for n, a in analysis["arms"].items() if a["reference"] == "fixed"
                     and a["labels"] == "soft" and a["epoch_factor"] == 1]
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for colour, name in zip(colours, names, strict=False):
        a = analysis["arms"][name]
        t = np.arange(a["rounds"] + 1)
        r = a["ratio"]
        ax.errorbar(t, r["value"], yerr=[np.subtract(r["value"], r["lo"]),
                                         np.subtract(r["hi"], r["value"])],
                    fmt="o", color=colour, capsize=3, label=rf"measured, $\alpha$ = {a['alpha']:g}")
        fine = np.linspace(0, a["rounds"], 50)
        ax.plot(fine, (1 - gamma["value"] * a["alpha"]) ** fine, color=colour, lw=1.2)
        ax.fill_between(fine, (1 - gamma["hi"] * a["alpha"]) ** fine,
                        (1 - gamma["lo"] * a["alpha"]) ** fine, color=colour, alpha=0.15)
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.set_xlabel("round $t$")
    ax.set_ylabel(r"$E_t / E_0$")
    ax.set_title(r"lines: predicted $(1-\hat\gamma\alpha)^t$, band from $\hat\gamma$'s interval")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_contrast(analysis: dict):
    """E_t / E_0 of the contrast arms beside the iterated fixed-reference arm."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    contrasts = {a["alpha"] for a in analysis["arms"].values()
                 if a["reference"] != "fixed" or a["labels"] != "soft" or a["epoch_factor"] > 1}
    for name, a in analysis["arms"].items():
        if a["alpha"] not in contrasts:
            continue
        r = a["ratio"]
        if a["epoch_factor"] > 1:
            t = np.array([a["epoch_factor"] * a["rounds"]], float)
            value, lo, hi = r["value"][1:], r["lo"][1:], r["hi"][1:]
            label = f"{name}: one round, {a['epoch_factor']}x epochs (at its compute)"
        else:
            t = np.arange(a["rounds"] + 1, dtype=float)
            value, lo, hi = r["value"], r["lo"], r["hi"]
            label = f"{name} ({a['reference']} reference, {a['labels']} labels)"
        ax.errorbar(t, value, yerr=[np.subtract(value, lo), np.subtract(hi, value)], fmt="o-",
                    capsize=3, label=label, ms=5)
        if name in analysis["predictions"]["P4"]:
            entry = analysis["predictions"]["P4"][name]
            ax.plot(np.arange(len(entry["predicted"])), entry["predicted"], "k--", lw=1,
                    label=r"moving reference, predicted $|a_t|$ with $\hat\gamma$")
            ax.plot(np.arange(len(entry["exact"])), entry["exact"], "k:", lw=1,
                    label=r"moving reference, $|a_t|$ of the exact minimiser")
    for a in analysis["arms"].values():
        if a["epoch_factor"] > 1:
            ax.axhline(1 - a["alpha"], color="grey", lw=0.8, ls=":")
            ax.annotate(rf"single-step floor $1-\alpha$ = {1 - a['alpha']:g}",
                        (0.05, 1 - a["alpha"] - 0.02), fontsize=7, va="top")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.set_xlabel("round $t$ (single step: placed at its matched compute)")
    ax.set_ylabel(r"$E_t / E_0$")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _fmt(iv: dict, index=None, digits: int = 2) -> str:
    """An interval (each end at ``index``, if given) as ``value [lo, hi]``."""
    pick = (lambda x: x) if index is None else (lambda x: x[index])
    return (f"{pick(iv['value']):.{digits}f} [{pick(iv['lo']):.{digits}f}, "
            f"{pick(iv['hi']):.{digits}f}]")


def summary_table(analysis: dict):
    """One row per arm: its set-up, E_T / E_0 and rho-hat with intervals, and (fixed
    reference) the predicted rate 1 - gamma-hat alpha."""
    import pandas as pd

    rows = []
    for name, a in analysis["arms"].items():
        rows.append({
            "arm": name, "alpha": a["alpha"], "reference": a["reference"],
            "labels": a["labels"], "rounds": a["rounds"],
            "epochs per round": f"{a['epoch_factor']}x",
            "E_T / E_0": _fmt(a["ratio"], -1),
            "rho-hat per round": _fmt(a["rho"]) if "rho" in a else "",
            "predicted 1 - gamma alpha": (_fmt(a["rho_predicted"]) if "rho_predicted" in a
                                          else ""),
        })
    return pd.DataFrame(rows)


def decomposition_table(analysis: dict):
    """Per fixed-reference soft-label arm and round: E_t / E_0 split into the signed coordinate
    a_t along the target direction and the orthogonal part, E_t^2 = a_t^2 E_0^2 + E_perp^2."""
    import pandas as pd

    rows = []
    for name, a in analysis["arms"].items():
        if a["reference"] != "fixed" or a["labels"] != "soft":
            continue
        for t in range(a["rounds"] + 1):
            rows.append({"arm": name, "round t": t, "E_t / E_0": a["ratio"]["value"][t],
                         "a_t (along the target)": a["coordinate"]["value"][t],
                         "S1 exact: -(1 - alpha)^t": -(1 - a["alpha"]) ** t,
                         "E_perp / E_0 (orthogonal)": a["orthogonal"]["value"][t]})
    return pd.DataFrame(rows)


def _ends(names: tuple[str, str, str], interval: dict, index=None) -> dict:
    """An interval's value, lower and upper end (each at ``index``, if given) under ``names``."""
    pick = (lambda x: x) if index is None else (lambda x: x[index])
    return dict(zip(names, (pick(interval[end]) for end in ("value", "lo", "hi")), strict=True))


def chapter_numbers(analysis: dict, small: bool = False) -> dict:
    """Every number and computed word the chapter glues, by glue name (so the chapter's hidden
    cells only glue): gamma-hat, P1-P4 with verdict words, the contrasts, the pool-level KL,
    held-out importance-weighted and sampled pass rates, and the sampled-only check; per arm
    named by :data:`~srlm_core.experiments.controlled_alpha_names.ARM_NAMES`.  ``small``: the
    chapter's small run, named by
    :data:`~srlm_core.experiments.controlled_alpha_names.SMALL_RUN_NAMES`."""
    numbers = _numbers(analysis)
    return {SMALL_RUN_NAMES[name]: value for name, value in numbers.items()} if small else numbers


def _numbers(analysis: dict) -> dict:
    """The chapter's numbers under the main run's glue names (:func:`chapter_numbers`)."""
    arms, pred = analysis["arms"], analysis["predictions"]
    out = {"n_train": analysis["train_prompts"], "heldout_prompts": analysis["heldout_prompts"],
           "pi0_top_mass": analysis["pi0_top_mass"],
           "edited_share": 100 * analysis["edited_share"],
           **_ends(("gamma_value", "gamma_lo", "gamma_hi"), analysis["gamma"]),
           "p1": verdict_word(pred["verdict"]["P1"]), "p2": verdict_word(pred["verdict"]["P2"]),
           "p3": verdict_word(pred["verdict"]["P3"]), "p4": verdict_word(pred["verdict"]["P4"])}
    for name, a in arms.items():
        row = ARM_NAMES[name]
        out[row["rounds"]], out[row["epoch_factor"]] = a["rounds"], a["epoch_factor"]
        out.update(_ends(row["ratio_last"], a["ratio"], -1))
        out.update(_ends(row["coord_last"], a["coordinate"], -1))
        out[row["along_share"]] = 1 + a["coordinate"]["value"][1] if a["rounds"] else math.nan
        out.update(_ends(row["orth_last"], a["orthogonal"], -1))
        for field in ("rho", "rho_predicted", "rho_gap"):
            if field in a:
                out.update(_ends(row[field], a[field]))
        out[row["kl0"]], out[row["kl"]] = a["kl_pool"][0], a["kl_pool"][-1]
        out[row["kl_word"]] = change_word(a["kl_pool"][0], a["kl_pool"][-1])
        out[row["iw0"]], out[row["iw"]] = a["iw_pass_rate"][0], a["iw_pass_rate"][-1]
        out[row["ess"]] = a["iw_ess"][-1]
        if "sampled" in a:
            out.update(_ends(row["sp"], a["sampled"]["pass_rate"]))
            out.update(_ends(row["sp_change"], a["sampled"]["change"]))
            out[row["sp_word"]] = compare_word(a["sampled"]["change"])
            out["pi0_sp"] = a["sampled"]["pi0_pass_rate"]["value"]
            out["sampled_prompts"] = a["sampled"]["prompts"]
    for name, entry in pred["P2"].items():
        out[ARM_NAMES[name]["p2"]] = verdict_word(entry["holds"])
    for name, entry in pred["P1"].items():
        out[ARM_NAMES[name]["p1"]] = verdict_word(entry["holds"])
        out[ARM_NAMES[name]["rho_word"]] = compare_word(entry["gap"], "slower than",
                                                        "faster than", "consistent with")
    for name, entry in pred["P3"].items():
        row = ARM_NAMES[name]
        out.update(_ends(row["floor_gap"], entry["floor_gap"]))
        if "gap_to_iterated" in entry:
            out.update(_ends(row["iter_gap"], entry["gap_to_iterated"]))
            out[row["iter_word"]] = compare_word(entry["gap_to_iterated"])
    for name, entry in pred["P4"].items():
        row = ARM_NAMES[name]
        out[row["shape"]] = ("first approaches, then overshoots"
                             if entry["approaches_first"] and entry["overshoots"]
                             else "approaches without overshooting" if entry["approaches_first"]
                             else "does not approach")
        out[row["max_gap"]] = float(np.max(np.abs(entry["gap"]["value"])))
        out[row["max_gap_exact"]] = float(np.max(np.abs(entry["gap_exact"]["value"])))
        out[row["exact"]] = verdict_word(entry["exact_holds"])
    for name, entry in pred["label_noise"].items():
        row = ARM_NAMES[name]
        out.update(_ends(row["noise_gap"], entry["gap"]))
        out[row["noise_word"]] = compare_word(entry["gap"])
        last = {end: arms[name]["ratio"][end][-1] - 1 for end in ("value", "lo", "hi")}
        out[row["vs_start"]] = compare_word(last)
    out.update(_ends(("pred_heldout_value", "pred_heldout_lo", "pred_heldout_hi"),
                     predicted_rate(analysis, HELDOUT_ALPHA)))
    dose = analysis.get("dose_response")
    if dose is not None:
        out.update(_ends(("dose_diff_value", "dose_diff_lo", "dose_diff_hi"), dose["difference"]))
        out.update(_ends(("dose_predicted_value", "dose_predicted_lo", "dose_predicted_hi"),
                         dose["predicted"]))
        out["dose_detectable"] = dose["detectable"]
        out["dose_prompts_needed"] = dose["prompts_needed"]
        out["dose_word"] = dose["word"]
    robust = analysis["sampled_only"]
    out["so_prompts"] = robust["prompts"]
    if "gamma" in robust:
        out.update(_ends(("so_gamma_value", "so_gamma_lo", "so_gamma_hi"), robust["gamma"]))
    for name, entry in robust.get("arms", {}).items():
        row = ARM_NAMES[name]
        out.update(_ends(row["so_rho"], entry["rho"]))
        out.update(_ends(row["so_rho_gap"], entry["rho_gap"]))
        out[row["so_word"]] = compare_word(entry["rho_gap"], "slower than", "faster than",
                                           "consistent with")
    return out


def _half_width(interval: dict) -> float:
    """Half the width of an interval."""
    return (interval["hi"] - interval["lo"]) / 2


def conclusion_markdown(analysis: dict) -> str:
    """The chapter's closing paragraphs, every verdict word chosen from the numbers."""
    n = _numbers(analysis)
    pred, arms = analysis["predictions"], analysis["arms"]
    resolution = max(_half_width(e["gap"]) for e in pred["P1"].values())
    half = arms["alpha-0.5"]
    s1_last = -(1 - half["alpha"]) ** half["rounds"]
    along = half["coordinate"]
    ahead = {k: along[k][-1] - s1_last for k in ("value", "lo", "hi")}
    orth = half["orthogonal"]
    sampled = {k: compare_word(arms[k]["sampled"]["change"], "above", "below",
                               "indistinguishable from")
               for k in ("alpha-1", "alpha-0.5", "alpha-0.25") if "sampled" in arms[k]}
    text = [
        f"**The rate (P1 {n['p1']}).** Calibrated by one round at $\\alpha=1$, the fitted "
        f"contraction rate of $E_t$ is {n['a05_rho_word']} the predicted "
        f"$1-\\hat\\gamma\\alpha$ at $\\alpha=0.5$ and {n['a025_rho_word']} it at "
        f"$\\alpha=0.25$. The intervals of the differences have half-widths up to "
        f"{resolution:.2f}: a departure smaller than that would have gone unnoticed.",
        f"**The shape (P2 {n['p2']}).** A constant per-round ratio: {n['a05_p2']} at "
        f"$\\alpha=0.5$, {n['a025_p2']} at $\\alpha=0.25$. Along the target direction the "
        f"error coordinate at $\\alpha=0.5$ ends at $a_{{{half['rounds']}}}=$ "
        f"{along['value'][-1]:+.3f} [{along['lo'][-1]:+.3f}, {along['hi'][-1]:+.3f}], "
        + compare_word(ahead, "closer to the target than", "further from the target than",
                       "in line with")
        + f" S1's exact minimiser ({s1_last:+.4f}); across it, the error the network adds "
        f"{change_word(orth['value'][1], orth['value'][-1], rel=0.1)} from "
        f"{orth['value'][1]:.3f} of $E_0$ after the first round to {orth['value'][-1]:.3f} "
        f"after the last.",
    ]
    if pred["P3"] or pred["P4"]:
        text.append(
            f"**The contrasts.** One step with the compute of four rounds: P3 {n['p3']}. The "
            f"moving reference {n['moving_shape']}. Does its size follow the recursion? With "
            f"the calibrated $\\hat\\gamma$: P4 {n['p4']} (largest gap "
            f"{n['moving_max_gap']:.2f} of $E_0$); with $\\gamma=1$, the exact minimiser: "
            f"{n['moving_exact']} (largest gap {n['moving_max_gap_exact']:.2f}).")
    if pred["label_noise"]:
        text.append(
            f"**Sampled labels.** One Bernoulli label per pair and round leaves $E_T$ "
            f"{n['bernoulli_noise_word']} the soft-label arm's and {n['bernoulli_vs_start']} "
            f"$E_0$.")
    if sampled:
        text.append(
            "**Outside the training prompts.** The pass rate of answers sampled from the final "
            "policies on held-out prompts is "
            + ", ".join(f"{word} $\\pi_0$'s at $\\alpha={arms[k]['alpha']:g}$"
                        for k, word in sampled.items())
            + " (paired over prompts).")
    return "\n\n".join(text)


def chapter_figures(analysis: dict) -> dict:
    """The chapter's figures and tables from the records, by glue name (figures and pandas
    Stylers)."""
    return {
        "fig_contraction": plot_contraction(analysis),
        "fig_contrast": plot_contrast(analysis),
        "alpha_table": summary_table(analysis).style.hide(axis="index"),
        "decomposition_table": decomposition_table(analysis).style.format(precision=3)
        .hide(axis="index"),
    }
