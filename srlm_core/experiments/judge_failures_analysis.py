r"""The numbers and verdicts of the judge-failures values
(:mod:`srlm_core.experiments.judge_failures`): per population arm, scalar case and vanishing
share the measured rates and fixed points against their predictions, and the chapter's four
predictions F1-F4.
"""

from __future__ import annotations

import math

import numpy as np

from srlm_core.stats import mean_interval

#: relative gap below which a measured rate or fixed point "matches" its prediction
MATCH_RTOL = 0.01
#: the same for the probit approximation of the noisy judge's scalar law
APPROX_RTOL = 0.05


def mean_and_interval(values) -> tuple[float, float, float]:
    """The mean of ``values`` and its 95% interval (:func:`srlm_core.stats.mean_interval`)."""
    iv = mean_interval(values)
    return iv.mean, iv.lo, iv.hi


def match_word(measured: float, predicted: float | None, rtol: float = MATCH_RTOL) -> str:
    """``matches`` / ``departs`` (relative gap within ``rtol``), or ``no prediction``."""
    if predicted is None:
        return "no prediction"
    return "matches" if abs(measured - predicted) <= rtol * abs(predicted) else "departs"


def arm_numbers(arm: dict, signal: float) -> dict:
    r"""One population arm (:data:`~srlm_core.experiments.judge_failures_names.ARM_FIELDS`): the
    number of instances that converge, the verdict ``contracts`` / ``does not contract`` (every
    instance converged or not), the rate's mean and 95% interval over instances and the mean
    prediction with the verdict ``matches`` / ``departs`` (largest relative gap within
    :data:`MATCH_RTOL`), the spectral radius of the Jacobian, :math:`\lVert u_\infty\rVert` and
    whether it lies ``beyond`` or ``short of`` :math:`\lVert w^*\rVert` (``signal``), the fixed
    point's distance and KL (mean, interval; predicted for the arms with a closed form)."""
    ok = [s == "converged" for s in arm["status"]]
    out = {"converged": int(sum(ok)),
           "contracts": "contracts" if all(ok) else (
               "does not contract" if not any(ok) else "contracts on some instances")}
    out["rate"], out["rate_lo"], out["rate_hi"] = mean_and_interval(arm["rate"])
    preds = [p for p in arm["rate_predicted"] if p is not None]
    if preds and all(ok):
        out["rate_pred"] = float(np.mean(preds))
        gap = max(abs(r / p - 1) for r, p in zip(arm["rate"], arm["rate_predicted"]))
        out["rate_gap"] = float(gap)
        out["rate_verdict"] = "matches" if gap <= MATCH_RTOL else "departs"
    else:
        out["rate_pred"] = None
        out["rate_gap"] = None
        out["rate_verdict"] = "no fixed point"
    radii = [r for r in arm["radius"] if r is not None]
    out["radius"] = float(np.mean(radii)) if radii else None
    out["unorm"] = float(np.mean(arm["u_norm"]))
    gap = out["unorm"] - signal
    out["side"] = "at" if abs(gap) < 1e-6 else ("beyond" if gap > 0 else "short of")
    out["dist"], out["dist_lo"], out["dist_hi"] = mean_and_interval(arm["dist"])
    out["kl"], out["kl_lo"], out["kl_hi"] = mean_and_interval(arm["kl"])
    if arm["dist_predicted"][0] is not None:
        out["dist_pred"] = float(np.mean(arm["dist_predicted"]))
        out["kl_pred"] = float(np.mean(arm["kl_predicted"]))
        out["dist_gap"] = float(max(abs(m - p) for m, p in zip(arm["dist"],
                                                                  arm["dist_predicted"])))
    return out


def scalar_numbers(row: dict) -> dict:
    """One scalar case (:data:`~srlm_core.experiments.judge_failures_names.SCALAR_NAMES`): its
    status, fixed point and rate against the SymPy values, with the fixed point's gap in percent and
    the verdicts where it has one."""
    out = {"status": row["status"], "fixed": row["fixed"], "fixed_pred": row["fixed_predicted"],
           "rate": row["rate"], "rate_pred": row["rate_predicted"]}
    if row["fixed"] is not None:
        rtol = APPROX_RTOL if row["name"] == "confidence_noise" else MATCH_RTOL
        out |= {"fixed_gap_pct": float(100 * abs(row["fixed"] / row["fixed_predicted"] - 1)),
                "verdict": match_word(row["fixed"], row["fixed_predicted"], rtol),
                "rate_verdict": match_word(row["rate"], row["rate_predicted"], rtol)}
    return out


def vanishing_numbers(fade: dict) -> dict:
    r"""The vanishing signal per share
    (:data:`~srlm_core.experiments.judge_failures_names.VANISHING_NAMES`): the mean rate and its
    prediction :math:`1 - \alpha`, the finite-n floor and its ratio to the largest share's (mean and
    95% interval over instances, the unit of independence) against
    :math:`\alpha_0(2 - \alpha_0)/(\alpha(2 - \alpha))`, and the rounds to a hundredth."""
    a0, floors0 = fade["alphas"][0], np.asarray(fade["floor"][0])
    out = {}
    for a, rate, floor in zip(fade["alphas"], fade["rate"], fade["floor"]):
        numbers = {"rate": float(np.mean(rate)), "rate_pred": 1 - a}
        numbers["floor"], numbers["floor_lo"], numbers["floor_hi"] = mean_and_interval(floor)
        numbers["ratio"], numbers["ratio_lo"], numbers["ratio_hi"] = mean_and_interval(
            np.asarray(floor) / floors0)
        numbers["ratio_pred"] = a0 * (2 - a0) / (a * (2 - a))
        numbers["rounds"] = float(math.log(0.01) / math.log(1 - a))
        out[a] = numbers
    return out


def _word(ok: bool) -> str:
    """The verdict word of a prediction."""
    return "holds" if ok else "fails"


def verdicts(values: dict, arms: dict, scalars: dict, out: dict) -> dict:
    r"""The chapter's four predictions, ``holds`` / ``fails``, from the :func:`arm_numbers` and
    :func:`scalar_numbers` by name and the summary ``out``.

    F1 (bias): every bias arm contracts at its :math:`1 - \alpha` (verdict ``matches``) and
    its fixed point lies at :math:`|b|/(\alpha\beta)` within 1e-6 relative.  F2 (nonlinear
    g): the scalar fixed points and rates match SymPy, the strong scalar amplifier diverges;
    in the general problem the saturating and weak amplifying arms contract at their
    linearised rates, below / above :math:`1 - \alpha`, short of / beyond :math:`w^*`, and
    the strong amplifier does not contract.  F3 (confidence noise): it contracts faster than
    :math:`1 - \alpha`, short of :math:`w^*`, at a distance above 1e-3, the probit law
    matches the scalar fixed point within 5%, and with finite samples the excess squared error
    over the theory's judge stays above half the population gap at the largest n.  F4
    (vanishing signal): the population rates are :math:`1 - \alpha` within 1e-3 and the
    floor ratio's interval holds its prediction."""
    a = values["alpha"]
    result = {}
    bias = [arms[n] for n in arms if n.startswith("bias")]
    if bias:
        result["verdict_f1"] = _word(all(
            arm["contracts"] == "contracts" and arm["rate_verdict"] == "matches"
            and arm["dist_gap"] <= 1e-6 * max(arm["dist_pred"], 1e-12) for arm in bias))
    if {"saturating", "amplifying_weak", "amplifying_strong"} <= set(arms):
        scalar_ok = all(scalars.get(n, {}).get("verdict") == "matches"
                        and scalars.get(n, {}).get("rate_verdict") == "matches"
                        for n in ("saturating", "amplifying_weak"))
        sat, weak = arms["saturating"], arms["amplifying_weak"]
        general_ok = (
            sat["contracts"] == "contracts" and sat["rate_verdict"] == "matches"
            and sat["rate"] < 1 - a and sat["side"] == "short of"
            and weak["contracts"] == "contracts" and weak["rate_verdict"] == "matches"
            and weak["rate"] > 1 - a and weak["side"] == "beyond"
            and arms["amplifying_strong"]["contracts"] == "does not contract")
        result["verdict_f2"] = _word(
            scalar_ok and general_ok
            and scalars.get("amplifying_strong", {}).get("status") == "diverged")
    if "confidence_noise" in arms:
        noise = arms["confidence_noise"]
        result["verdict_f3"] = _word(
            noise["contracts"] == "contracts" and noise["rate"] < 1 - a
            and noise["side"] == "short of" and noise["dist"] > 1e-3
            and scalars.get("confidence_noise", {}).get("verdict") == "matches"
            and out.get("noise_gap_persists") == "persists")
    result["verdict_f4"] = _word(out["van_rate_gap"] <= 1e-3
                                 and out["van_floor_verdict"] == "inside")
    return result
