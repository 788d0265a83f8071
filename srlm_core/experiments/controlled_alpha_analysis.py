"""From the controlled-alpha measurements to E_t, the calibration gamma-hat, the pre-registered
predictions P1-P4 and their verdicts (chapter "Controlled signal share").

Observable: on training prompt x with answers y_1..y_K, the error e_t(y) = h_t(y) - c g(y)
centred within the prompt; E_t = sqrt(mean over prompts of mean over answers of e_t^2).
Its coordinate along the target direction, a_t = sum e_t (c g)_c / sum (c g)_c^2 (pooled over
prompts; a_0 = -1), has the sign that tells approach from overshoot.

Intervals: the prompt is the unit.  Every interval is a percentile interval of a bootstrap
that resamples training prompts with replacement, the same draw for every arm of both
records (so gamma-hat's uncertainty enters every prediction that uses it).  Predictions
(book's partial-step S1, :mod:`srlm_core.theory.partial_step`):

* P1: for fixed-reference arms with 0 < alpha < 1, rho-hat = exp(slope of log E_t in t)
  equals 1 - gamma-hat alpha (interval of the difference contains 0) and is below 1;
* P2: the per-round ratio E_{t+1}/E_t is constant in t (interval of its slope in t
  contains 0);
* P3: the single step with matched compute stays at or above (1 - alpha) E_0 (interval of
  E_1/E_0 - (1 - alpha) reaches 0 or above) and above the iterated arm's last E_T;
* P4: under the moving reference E_t/E_0 follows :math:`|a_t|` of the partial-step recursion
  (every round's interval of the difference contains 0).

A held-out share (:func:`predicted_rate` before its run, :func:`heldout_share` after): a record
run after the rate of its share was predicted from gamma-hat of the calibration record.

S1's dose-response, the ordering of the fixed-reference test arms (:func:`dose_response`):
the smaller share contracts more slowly, rho(alpha_small) - rho(alpha_large) =
gamma (alpha_large - alpha_small) > 0, with the smallest difference the design detects.
"""

from __future__ import annotations

import math

import numpy as np

from srlm_core.theory.partial_step import moving_ratio

LEVEL = 0.95
#: The signal share kept back: run (record lm-alpha-075) after its rate was predicted from the
#: calibration of record lm-alpha (:func:`predicted_rate`, :func:`heldout_share`).
HELDOUT_ALPHA = 0.75
#: The glue names of each arm's numbers (:func:`chapter_numbers`): a name, or the names of an
#: interval's value and ends.
ARM_NAMES = {
    "alpha-0.25": {
        "rounds": "a025_rounds", "epoch_factor": "a025_epoch_factor",
        "ratio_last": ("a025_ratio_last_value", "a025_ratio_last_lo", "a025_ratio_last_hi"),
        "coord_last": ("a025_coord_last_value", "a025_coord_last_lo", "a025_coord_last_hi"),
        "along_share": "a025_along_share",
        "orth_last": ("a025_orth_last_value", "a025_orth_last_lo", "a025_orth_last_hi"),
        "rho": ("a025_rho_value", "a025_rho_lo", "a025_rho_hi"),
        "rho_predicted": ("a025_rho_predicted_value", "a025_rho_predicted_lo",
                          "a025_rho_predicted_hi"),
        "rho_gap": ("a025_rho_gap_value", "a025_rho_gap_lo", "a025_rho_gap_hi"), "kl0": "a025_kl0",
        "kl": "a025_kl", "kl_word": "a025_kl_word", "iw0": "a025_iw0", "iw": "a025_iw",
        "ess": "a025_ess", "sp": ("a025_sp_value", "a025_sp_lo", "a025_sp_hi"),
        "sp_change": ("a025_sp_change_value", "a025_sp_change_lo", "a025_sp_change_hi"),
        "sp_word": "a025_sp_word", "p2": "a025_p2", "p1": "a025_p1", "rho_word": "a025_rho_word",
        "so_rho": ("so_a025_rho_value", "so_a025_rho_lo", "so_a025_rho_hi"),
        "so_rho_gap": ("so_a025_rho_gap_value", "so_a025_rho_gap_lo", "so_a025_rho_gap_hi"),
        "so_word": "so_a025_word",
    },
    "alpha-0.5": {
        "rounds": "a05_rounds", "epoch_factor": "a05_epoch_factor",
        "ratio_last": ("a05_ratio_last_value", "a05_ratio_last_lo", "a05_ratio_last_hi"),
        "coord_last": ("a05_coord_last_value", "a05_coord_last_lo", "a05_coord_last_hi"),
        "along_share": "a05_along_share",
        "orth_last": ("a05_orth_last_value", "a05_orth_last_lo", "a05_orth_last_hi"),
        "rho": ("a05_rho_value", "a05_rho_lo", "a05_rho_hi"),
        "rho_predicted": ("a05_rho_predicted_value", "a05_rho_predicted_lo",
                          "a05_rho_predicted_hi"),
        "rho_gap": ("a05_rho_gap_value", "a05_rho_gap_lo", "a05_rho_gap_hi"), "kl0": "a05_kl0",
        "kl": "a05_kl", "kl_word": "a05_kl_word", "iw0": "a05_iw0", "iw": "a05_iw",
        "ess": "a05_ess", "sp": ("a05_sp_value", "a05_sp_lo", "a05_sp_hi"),
        "sp_change": ("a05_sp_change_value", "a05_sp_change_lo", "a05_sp_change_hi"),
        "sp_word": "a05_sp_word", "p2": "a05_p2", "p1": "a05_p1", "rho_word": "a05_rho_word",
        "so_rho": ("so_a05_rho_value", "so_a05_rho_lo", "so_a05_rho_hi"),
        "so_rho_gap": ("so_a05_rho_gap_value", "so_a05_rho_gap_lo", "so_a05_rho_gap_hi"),
        "so_word": "so_a05_word",
    },
    "alpha-1": {
        "rounds": "a1_rounds", "epoch_factor": "a1_epoch_factor",
        "ratio_last": ("a1_ratio_last_value", "a1_ratio_last_lo", "a1_ratio_last_hi"),
        "coord_last": ("a1_coord_last_value", "a1_coord_last_lo", "a1_coord_last_hi"),
        "along_share": "a1_along_share",
        "orth_last": ("a1_orth_last_value", "a1_orth_last_lo", "a1_orth_last_hi"),
        "rho": ("a1_rho_value", "a1_rho_lo", "a1_rho_hi"),
        "rho_predicted": ("a1_rho_predicted_value", "a1_rho_predicted_lo", "a1_rho_predicted_hi"),
        "rho_gap": ("a1_rho_gap_value", "a1_rho_gap_lo", "a1_rho_gap_hi"), "kl0": "a1_kl0",
        "kl": "a1_kl", "kl_word": "a1_kl_word", "iw0": "a1_iw0", "iw": "a1_iw", "ess": "a1_ess",
        "sp": ("a1_sp_value", "a1_sp_lo", "a1_sp_hi"),
        "sp_change": ("a1_sp_change_value", "a1_sp_change_lo", "a1_sp_change_hi"),
        "sp_word": "a1_sp_word", "so_rho": ("so_a1_rho_value", "so_a1_rho_lo", "so_a1_rho_hi"),
        "so_rho_gap": ("so_a1_rho_gap_value", "so_a1_rho_gap_lo", "so_a1_rho_gap_hi"),
        "so_word": "so_a1_word",
    },
    "bernoulli": {
        "rounds": "bernoulli_rounds", "epoch_factor": "bernoulli_epoch_factor",
        "ratio_last": ("bernoulli_ratio_last_value", "bernoulli_ratio_last_lo",
                       "bernoulli_ratio_last_hi"),
        "coord_last": ("bernoulli_coord_last_value", "bernoulli_coord_last_lo",
                       "bernoulli_coord_last_hi"),
        "along_share": "bernoulli_along_share",
        "orth_last": ("bernoulli_orth_last_value", "bernoulli_orth_last_lo",
                      "bernoulli_orth_last_hi"),
        "rho": ("bernoulli_rho_value", "bernoulli_rho_lo", "bernoulli_rho_hi"),
        "rho_predicted": ("bernoulli_rho_predicted_value", "bernoulli_rho_predicted_lo",
                          "bernoulli_rho_predicted_hi"),
        "rho_gap": ("bernoulli_rho_gap_value", "bernoulli_rho_gap_lo", "bernoulli_rho_gap_hi"),
        "kl0": "bernoulli_kl0", "kl": "bernoulli_kl", "kl_word": "bernoulli_kl_word",
        "iw0": "bernoulli_iw0", "iw": "bernoulli_iw", "ess": "bernoulli_ess",
        "noise_gap": ("bernoulli_noise_gap_value", "bernoulli_noise_gap_lo",
                      "bernoulli_noise_gap_hi"),
        "noise_word": "bernoulli_noise_word", "vs_start": "bernoulli_vs_start",
    },
    "moving": {
        "rounds": "moving_rounds", "epoch_factor": "moving_epoch_factor",
        "ratio_last": ("moving_ratio_last_value", "moving_ratio_last_lo", "moving_ratio_last_hi"),
        "coord_last": ("moving_coord_last_value", "moving_coord_last_lo", "moving_coord_last_hi"),
        "along_share": "moving_along_share",
        "orth_last": ("moving_orth_last_value", "moving_orth_last_lo", "moving_orth_last_hi"),
        "rho": ("moving_rho_value", "moving_rho_lo", "moving_rho_hi"), "kl0": "moving_kl0",
        "kl": "moving_kl", "kl_word": "moving_kl_word", "iw0": "moving_iw0", "iw": "moving_iw",
        "ess": "moving_ess", "shape": "moving_shape", "max_gap": "moving_max_gap",
        "max_gap_exact": "moving_max_gap_exact", "exact": "moving_exact",
    },
    "single-step": {
        "rounds": "single_step_rounds", "epoch_factor": "single_step_epoch_factor",
        "ratio_last": ("single_step_ratio_last_value", "single_step_ratio_last_lo",
                       "single_step_ratio_last_hi"),
        "coord_last": ("single_step_coord_last_value", "single_step_coord_last_lo",
                       "single_step_coord_last_hi"),
        "along_share": "single_step_along_share",
        "orth_last": ("single_step_orth_last_value", "single_step_orth_last_lo",
                      "single_step_orth_last_hi"),
        "rho": ("single_step_rho_value", "single_step_rho_lo", "single_step_rho_hi"),
        "rho_predicted": ("single_step_rho_predicted_value", "single_step_rho_predicted_lo",
                          "single_step_rho_predicted_hi"),
        "rho_gap": ("single_step_rho_gap_value", "single_step_rho_gap_lo",
                    "single_step_rho_gap_hi"),
        "kl0": "single_step_kl0", "kl": "single_step_kl", "kl_word": "single_step_kl_word",
        "iw0": "single_step_iw0", "iw": "single_step_iw", "ess": "single_step_ess",
        "floor_gap": ("single_step_floor_gap_value", "single_step_floor_gap_lo",
                      "single_step_floor_gap_hi"),
        "iter_gap": ("single_step_iter_gap_value", "single_step_iter_gap_lo",
                     "single_step_iter_gap_hi"),
        "iter_word": "single_step_iter_word",
    },
}
#: The glue names of the chapter's small run, by the name of the same number in the main run.
SMALL_RUN_NAMES = {
    "n_train": "small_n_train", "heldout_prompts": "small_heldout_prompts",
    "pi0_top_mass": "small_pi0_top_mass", "edited_share": "small_edited_share",
    "gamma_value": "small_gamma_value", "gamma_lo": "small_gamma_lo", "gamma_hi": "small_gamma_hi",
    "p1": "small_p1", "p2": "small_p2", "p3": "small_p3", "p4": "small_p4",
    "a1_rounds": "small_a1_rounds", "a1_epoch_factor": "small_a1_epoch_factor",
    "a1_ratio_last_value": "small_a1_ratio_last_value",
    "a1_ratio_last_lo": "small_a1_ratio_last_lo", "a1_ratio_last_hi": "small_a1_ratio_last_hi",
    "a1_coord_last_value": "small_a1_coord_last_value",
    "a1_coord_last_lo": "small_a1_coord_last_lo", "a1_coord_last_hi": "small_a1_coord_last_hi",
    "a1_along_share": "small_a1_along_share", "a1_orth_last_value": "small_a1_orth_last_value",
    "a1_orth_last_lo": "small_a1_orth_last_lo", "a1_orth_last_hi": "small_a1_orth_last_hi",
    "a1_rho_value": "small_a1_rho_value", "a1_rho_lo": "small_a1_rho_lo",
    "a1_rho_hi": "small_a1_rho_hi", "a1_rho_predicted_value": "small_a1_rho_predicted_value",
    "a1_rho_predicted_lo": "small_a1_rho_predicted_lo",
    "a1_rho_predicted_hi": "small_a1_rho_predicted_hi",
    "a1_rho_gap_value": "small_a1_rho_gap_value", "a1_rho_gap_lo": "small_a1_rho_gap_lo",
    "a1_rho_gap_hi": "small_a1_rho_gap_hi", "a1_kl0": "small_a1_kl0", "a1_kl": "small_a1_kl",
    "a1_kl_word": "small_a1_kl_word", "a1_iw0": "small_a1_iw0", "a1_iw": "small_a1_iw",
    "a1_ess": "small_a1_ess", "a05_rounds": "small_a05_rounds",
    "a05_epoch_factor": "small_a05_epoch_factor",
    "a05_ratio_last_value": "small_a05_ratio_last_value",
    "a05_ratio_last_lo": "small_a05_ratio_last_lo", "a05_ratio_last_hi": "small_a05_ratio_last_hi",
    "a05_coord_last_value": "small_a05_coord_last_value",
    "a05_coord_last_lo": "small_a05_coord_last_lo", "a05_coord_last_hi": "small_a05_coord_last_hi",
    "a05_along_share": "small_a05_along_share", "a05_orth_last_value": "small_a05_orth_last_value",
    "a05_orth_last_lo": "small_a05_orth_last_lo", "a05_orth_last_hi": "small_a05_orth_last_hi",
    "a05_rho_value": "small_a05_rho_value", "a05_rho_lo": "small_a05_rho_lo",
    "a05_rho_hi": "small_a05_rho_hi", "a05_rho_predicted_value": "small_a05_rho_predicted_value",
    "a05_rho_predicted_lo": "small_a05_rho_predicted_lo",
    "a05_rho_predicted_hi": "small_a05_rho_predicted_hi",
    "a05_rho_gap_value": "small_a05_rho_gap_value", "a05_rho_gap_lo": "small_a05_rho_gap_lo",
    "a05_rho_gap_hi": "small_a05_rho_gap_hi", "a05_kl0": "small_a05_kl0", "a05_kl": "small_a05_kl",
    "a05_kl_word": "small_a05_kl_word", "a05_iw0": "small_a05_iw0", "a05_iw": "small_a05_iw",
    "a05_ess": "small_a05_ess", "a05_p2": "small_a05_p2", "a05_p1": "small_a05_p1",
    "a05_rho_word": "small_a05_rho_word", "pred_heldout_value": "small_pred_heldout_value",
    "pred_heldout_lo": "small_pred_heldout_lo", "pred_heldout_hi": "small_pred_heldout_hi",
    "so_prompts": "small_so_prompts", "so_gamma_value": "small_so_gamma_value",
    "so_gamma_lo": "small_so_gamma_lo", "so_gamma_hi": "small_so_gamma_hi",
    "so_a1_rho_value": "small_so_a1_rho_value", "so_a1_rho_lo": "small_so_a1_rho_lo",
    "so_a1_rho_hi": "small_so_a1_rho_hi", "so_a1_rho_gap_value": "small_so_a1_rho_gap_value",
    "so_a1_rho_gap_lo": "small_so_a1_rho_gap_lo", "so_a1_rho_gap_hi": "small_so_a1_rho_gap_hi",
    "so_a1_word": "small_so_a1_word", "so_a05_rho_value": "small_so_a05_rho_value",
    "so_a05_rho_lo": "small_so_a05_rho_lo", "so_a05_rho_hi": "small_so_a05_rho_hi",
    "so_a05_rho_gap_value": "small_so_a05_rho_gap_value",
    "so_a05_rho_gap_lo": "small_so_a05_rho_gap_lo", "so_a05_rho_gap_hi": "small_so_a05_rho_gap_hi",
    "so_a05_word": "small_so_a05_word",
}
#: The glue names of the main run's parameters the chapter states (the record's ``params``).
CONFIG_NAMES = {"scale": "cfg_scale", "epochs": "cfg_epochs", "learning_rate": "cfg_learning_rate",
                "prompts_per_step": "cfg_prompts_per_step",
                "trainable_blocks": "cfg_trainable_blocks"}
#: The glue names of the training benchmark (record lm-train-bench): its timings, pairs and CPU.
BENCH_NAMES = {
    "fast_cache_seconds": "bench_fast_cache_seconds",
    "fast_epoch_seconds": "bench_fast_epoch_seconds",
    "full_pool_fast_epoch_seconds": "bench_full_pool_fast_epoch_seconds",
    "full_pool_trl_epoch_seconds": "bench_full_pool_trl_epoch_seconds",
    "speedup": "bench_speedup", "trl_epoch_seconds": "bench_trl_epoch_seconds",
    "pairs": "bench_pairs", "cpu": "bench_cpu",
}


def _groups(pool: dict) -> list[list[int]]:
    out, start = [], 0
    for size in pool["sizes"]:
        out.append(list(range(start, start + size)))
        start += size
    return out


def _centred(values: np.ndarray, groups) -> np.ndarray:
    out = np.empty_like(values)
    for g in groups:
        out[..., g] = values[..., g] - values[..., g].mean(axis=-1, keepdims=True)
    return out


class Measurements:
    """Per-prompt pieces of E_t for every arm of one or more records sharing one pool."""

    def __init__(self, *records: dict, scale: float):
        pool = records[0]["pool"]
        for other in records[1:]:
            if other["pool"]["prompt_ids"] != pool["prompt_ids"]:
                raise ValueError("the records were run on different pool prompts")
        self.pool, self.scale = pool, scale
        groups = _groups(pool)
        self.train = [g for g, s in zip(groups, pool["split"], strict=True) if s == "train"]
        self.heldout = [g for g, s in zip(groups, pool["split"], strict=True) if s == "heldout"]
        self.g = np.asarray(pool["g"], float)
        self.edited = np.asarray(pool["edited"], bool)
        self.target = _centred(scale * self.g, groups)
        self.arms = {}
        for record in records:
            self.arms.update(record["arms"])

    def h(self, arm: str) -> np.ndarray:
        return np.asarray(self.arms[arm]["h"], float)  # (T+1, answers)

    def prompt_sq(self, arm: str, reference: np.ndarray | None = None) -> np.ndarray:
        """(T+1, P) per training prompt: mean over its answers of the centred error squared
        (against c g, or against ``reference`` log-ratios)."""
        target = self.target if reference is None else _centred(reference, _groups(self.pool))
        err = _centred(self.h(arm), _groups(self.pool)) - target
        return np.stack([(err[:, g] ** 2).mean(axis=1) for g in self.train], axis=1)

    def prompt_coordinate(self, arm: str) -> tuple[np.ndarray, np.ndarray]:
        """(T+1, P) numerators sum e (c g)_c and (P,) denominators sum (c g)_c^2."""
        err = _centred(self.h(arm), _groups(self.pool)) - self.target
        num = np.stack([(err[:, g] * self.target[g]).sum(axis=1) for g in self.train], axis=1)
        den = np.asarray([(self.target[g] ** 2).sum() for g in self.train])
        return num, den


def _interval(samples: np.ndarray, point) -> dict:
    lo, hi = np.percentile(samples, [50 * (1 - LEVEL), 50 * (1 + LEVEL)], axis=0)
    if np.ndim(point) == 0:
        return {"value": float(point), "lo": float(lo), "hi": float(hi)}
    return {"value": np.asarray(point, float).tolist(), "lo": np.asarray(lo).tolist(),
            "hi": np.asarray(hi).tolist()}


def _slope(y: np.ndarray) -> np.ndarray:
    """OLS slope of y (..., T) on t = 0..T-1, along the last axis."""
    t = np.arange(y.shape[-1], dtype=float)
    t = t - t.mean()
    return (y * t).sum(-1) / (t * t).sum()


def _contains_zero(iv: dict) -> bool:
    return iv["lo"] <= 0.0 <= iv["hi"]


def _kl_on_pool(m: Measurements, h: np.ndarray) -> np.ndarray:
    """(T+1,) mean over training prompts of KL(pi* || pi_t) with both restricted to the pool:
    pi* ∝ pi_0 exp(c g), pi_t ∝ pi_0 exp(h_t)."""
    logp0 = np.asarray(m.pool["logp0"], float)
    out = []
    for g in m.train:
        star = logp0[g] + m.scale * m.g[g]
        star = star - np.logaddexp.reduce(star)
        now = logp0[g][None] + h[:, g]
        now = now - np.logaddexp.reduce(now, axis=1, keepdims=True)
        out.append((np.exp(star)[None] * (star[None] - now)).sum(axis=1))
    return np.mean(out, axis=0)


def _importance_pass(m: Measurements, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T+1,) held-out importance-weighted pass rate sum g e^h / sum e^h and its effective
    sample size (sum w)^2 / sum w^2, each averaged over held-out prompts."""
    rates, ess = [], []
    for g in m.heldout:
        w = np.exp(h[:, g] - h[:, g].max(axis=1, keepdims=True))
        rates.append((w * m.g[g]).sum(axis=1) / w.sum(axis=1))
        ess.append(w.sum(axis=1) ** 2 / (w * w).sum(axis=1))
    if not rates:
        return np.full(h.shape[0], math.nan), np.full(h.shape[0], math.nan)
    return np.mean(rates, axis=0), np.mean(ess, axis=0)


def analyse(main: dict, contrast: dict | None = None, scale: float = 2.0,
            n_boot: int = 2000, seed: int = 0) -> dict:
    """E_t, gamma-hat, P1-P4 with intervals and verdicts (see the module docstring).

    ``main`` holds the calibration arm (alpha = 1, fixed reference, soft labels)."""
    records = [main] + ([contrast] if contrast else [])
    m = Measurements(*records, scale=scale)
    n_prompts = len(m.train)
    rng = np.random.default_rng(seed)
    draw = rng.integers(0, n_prompts, size=(n_boot, n_prompts))

    def curve(sq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.sqrt(sq.mean(axis=1)), np.sqrt(sq[:, draw].mean(axis=2)).T  # (T+1,), (B,T+1)

    spec = m.arms
    calibration = _calibration(spec)
    curves = {name: curve(m.prompt_sq(name)) for name in spec}
    E_cal, B_cal = curves[calibration]
    gamma = 1.0 - E_cal[1] / E_cal[0]
    gamma_b = 1.0 - B_cal[:, 1] / B_cal[:, 0]
    oracle_h = m.h(calibration)[-1]
    arms, rates = {}, {}
    for name, arm in spec.items():
        E, B = curves[name]
        num, den = m.prompt_coordinate(name)
        coord = num.sum(axis=1) / den.sum()
        coord_b = (num[:, draw].sum(axis=2) / den[draw].sum(axis=1)).T
        iw, ess = _importance_pass(m, m.h(name))
        along = coord[:, None] * E[0]
        along_b = coord_b * B[:, :1]
        out = {
            "alpha": arm["alpha"], "reference": arm["reference"], "labels": arm["labels"],
            "rounds": arm["rounds"], "epoch_factor": arm["epoch_factor"],
            "E": _interval(B, E), "ratio": _interval(B / B[:, :1], E / E[0]),
            "coordinate": _interval(coord_b, coord),
            "orthogonal": _interval(np.sqrt(np.maximum(B**2 - along_b**2, 0.0)) / B[:, :1],
                                    np.sqrt(np.maximum(E**2 - along[:, 0]**2, 0.0)) / E[0]),
            "distance_to_oracle": np.sqrt(m.prompt_sq(name, oracle_h).mean(axis=1)).tolist(),
            "kl_pool": _kl_on_pool(m, m.h(name)).tolist(),
            "iw_pass_rate": iw.tolist(), "iw_ess": ess.tolist(),
        }
        if arm["rounds"] >= 1:
            rho, rho_b = math.exp(_slope(np.log(E))), np.exp(_slope(np.log(B)))
            out["rho"] = _interval(rho_b, rho)
            rates[name] = (rho, rho_b)
            if arm["reference"] == "fixed":
                out["rho_predicted"] = _interval(1 - gamma_b * arm["alpha"],
                                                 1 - gamma * arm["alpha"])
                out["rho_gap"] = _interval(rho_b - (1 - gamma_b * arm["alpha"]),
                                           rho - (1 - gamma * arm["alpha"]))
        if arm["rounds"] >= 2:
            out["round_ratio"] = _interval(B[:, 1:] / B[:, :-1], E[1:] / E[:-1])
        if arm["rounds"] >= 3:
            out["round_ratio_slope"] = _interval(_slope(B[:, 1:] / B[:, :-1]),
                                                 _slope(E[1:] / E[:-1]))
        if "sampled" in arm:
            out["sampled"] = _sampled(main["pool"]["pi0_sampled"], arm["sampled"], rng)
        arms[name] = out
    logp0 = np.asarray(m.pool["logp0"], float)
    top_mass = float(np.mean([np.exp(logp0[g].max() - np.logaddexp.reduce(logp0[g]))
                              for g in m.train]))
    return {
        "train_prompts": n_prompts,
        "pi0_top_mass": top_mass,
        "heldout_prompts": len(m.heldout),
        "edited_share": float(m.edited[np.concatenate(m.train)].mean()),
        "E0": float(E_cal[0]),
        "gamma": _interval(gamma_b, gamma),
        "arms": arms,
        "predictions": _predictions(arms, spec, curves, gamma, gamma_b),
        "dose_response": dose_response(spec, rates, gamma, gamma_b, n_prompts),
        "sampled_only": _sampled_only(m, spec, rng, n_boot),
        "n_boot": n_boot,
    }


def _calibration(spec: dict) -> str:
    """The calibration arm: alpha = 1, fixed reference, soft labels."""
    name = next((n for n, a in spec.items() if a["alpha"] == 1.0
                 and a["reference"] == "fixed" and a["labels"] == "soft"), None)
    if name is None:
        raise ValueError("no calibration arm (alpha = 1, fixed reference, soft labels)")
    return name


def predicted_rate(analysis: dict, alpha: float) -> dict:
    """P1's prediction for a share ``alpha`` that was not run: 1 - gamma-hat alpha, with the
    interval of gamma-hat carried through (the map is monotone)."""
    gamma = analysis["gamma"]
    return {"value": 1 - gamma["value"] * alpha, "lo": 1 - gamma["hi"] * alpha,
            "hi": 1 - gamma["lo"] * alpha}


def heldout_share(main: dict, heldout: dict, alpha: float, scale: float = 2.0,
                  n_boot: int = 2000, seed: int = 0) -> dict:
    r"""The held-out share's test.  ``main``: the calibration record (gamma-hat, the
    prediction's source); ``heldout``: a record run afterwards on the same pool prompts with a
    fixed-reference soft-label arm at ``alpha`` and its own calibration arm.  The rate
    :math:`\hat\rho(\alpha)` against the prediction :math:`1-\hat\gamma\alpha` (P1's rule:
    the interval of the difference contains 0 and :math:`\hat\rho` is below 1), and the
    second record's :math:`\hat\gamma` against the first's; every interval resamples the
    training prompts, the same draws for both records (as in :func:`analyse`)."""
    if heldout["pool"]["prompt_ids"] != main["pool"]["prompt_ids"]:
        raise ValueError("the records were run on different pool prompts")
    first, second = Measurements(main, scale=scale), Measurements(heldout, scale=scale)
    n = len(first.train)
    draw = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))

    def curve(m: Measurements, arm: str) -> tuple[np.ndarray, np.ndarray]:
        sq = m.prompt_sq(arm)
        return np.sqrt(sq.mean(axis=1)), np.sqrt(sq[:, draw].mean(axis=2)).T

    def gamma(m: Measurements) -> tuple[float, np.ndarray]:
        E, B = curve(m, _calibration(m.arms))
        return 1 - E[1] / E[0], 1 - B[:, 1] / B[:, 0]

    (g0, g0_b), (g1, g1_b) = gamma(first), gamma(second)
    arm = next((name for name, a in second.arms.items() if a["alpha"] == alpha
                and a["reference"] == "fixed" and a["labels"] == "soft"), None)
    if arm is None:
        raise ValueError(f"no fixed-reference soft-label arm at alpha = {alpha}")
    E, B = curve(second, arm)
    rho, rho_b = math.exp(_slope(np.log(E))), np.exp(_slope(np.log(B)))
    gap = _interval(rho_b - (1 - g0_b * alpha), rho - (1 - g0 * alpha))
    rate = _interval(rho_b, rho)
    return {"alpha": alpha, "rounds": len(E) - 1, "rho": rate,
            "predicted": _interval(1 - g0_b * alpha, 1 - g0 * alpha), "gap": gap,
            "holds": _contains_zero(gap) and rate["hi"] < 1.0,
            "gamma": _interval(g0_b, g0), "gamma_replicate": _interval(g1_b, g1),
            "gamma_change": _interval(g1_b - g0_b, g1 - g0)}


def heldout_numbers(test: dict, seconds: float) -> dict:
    """The glued numbers of :func:`heldout_share`'s ``test`` (the record took ``seconds``):
    its verdict and comparison word, the rate, its gap to the prediction and the second
    calibration with its change."""
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


def dose_response(spec: dict, rates: dict, gamma: float, gamma_b: np.ndarray,
                  prompts: int) -> dict | None:
    r"""S1's ordering of the two extreme fixed-reference test arms (soft labels, one epoch
    budget, :math:`0<\alpha<1`): :math:`\hat\rho(\alpha_{\rm small})-\hat\rho(\alpha_{\rm
    large})`, paired by prompt (``rates``: each arm's rate and its draws on the same bootstrap
    draws of prompts), against the prediction :math:`\hat\gamma(\alpha_{\rm large}-\alpha_{\rm
    small})`; the smallest difference the design detects (two-sided 5% test with 80% power:
    :math:`(z_{0.975}+z_{0.8})` bootstrap standard errors) and the training prompts it would
    need to detect the predicted difference (the error falls as one over the square root of
    the prompts).  None without two such arms."""
    from scipy.stats import norm

    tested = sorted((a["alpha"], n) for n, a in spec.items()
                    if a["reference"] == "fixed" and a["labels"] == "soft"
                    and 0 < a["alpha"] < 1 and a["epoch_factor"] == 1 and n in rates)
    if len(tested) < 2:
        return None
    (small, small_name), (large, large_name) = tested[0], tested[-1]
    diff_b = rates[small_name][1] - rates[large_name][1]
    diff = rates[small_name][0] - rates[large_name][0]
    detectable = float((norm.ppf(0.975) + norm.ppf(0.8)) * np.std(diff_b, ddof=1))
    predicted = gamma * (large - small)
    interval = _interval(diff_b, diff)
    word = ("ordered as S1 predicts" if interval["lo"] > 0 else "reversed"
            if interval["hi"] < 0 else
            f"not resolved (the interval contains 0; the design detects {detectable:.3f})")
    return {"small": small, "large": large, "difference": interval,
            "predicted": _interval(gamma_b * (large - small), predicted),
            "detectable": detectable,
            "prompts_needed": (math.ceil(prompts * (detectable / predicted) ** 2)
                               if predicted > 0 else None),
            "word": word}


def _sampled(pi0: dict, arm: dict, rng) -> dict:
    base = dict(zip(pi0["prompt_ids"], pi0["pass_rate"], strict=True))
    rates = np.asarray(arm["pass_rate"], float)
    before = np.asarray([base[i] for i in arm["prompt_ids"]], float)
    draw = rng.integers(0, len(rates), size=(2000, len(rates)))
    return {"pass_rate": _interval(rates[draw].mean(axis=1), rates.mean()),
            "pi0_pass_rate": _interval(before[draw].mean(axis=1), before.mean()),
            "change": _interval((rates - before)[draw].mean(axis=1), (rates - before).mean()),
            "prompts": len(rates)}


def _predictions(arms, spec, curves, gamma, gamma_b) -> dict:
    fixed = [n for n, a in spec.items() if a["reference"] == "fixed" and a["labels"] == "soft"
             and 0 < a["alpha"] < 1 and a["epoch_factor"] == 1]
    p1 = {n: {"gap": arms[n]["rho_gap"], "rho": arms[n]["rho"],
              "holds": _contains_zero(arms[n]["rho_gap"]) and arms[n]["rho"]["hi"] < 1.0}
          for n in fixed}
    p2 = {n: {"slope": arms[n]["round_ratio_slope"],
              "holds": _contains_zero(arms[n]["round_ratio_slope"])}
          for n in fixed if "round_ratio_slope" in arms[n]}
    p3 = {}
    for n, a in spec.items():
        if a["rounds"] != 1 or a["epoch_factor"] == 1 or a["reference"] != "fixed":
            continue
        partner = next((f for f in fixed if spec[f]["alpha"] == a["alpha"]), None)
        E, B = curves[n]
        floor = 1 - a["alpha"]
        above_floor = _interval(B[:, 1] / B[:, 0] - floor, E[1] / E[0] - floor)
        entry = {"floor_gap": above_floor, "holds": above_floor["hi"] >= 0.0}
        if partner:
            Ep, Bp = curves[partner]
            entry["iterated"] = partner
            entry["gap_to_iterated"] = _interval(B[:, 1] - Bp[:, -1], E[1] - Ep[-1])
            entry["holds"] = entry["holds"] and entry["gap_to_iterated"]["lo"] > 0.0
        p3[n] = entry
    p4 = {}
    for n, a in spec.items():
        if a["reference"] != "moving":
            continue
        E, B = curves[n]
        predicted = np.asarray(moving_ratio(a["alpha"], gamma, a["rounds"]))
        predicted_b = np.asarray([moving_ratio(a["alpha"], gb, a["rounds"])
                                  for gb in gamma_b])
        diff_b = B / B[:, :1] - predicted_b
        gap = _interval(diff_b, E / E[0] - predicted)
        coord = np.asarray(arms[n]["coordinate"]["value"])
        exact = np.asarray(moving_ratio(a["alpha"], 1.0, a["rounds"]))
        gap_exact = _interval(B / B[:, :1] - exact, E / E[0] - exact)
        p4[n] = {"predicted": predicted.tolist(), "gap": gap,
                 "exact": exact.tolist(), "gap_exact": gap_exact,
                 "exact_holds": all(lo <= 0 <= hi for lo, hi in zip(
                     gap_exact["lo"][1:], gap_exact["hi"][1:], strict=True)),
                 "holds": all(lo <= 0 <= hi for lo, hi in zip(gap["lo"][1:], gap["hi"][1:],
                                                               strict=True)),
                 "approaches_first": bool(E[1] < E[0]),
                 "overshoots": bool((coord[1:] > 0).any())}
    verdict = {key: (all(v["holds"] for v in value.values()) if value else None)
               for key, value in (("P1", p1), ("P2", p2), ("P3", p3), ("P4", p4))}
    noise = {}
    for n, a in spec.items():
        partner = next((f for f in fixed if spec[f]["alpha"] == a["alpha"]
                        and spec[f]["rounds"] == a["rounds"]), None)
        if a["labels"] == "bernoulli" and partner:
            E, B = curves[n]
            Ep, Bp = curves[partner]
            noise[n] = {"partner": partner,
                        "gap": _interval((B[:, -1] - Bp[:, -1]) / B[:, 0],
                                         (E[-1] - Ep[-1]) / E[0])}
    return {"P1": p1, "P2": p2, "P3": p3, "P4": p4, "verdict": verdict,
            "label_noise": noise}


def _sampled_only(m: Measurements, spec, rng, n_boot) -> dict:
    """The fixed-reference arms on the training prompts with no edited answer: E_t / E_0,
    rho-hat, and P1's comparison with gamma-hat recalibrated on the same prompts."""
    keep = [k for k, g in enumerate(m.train) if not m.edited[g].any()]
    if len(keep) < 3:
        return {"prompts": len(keep)}
    draw = rng.integers(0, len(keep), size=(n_boot, len(keep)))
    curves = {}
    for name, arm in spec.items():
        if arm["reference"] == "fixed" and arm["labels"] == "soft" and arm["epoch_factor"] == 1:
            sq = m.prompt_sq(name)[:, keep]
            curves[name] = (np.sqrt(sq.mean(axis=1)), np.sqrt(sq[:, draw].mean(axis=2)).T)
    calibration = next(n for n in curves if spec[n]["alpha"] == 1.0)
    E, B = curves[calibration]
    gamma, gamma_b = 1 - E[1] / E[0], 1 - B[:, 1] / B[:, 0]
    out = {"prompts": len(keep), "gamma": _interval(gamma_b, gamma), "arms": {}}
    for name, (E, B) in curves.items():
        rho, rho_b = math.exp(_slope(np.log(E))), np.exp(_slope(np.log(B)))
        alpha = spec[name]["alpha"]
        out["arms"][name] = {"ratio": _interval(B / B[:, :1], E / E[0]),
                             "rho": _interval(rho_b, rho),
                             "rho_gap": _interval(rho_b - (1 - gamma_b * alpha),
                                                  rho - (1 - gamma * alpha))}
    return out


def verdict_word(holds: bool | None) -> str:
    return "not tested" if holds is None else ("holds" if holds else "fails")


def compare_word(interval: dict, above: str = "above", below: str = "below",
                 same: str = "indistinguishable from") -> str:
    """The word for a difference with a 95% interval: above, below, or indistinguishable."""
    if interval["lo"] > 0:
        return above
    if interval["hi"] < 0:
        return below
    return same


def change_word(before: float, after: float, rel: float = 0.01) -> str:
    """'fell' / 'rose' / 'stayed' for a deterministic change (no interval)."""
    if after < before * (1 - rel):
        return "fell"
    if after > before * (1 + rel):
        return "rose"
    return "stayed"


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
    named by :data:`ARM_NAMES`.  ``small``: the chapter's small run, named by
    :data:`SMALL_RUN_NAMES`."""
    numbers = _numbers(analysis)
    return {SMALL_RUN_NAMES[name]: value for name, value in numbers.items()} if small else numbers


def _numbers(analysis: dict) -> dict:
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
