r"""Training seeds as the outer unit of the controlled-signal-share test (chapter "Controlled
signal share"), read from records lm-alpha (seed 0), lm-alpha-seed1 and lm-alpha-seed2.

The three records run the same arms (alpha = 1, 0.5 and 0.25; fixed reference pi_0, soft
labels) with training seeds 0, 1 and 2 (the order of the prompts within a round).  Pooled over
seeds, :math:`E_t(\alpha)` is the root mean over seeds and training prompts of the per-prompt
centred squared error (``Measurements.prompt_sq`` of
:mod:`srlm_core.experiments.controlled_alpha_analysis`), and
:math:`\hat\rho(\alpha)=\exp(\text{slope of }\log E_t\text{ in }t)`.

Predictions, written into the seed records' configurations before their runs:

* **P1, cross-fitted.** :math:`\hat\gamma=1-E_1/E_0` of the alpha = 1 arm is calibrated on
  one half of the training prompts (:data:`FOLDS`: even or odd position in the pool) and
  the rate is tested on the other half; the gap is the mean over the two folds of
  :math:`\hat\rho_{\rm fold}(\alpha)-(1-\hat\gamma_{\rm other}\alpha)`.  P1 holds when its
  interval contains 0 and :math:`\hat\rho(\alpha)` (all prompts) lies below 1.
* **S1's dose-response.** :math:`\hat\rho(0.25)-\hat\rho(0.5)>0` (interval above 0),
  reported with the smallest difference the design detects (two-sided 5% test with 80%
  power: :math:`(z_{0.975}+z_{0.8})` bootstrap standard errors).

Reported beside them, without a margin set in advance: the coordinate along the target
direction at the last round, :math:`a_T`, against the partial step's
:math:`-(1-\hat\gamma\alpha)^T` (cross-fitted as P1), the orthogonal part
:math:`E_{\perp,T}/E_0=\sqrt{E_T^2-a_T^2E_0^2}/E_0` (the exact step has none), and each
seed's :math:`\hat\gamma` and :math:`\hat\rho`.  An identity check: :func:`replicate_gap`
compares one arm run twice with the same seed (in two records).

Intervals: 95% percentile intervals of a crossed bootstrap that resamples the seeds and the
training prompts independently (:func:`srlm_core.stats.crossed_draws`); the folds are the
drawn prompts' positions, so every draw cross-fits.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm

from srlm_core import stats
from srlm_core.experiments.controlled_alpha_analysis import (
    Measurements,
    _calibration,
    _contains_zero,
    _interval,
    _slope,
    compare_word,
    verdict_word,
)

TITLE = "Controlled signal share over three training seeds: cross-fitted P1 and S1's ordering"
#: The two calibration/test folds: training prompts at even and at odd positions of the pool.
FOLDS = ("even", "odd")
RESAMPLES = 2000


def _stack(records: list[dict], scale: float) -> dict:
    """Per arm, (seeds, T+1, prompts) squared errors and target coordinates' numerators, the
    (prompts,) denominators, and each arm's share."""
    ms = [Measurements(r, scale=scale) for r in records]
    names = list(ms[0].arms)
    for m in ms[1:]:
        if list(m.arms) != names or m.pool["prompt_ids"] != ms[0].pool["prompt_ids"]:
            raise ValueError("the seed records must run the same arms on the same prompts")
    out = {"calibration": _calibration(ms[0].arms), "arms": {}}
    for name in names:
        num = np.stack([m.prompt_coordinate(name)[0] for m in ms])
        out["arms"][name] = {"alpha": ms[0].arms[name]["alpha"],
                             "sq": np.stack([m.prompt_sq(name) for m in ms]), "num": num}
    out["den"] = ms[0].prompt_coordinate(names[0])[1]
    return out


def _statistics(data: dict, seeds: np.ndarray, prompts: np.ndarray) -> dict:
    """Every statistic on the seeds and prompts drawn (indices, with repeats)."""
    odd = prompts % 2 == 1
    folds = {"even": prompts[~odd], "odd": prompts[odd]}

    def curve(arm: str, chosen: np.ndarray) -> np.ndarray:
        sq = data["arms"][arm]["sq"][seeds][:, :, chosen]
        return np.sqrt(sq.mean(axis=(0, 2)))

    def coordinate(arm: str, chosen: np.ndarray) -> np.ndarray:
        num = data["arms"][arm]["num"][seeds][:, :, chosen].sum(axis=(0, 2))
        return num / (len(seeds) * data["den"][chosen].sum())

    cal = data["calibration"]
    gammas = {}
    for fold, chosen in folds.items():
        E = curve(cal, chosen)
        gammas[fold] = 1 - E[1] / E[0]
    E_cal = curve(cal, prompts)
    out = {"gamma": 1 - E_cal[1] / E_cal[0], "folds": gammas, "arms": {}}
    for name, arm in data["arms"].items():
        if name == cal:
            continue
        alpha, E = arm["alpha"], curve(name, prompts)
        T = len(E) - 1
        gaps, coord_gaps = [], []
        for fold, other in (("even", "odd"), ("odd", "even")):
            E_fold = curve(name, folds[fold])
            shrink = 1 - gammas[other] * alpha
            gaps.append(math.exp(_slope(np.log(E_fold))) - shrink)
            coord_gaps.append(coordinate(name, folds[fold])[-1] + shrink**T)
        a_T = coordinate(name, prompts)[-1]
        out["arms"][name] = {
            "alpha": alpha, "rounds": T, "rho": math.exp(_slope(np.log(E))), "ratio": E / E[0],
            "gap": float(np.mean(gaps)), "coordinate": a_T,
            "coordinate_gap": float(np.mean(coord_gaps)),
            "orthogonal": math.sqrt(max(E[-1] ** 2 - (a_T * E[0]) ** 2, 0.0)) / E[0]}
    return out


def _test_arms(point: dict) -> tuple[str, str]:
    """The smallest and the largest test share (both strictly between 0 and 1)."""
    ranked = sorted((a["alpha"], n) for n, a in point["arms"].items() if 0 < a["alpha"] < 1)
    if len(ranked) < 2:
        raise ValueError("two test shares strictly between 0 and 1 are needed")
    return ranked[0][1], ranked[-1][1]


def analyse(records: list[dict], scale: float = 2.0, resamples: int = RESAMPLES,
            seed: int = 0) -> dict:
    """P1 cross-fitted, S1's ordering, the coordinate and per-seed numbers (module
    docstring) with crossed seed-by-prompt intervals; ``records``: one values dict per
    training seed, in seed order."""
    data = _stack(records, scale)
    S, _, P = data["arms"][data["calibration"]]["sq"].shape
    point = _statistics(data, np.arange(S), np.arange(P))
    rows, cols = stats.crossed_draws(S, P, resamples=resamples, seed=seed)
    draws = [_statistics(data, r, c) for r, c in zip(rows, cols, strict=True)]
    small, large = _test_arms(point)
    per_seed = [_statistics(data, np.array([s]), np.arange(P)) for s in range(S)]

    def interval(get) -> dict:
        return _interval(np.array([get(d) for d in draws]), get(point))

    arms = {}
    for name, arm in point["arms"].items():
        rho = interval(lambda d, n=name: d["arms"][n]["rho"])
        gap = interval(lambda d, n=name: d["arms"][n]["gap"])
        arms[name] = {
            "alpha": arm["alpha"], "rounds": arm["rounds"], "rho": rho, "gap": gap,
            "holds": _contains_zero(gap) and rho["hi"] < 1.0,
            "coordinate": interval(lambda d, n=name: d["arms"][n]["coordinate"]),
            "coordinate_gap": interval(lambda d, n=name: d["arms"][n]["coordinate_gap"]),
            "orthogonal": interval(lambda d, n=name: d["arms"][n]["orthogonal"]),
            "ratio": interval(lambda d, n=name: d["arms"][n]["ratio"]),
            "per_seed": [per_seed[s]["arms"][name]["rho"] for s in range(S)],
            "per_seed_ratio": [per_seed[s]["arms"][name]["ratio"].tolist() for s in range(S)]}
    diff_b = np.array([d["arms"][small]["rho"] - d["arms"][large]["rho"] for d in draws])
    difference = _interval(diff_b, point["arms"][small]["rho"] - point["arms"][large]["rho"])
    detectable = float((norm.ppf(0.975) + norm.ppf(0.8)) * np.std(diff_b, ddof=1))
    gamma = interval(lambda d: d["gamma"])
    return {
        "seeds": S, "train_prompts": P, "resamples": resamples,
        "gamma": gamma, "gamma_folds": {f: point["folds"][f] for f in FOLDS},
        "gamma_per_seed": [one["gamma"] for one in per_seed],
        "arms": arms,
        "dose_response": {
            "small": point["arms"][small]["alpha"], "large": point["arms"][large]["alpha"],
            "difference": difference, "detectable": detectable,
            "predicted": gamma["value"] * (point["arms"][large]["alpha"]
                                           - point["arms"][small]["alpha"]),
            "word": dose_word(difference, detectable)},
    }


def dose_word(difference: dict, detectable: float) -> str:
    """S1's ordering read off the interval of rho(small share) - rho(large share)."""
    if difference["lo"] > 0:
        return "ordered as S1 predicts"
    if difference["hi"] < 0:
        return "reversed"
    return f"not resolved (the interval contains 0; the design detects {detectable:.3f})"


def convergence_cost(gamma: float, epochs: int, minutes: float, target: float = 0.9) -> dict:
    r"""What rounds trained to convergence would cost, extrapolated (not measured): if each
    of a round's ``epochs`` epochs closes the same share of the remaining error, a round closes
    :math:`\hat\gamma=1-(1-\epsilon)^{\rm epochs}`, and reaching a share ``target`` takes
    ``epochs`` :math:`\times\log(1-{\rm target})/\log(1-\hat\gamma)` epochs; a record of
    ``minutes`` then takes that many times longer in its training."""
    factor = math.log(1 - target) / math.log(1 - gamma)
    return {"target": target, "epochs": math.ceil(epochs * factor), "factor": factor,
            "minutes": minutes * factor}


def replicate_gap(first: dict, second: dict, arm: str) -> float:
    """Identity check: the largest difference of the log-ratios h_t of ``arm`` between two
    records that ran it with the same seed, code and machine (0 when the run reproduces)."""
    a, b = np.asarray(first["arms"][arm]["h"]), np.asarray(second["arms"][arm]["h"])
    return float(np.abs(a - b).max()) if a.shape == b.shape else math.inf


def _arm(analysis: dict, alpha: float) -> dict:
    return next(a for a in analysis["arms"].values() if a["alpha"] == alpha)


def summarise(analysis: dict) -> dict:
    """The chapter's glue names (each written out here, so that ``git grep`` finds it):
    gamma-hat overall, per fold and per seed; per test share (0.5 and 0.25) P1's verdict,
    the rate, its cross-fitted gap, the coordinate's gap, the orthogonal part and the last
    E_T/E_0; S1's ordering with the difference the design detects, and whether the predicted
    difference lies below it."""
    half, quarter, dose = _arm(analysis, 0.5), _arm(analysis, 0.25), analysis["dose_response"]
    gap_words = ("slower than", "faster than", "consistent with")
    # a_T above -(1 - gamma-hat alpha)^T: the error along the target closed faster
    coordinate_words = ("ahead of", "behind", "on")
    return {
        "seeds_count": analysis["seeds"], "seeds_prompts": analysis["train_prompts"],
        "seeds_gamma": analysis["gamma"]["value"], "seeds_gamma_lo": analysis["gamma"]["lo"],
        "seeds_gamma_hi": analysis["gamma"]["hi"],
        "seeds_gamma_even": analysis["gamma_folds"]["even"],
        "seeds_gamma_odd": analysis["gamma_folds"]["odd"],
        "seeds_gamma_range": _range(analysis["gamma_per_seed"]),
        "seeds_a05_verdict": verdict_word(half["holds"]),
        "seeds_a05_word": compare_word(half["gap"], *gap_words),
        "seeds_a05_rho": half["rho"]["value"], "seeds_a05_rho_lo": half["rho"]["lo"],
        "seeds_a05_rho_hi": half["rho"]["hi"], "seeds_a05_rho_range": _range(half["per_seed"]),
        "seeds_a05_gap": half["gap"]["value"], "seeds_a05_gap_lo": half["gap"]["lo"],
        "seeds_a05_gap_hi": half["gap"]["hi"],
        "seeds_a05_coordinate_word": compare_word(half["coordinate_gap"], *coordinate_words),
        "seeds_a05_coordinate_gap": half["coordinate_gap"]["value"],
        "seeds_a05_coordinate_gap_lo": half["coordinate_gap"]["lo"],
        "seeds_a05_coordinate_gap_hi": half["coordinate_gap"]["hi"],
        "seeds_a05_orthogonal": half["orthogonal"]["value"],
        "seeds_a05_ratio_last": half["ratio"]["value"][-1],
        "seeds_a05_orthogonal_share": _orthogonal_share(half),
        "seeds_a025_verdict": verdict_word(quarter["holds"]),
        "seeds_a025_word": compare_word(quarter["gap"], *gap_words),
        "seeds_a025_rho": quarter["rho"]["value"], "seeds_a025_rho_lo": quarter["rho"]["lo"],
        "seeds_a025_rho_hi": quarter["rho"]["hi"],
        "seeds_a025_rho_range": _range(quarter["per_seed"]),
        "seeds_a025_gap": quarter["gap"]["value"], "seeds_a025_gap_lo": quarter["gap"]["lo"],
        "seeds_a025_gap_hi": quarter["gap"]["hi"],
        "seeds_a025_coordinate_word": compare_word(quarter["coordinate_gap"],
                                                   *coordinate_words),
        "seeds_a025_coordinate_gap": quarter["coordinate_gap"]["value"],
        "seeds_a025_coordinate_gap_lo": quarter["coordinate_gap"]["lo"],
        "seeds_a025_coordinate_gap_hi": quarter["coordinate_gap"]["hi"],
        "seeds_a025_orthogonal": quarter["orthogonal"]["value"],
        "seeds_a025_ratio_last": quarter["ratio"]["value"][-1],
        "seeds_a025_orthogonal_share": _orthogonal_share(quarter),
        "seeds_dose": dose["difference"]["value"], "seeds_dose_lo": dose["difference"]["lo"],
        "seeds_dose_hi": dose["difference"]["hi"], "seeds_dose_word": dose["word"],
        "seeds_dose_detectable": dose["detectable"], "seeds_dose_predicted": dose["predicted"],
        "seeds_dose_power_word": ("below" if dose["predicted"] < dose["detectable"]
                                  else "within"),
    }


def _orthogonal_share(arm: dict) -> float:
    """The share of the last round's E_T^2 that lies across the target direction."""
    return (arm["orthogonal"]["value"] / arm["ratio"]["value"][-1]) ** 2


def _range(values: list[float]) -> str:
    return f"{min(values):.3f}–{max(values):.3f}"


def plot(analysis: dict):
    """E_t/E_0 per test share: each seed (thin), the seeds pooled with its crossed interval,
    and the prediction (1 - gamma-hat alpha)^t with gamma-hat from every prompt (dashed)."""
    import matplotlib.pyplot as plt

    arms = sorted(analysis["arms"].values(), key=lambda a: -a["alpha"])
    fig, axes = plt.subplots(1, len(arms), figsize=(4.2 * len(arms), 3.4), sharey=True)
    for ax, arm in zip(np.atleast_1d(axes), arms, strict=True):
        t = np.arange(arm["rounds"] + 1)
        for s, ratio in enumerate(arm["per_seed_ratio"]):
            ax.plot(t, ratio, color="0.6", lw=0.8, label="one seed" if s == 0 else None)
        ratio = arm["ratio"]
        ax.fill_between(t, ratio["lo"], ratio["hi"], color="C0", alpha=0.25)
        ax.plot(t, ratio["value"], "o-", color="C0", label="seeds pooled (95%)")
        predicted = (1 - analysis["gamma"]["value"] * arm["alpha"]) ** t
        ax.plot(t, predicted, "--", color="C3", label=r"$(1-\hat\gamma\alpha)^t$")
        ax.set(yscale="log", xlabel="round t", title=rf"$\alpha={arm['alpha']:g}$")
        ax.set_xticks(t)
    np.atleast_1d(axes)[0].set_ylabel(r"$E_t/E_0$")
    np.atleast_1d(axes)[0].legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def seed_table(analysis: dict):
    """Per training seed: gamma-hat and each test share's rate (points; the seed is the
    unit, so a seed's row carries no interval)."""
    import pandas as pd

    rows = {"gamma-hat (alpha = 1)": analysis["gamma_per_seed"]}
    for arm in analysis["arms"].values():
        rows[f"rho-hat (alpha = {arm['alpha']:g})"] = arm["per_seed"]
    return pd.DataFrame(rows, index=pd.Index(range(analysis["seeds"]), name="seed"))
