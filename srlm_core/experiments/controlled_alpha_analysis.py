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

