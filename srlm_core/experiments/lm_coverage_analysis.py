r"""Coverage on the real model: how much of :math:`\pi_0` falls on passing answers, per training
prompt of the controlled-alpha pool, and whether the single-step arm falls short where that
coverage is low (chapter "The single-step limit", section on coverage).

Two coverages of the passing answers (every passing answer is optimal: :math:`r^\star=c\,g`):

* *sampled*, the share of the pool record's ``samples`` draws from :math:`\pi_0` at
  temperature 1 that finished and passed their checker (the scan of
  :func:`srlm_core.experiments.lm_pool.run`): :math:`\pi_0`'s coverage of the passing answers,
  with :math:`\kappa_0(x)` its inverse;
* *pool*, the share of :math:`\pi_0`'s mass on the passing answers among the prompt's K pool
  answers, from their stored :math:`\log\pi_0`.

The single step falls short on a prompt by
:math:`(E^{\mathrm{single}}_{1,x}-E^{\mathrm{iterated}}_{T,x})/E_{0,x}`, with :math:`E_{t,x}`
the root-mean-square centred error of the prompt's answers
(:class:`srlm_core.experiments.controlled_alpha_analysis.Measurements`): the single-step arm
(one round with the compute of T) against the iterated fixed-reference arm with the same
:math:`\alpha`.  The association is Spearman's rank correlation over training prompts with a
percentile bootstrap over prompts.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm, rankdata

from srlm_core.experiments import named, renamed
from srlm_core.experiments.controlled_alpha_analysis import LEVEL, Measurements, compare_word


def spearman(x, y) -> float:
    """Spearman's rank correlation of two equally long sequences (NaN when one is constant)."""
    rx, ry = rankdata(np.asarray(x, float)), rankdata(np.asarray(y, float))
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denominator = np.sqrt((rx * rx).sum() * (ry * ry).sum())
    return float((rx * ry).sum() / denominator) if denominator > 0 else float("nan")


def prompt_table(pool_values: dict, main: dict, contrast: dict, scale: float) -> list[dict]:
    """One row per training prompt: id, sampled and pool coverage of the passing answers,
    whether it has edited answers, E_0, the single step's E_1 / E_0, the iterated arm's
    E_T / E_0 and the shortfall."""
    m = Measurements(main, contrast, scale=scale)
    single = next(name for name, arm in m.arms.items()
                  if arm["rounds"] == 1 and arm["epoch_factor"] > 1)
    alpha = m.arms[single]["alpha"]
    iterated = next(name for name, arm in m.arms.items()
                    if arm["alpha"] == alpha and arm["reference"] == "fixed"
                    and arm["labels"] == "soft" and arm["epoch_factor"] == 1)
    E_single = np.sqrt(m.prompt_sq(single))
    E_iter = np.sqrt(m.prompt_sq(iterated))
    pool = m.pool
    train_ids = [pid for pid, split in zip(pool["prompt_ids"], pool["split"], strict=True)
                 if split == "train"]
    sampled = {s["id"]: s["sampled_pass_rate"] for s in pool_values["scan"]}
    logp0 = np.asarray(pool["logp0"], float)
    rows = []
    for k, (pid, group) in enumerate(zip(train_ids, m.train, strict=True)):
        weights = np.exp(logp0[group] - logp0[group].max())
        rows.append({
            "id": pid, "sampled_coverage": float(sampled[pid]),
            "pool_coverage": float((weights * m.g[group]).sum() / weights.sum()),
            "edited": bool(m.edited[group].any()),
            "E0": float(E_single[0, k]),
            "single_ratio": float(E_single[1, k] / E_single[0, k]),
            "iterated_ratio": float(E_iter[-1, k] / E_iter[0, k]),
            "shortfall": float((E_single[1, k] - E_iter[-1, k]) / E_single[0, k]),
            "floor_gap": float(E_single[1, k] / E_single[0, k] - (1 - alpha)),
            "alpha": alpha, "single": single, "iterated": iterated,
            "rounds": m.arms[iterated]["rounds"],
        })
    return rows


#: The two ways a single step can fall short on a prompt (columns of :func:`prompt_table`).
OUTCOMES = ("floor_gap", "shortfall")
COVERAGES = ("sampled_coverage", "pool_coverage")
#: The glue names of the sampled and the pool coverage's median, range and zero share.
COVERAGE_NAMES = {
    "sampled_coverage": {"median": "lmcov_sampled_median", "min": "lmcov_sampled_min",
                         "max": "lmcov_sampled_max", "zero": "lmcov_sampled_zero"},
    "pool_coverage": {"median": "lmcov_pool_median", "min": "lmcov_pool_min",
                      "max": "lmcov_pool_max", "zero": "lmcov_pool_zero"},
}
#: The glue names of each coverage's rank correlation with each outcome (all prompts and
#: sampled-only ones): value, interval, the outcome's means in the low and high halves, word.
CORRELATION_NAMES = {
    ("sampled_coverage", "floor_gap"): {"rho": "lmcov_sampled_floor_rho",
                                        "rho_lo": "lmcov_sampled_floor_rho_lo",
                                        "rho_hi": "lmcov_sampled_floor_rho_hi",
                                        "low": "lmcov_sampled_floor_low",
                                        "high": "lmcov_sampled_floor_high",
                                        "word": "lmcov_sampled_floor_word"},
    ("sampled_coverage", "floor_gap_sampled_only"): {"rho": "lmcov_sampled_floor_so_rho",
                                                     "rho_lo": "lmcov_sampled_floor_so_rho_lo",
                                                     "rho_hi": "lmcov_sampled_floor_so_rho_hi",
                                                     "low": "lmcov_sampled_floor_so_low",
                                                     "high": "lmcov_sampled_floor_so_high",
                                                     "word": "lmcov_sampled_floor_so_word"},
    ("sampled_coverage", "shortfall"): {"rho": "lmcov_sampled_iter_rho",
                                        "rho_lo": "lmcov_sampled_iter_rho_lo",
                                        "rho_hi": "lmcov_sampled_iter_rho_hi",
                                        "low": "lmcov_sampled_iter_low",
                                        "high": "lmcov_sampled_iter_high",
                                        "word": "lmcov_sampled_iter_word"},
    ("sampled_coverage", "shortfall_sampled_only"): {"rho": "lmcov_sampled_iter_so_rho",
                                                     "rho_lo": "lmcov_sampled_iter_so_rho_lo",
                                                     "rho_hi": "lmcov_sampled_iter_so_rho_hi",
                                                     "low": "lmcov_sampled_iter_so_low",
                                                     "high": "lmcov_sampled_iter_so_high",
                                                     "word": "lmcov_sampled_iter_so_word"},
    ("pool_coverage", "floor_gap"): {"rho": "lmcov_pool_floor_rho",
                                     "rho_lo": "lmcov_pool_floor_rho_lo",
                                     "rho_hi": "lmcov_pool_floor_rho_hi",
                                     "low": "lmcov_pool_floor_low", "high": "lmcov_pool_floor_high",
                                     "word": "lmcov_pool_floor_word"},
    ("pool_coverage", "floor_gap_sampled_only"): {"rho": "lmcov_pool_floor_so_rho",
                                                  "rho_lo": "lmcov_pool_floor_so_rho_lo",
                                                  "rho_hi": "lmcov_pool_floor_so_rho_hi",
                                                  "low": "lmcov_pool_floor_so_low",
                                                  "high": "lmcov_pool_floor_so_high",
                                                  "word": "lmcov_pool_floor_so_word"},
    ("pool_coverage", "shortfall"): {"rho": "lmcov_pool_iter_rho",
                                     "rho_lo": "lmcov_pool_iter_rho_lo",
                                     "rho_hi": "lmcov_pool_iter_rho_hi",
                                     "low": "lmcov_pool_iter_low", "high": "lmcov_pool_iter_high",
                                     "word": "lmcov_pool_iter_word"},
    ("pool_coverage", "shortfall_sampled_only"): {"rho": "lmcov_pool_iter_so_rho",
                                                  "rho_lo": "lmcov_pool_iter_so_rho_lo",
                                                  "rho_hi": "lmcov_pool_iter_so_rho_hi",
                                                  "low": "lmcov_pool_iter_so_low",
                                                  "high": "lmcov_pool_iter_so_high",
                                                  "word": "lmcov_pool_iter_so_word"},
}


def association(cover: np.ndarray, outcome: np.ndarray, draw: np.ndarray) -> dict:
    """Spearman's correlation with its percentile bootstrap interval (rows of ``draw``: the
    resampled prompt indices), and the outcome's mean on the low and high halves of
    ``cover`` (split at its median; the low half includes ties at the median).  A constant
    outcome has no rank correlation: NaN."""
    boot = np.array([spearman(cover[d], outcome[d]) for d in draw])
    boot = boot[np.isfinite(boot)]
    lo, hi = (np.percentile(boot, [50 * (1 - LEVEL), 50 * (1 + LEVEL)]) if boot.size
              else (float("nan"), float("nan")))
    median = np.median(cover)
    low, high = outcome[cover <= median], outcome[cover > median]
    return {"value": spearman(cover, outcome), "lo": float(lo), "hi": float(hi),
            "low_half": float(low.mean()) if low.size else float("nan"),
            "high_half": float(high.mean()) if high.size else float("nan")}


def analyse(pool_values: dict, main: dict, contrast: dict, scale: float = 2.0,
            n_boot: int = 2000, seed: int = 0) -> dict:
    """The per-prompt table; per coverage its spread over prompts and its association
    (:func:`association`) with the single step's excess over its floor :math:`1-\\alpha`
    (``floor_gap``) and with its shortfall against the iterated arm (``shortfall``), on all
    training prompts and on those whose answers are all sampled."""
    rows = prompt_table(pool_values, main, contrast, scale)
    rng = np.random.default_rng(seed)
    out = {"prompts": rows, "n_boot": n_boot}
    sampled_only = np.array([not r["edited"] for r in rows])
    for key in COVERAGES:
        cover = np.array([r[key] for r in rows])
        entry = {"median": float(np.median(cover)), "min": float(cover.min()),
                 "max": float(cover.max()), "zero": int((cover == 0).sum())}
        for outcome in OUTCOMES:
            y = np.array([r[outcome] for r in rows])
            draw = rng.integers(0, len(rows), size=(n_boot, len(rows)))
            entry[outcome] = association(cover, y, draw)
            keep = np.nonzero(sampled_only)[0]
            if keep.size >= 4:
                draw = rng.integers(0, keep.size, size=(n_boot, keep.size))
                entry[outcome + "_sampled_only"] = association(cover[keep], y[keep], draw)
        out[key] = entry
    return out


def detectable_correlation(prompts: int, alpha: float = 0.05, power: float = 0.8) -> float:
    r"""The smallest rank correlation a two-sided test over ``prompts`` independent prompts
    detects with probability ``power`` at level ``alpha``: Fisher's :math:`z` with the
    Spearman variance :math:`1.06/(m-3)`,
    :math:`\tanh\big((z_{1-\alpha/2}+z_{\mathrm{power}})\sqrt{1.06/(m-3)}\big)`.  An
    interval containing 0 excludes no association weaker than this."""
    if prompts < 4:
        raise ValueError("a detectable correlation needs at least four prompts")
    return float(np.tanh((norm.ppf(1 - alpha / 2) + norm.ppf(power))
                         * np.sqrt(1.06 / (prompts - 3))))


def chapter_numbers(analysis: dict) -> dict:
    """Every number and verdict word the section glues, by glue name (prefix ``lmcov_``).
    The pre-registered prediction is no association of the sampled coverage with either
    outcome (both intervals contain 0); ``lmcov_detectable_rho`` is the weakest association
    the prompts detect (:func:`detectable_correlation`), so that a verdict ``holds`` reads as
    no association at least that strong."""
    rows = analysis["prompts"]
    out = {"lmcov_prompts": len(rows), "lmcov_alpha": rows[0]["alpha"],
           "lmcov_rounds": rows[0]["rounds"], "lmcov_floor": 1 - rows[0]["alpha"],
           "lmcov_short": sum(r["shortfall"] > 0 for r in rows),
           "lmcov_edited": sum(r["edited"] for r in rows),
           "lmcov_sampled_only": sum(not r["edited"] for r in rows),
           "lmcov_detectable_rho": (detectable_correlation(len(rows)) if len(rows) >= 4
                                    else float("nan"))}
    for key in COVERAGES:
        a = analysis[key]
        out.update(renamed(a, COVERAGE_NAMES[key]))
        for outcome in OUTCOMES:
            for measured in (outcome, outcome + "_sampled_only"):
                if measured not in a:
                    continue
                rho = a[measured]
                out.update(named(CORRELATION_NAMES[key, measured], rho=rho["value"],
                                 rho_lo=rho["lo"], rho_hi=rho["hi"], low=rho["low_half"],
                                 high=rho["high_half"],
                                 word=compare_word(rho, "a positive", "a negative",
                                                   "no detectable")))
    out["lmcov_verdict"] = ("holds" if out["lmcov_sampled_floor_word"] == "no detectable"
                            and out["lmcov_sampled_iter_word"] == "no detectable" else "fails")
    return out


def plot(analysis: dict):
    """Per training prompt (open markers: prompts with edited answers), against the sampled
    coverage: the single step's excess over its floor (left) and its shortfall against the
    iterated arm (right), with the rank correlations and their intervals."""
    import matplotlib.pyplot as plt

    rows = analysis["prompts"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharex=True)
    cover = np.array([r["sampled_coverage"] for r in rows])
    edited = np.array([r["edited"] for r in rows])
    labels = {"floor_gap": r"$E^{\mathrm{single}}_1/E_0-(1-\alpha)$",
              "shortfall": r"$(E^{\mathrm{single}}_1-E^{\mathrm{iterated}}_T)/E_0$"}
    for ax, outcome in zip(axes, OUTCOMES, strict=True):
        y = np.array([r[outcome] for r in rows])
        ax.scatter(cover[~edited], y[~edited], color="C0", label="sampled answers only")
        ax.scatter(cover[edited], y[edited], facecolors="none", edgecolors="C0",
                   label="with edited answers")
        ax.axhline(0.0, color="grey", lw=0.8)
        rho = analysis["sampled_coverage"][outcome]
        ax.set(xlabel=r"share of $\pi_0$'s samples that pass (sampled coverage)",
               ylabel=labels[outcome],
               title=f"Spearman {rho['value']:+.2f} [{rho['lo']:+.2f}, {rho['hi']:+.2f}]")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig
