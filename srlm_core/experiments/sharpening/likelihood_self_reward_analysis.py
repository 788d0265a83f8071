r"""What the paper's loop on SmolLM2 did, round by round, and the verdicts on its predictions.

Input: the ``values`` of one or more records of
:mod:`srlm_core.experiments.sharpening.likelihood_self_reward` (merged by :func:`merge`;
every arm name appears once).  Per arm, round and split (``train``, ``heldout``),
:func:`round_rows` gives

* ``share``: the share of prompts with :math:`\pi_t(\text{greedy})>\tfrac12`, which is the
  share with :math:`\max_y\pi_t>\tfrac12` (Huang et al.'s Proposition 3.1 and the paper's
  Proposition 4.3), i.e. :math:`1-F_{\rm own}` measured exactly;
* ``kappa``: :math:`\hat\kappa_t=\mathrm{mean}_x\,1/\pi_t(\text{greedy})\ge\kappa(\pi_t)`,
  and ``kappa_beam_prompts`` / ``kappa_beam``: the same on the beam prompts with the greedy
  answer and with the best answer beam search found (a tighter upper bound);
* ``f_base``: the share with :math:`\pi_t(y^{\pi_0})\le\tfrac12` (Theorem 4.1's event) and
  ``agree``: the share whose greedy answer is still :math:`\pi_0`'s;
* ``greedy_acc``, ``sampled_acc``: correctness against the exact answers;
* ``length``, ``finished``: tokens of the greedy answer and the share that end their turn;
* ``c_hat`` (the smallest :math:`\max_y\pi_t` found over prompts) and ``gamma_hat`` (the
  smallest log-probability gap between the two best answers found, on the beam prompts).

:data:`PREDICTIONS` are the statements' predictions with their margins, fixed (committed)
before the records were read; :func:`summarise` computes every glued number and verdict.
The tables of glue names are
:mod:`srlm_core.experiments.sharpening.likelihood_self_reward_names`, the figures and the
sweep's table :mod:`srlm_core.experiments.sharpening.likelihood_self_reward_figures`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from srlm_core import stats
from srlm_core.experiments import named, renamed
from srlm_core.experiments.sharpening.likelihood_self_reward_names import (
    MATCHED_NAMES,
    ROUND_NAMES,
    SPLIT_NAMES,
)

SPLITS = ("train", "heldout")
#: Resamples of the crossed bootstrap over seeds and prompts.
RESAMPLES = 4999


@dataclass(frozen=True)
class Predictions:
    """What the statements predict, and the margins of the verdicts."""

    #: Remark 5.5: kappa-hat falls toward a floor, geometrically: it falls on every seed,
    #: and a geometric curve kappa_inf + q^t (kappa_0 - kappa_inf) explains at least this
    #: share of the variance of log kappa-hat over rounds.
    geometric_r2: float = 0.9
    #: Corollary 5.7: the share with pi(greedy) > 1/2 reaches this level ...
    share_level: float = 0.9
    #: ... in a number of rounds that grows with log kappa-hat_0 and falls with n.
    #: The matched single step is at least as good as iterating on F_base, within:
    f_base_margin: float = 0.05
    #: Sharpening keeps the mode: greedy accuracy moves by at most this much ...
    greedy_acc_margin: float = 0.1
    #: ... while sampled accuracy moves toward pi_0's greedy accuracy.


#: The predictions the chapter states, with their margins (committed before the record).
PREDICTIONS = Predictions()
def merge(*values: dict) -> dict:
    """One values dict from several records of the same prompts (arm names must differ)."""
    out = {"prompts": values[0]["prompts"], "config": values[0]["config"], "arms": {},
           "configs": {}}
    for v in values:
        if v["prompts"] != out["prompts"]:
            raise ValueError("the records were run on different prompts")
        for name, arm in v["arms"].items():
            if name in out["arms"]:
                raise ValueError(f"arm {name} appears in two records")
            out["arms"][name] = arm
            out["configs"][name] = v["config"]
    return out


def _split_index(values: dict, split: str) -> np.ndarray:
    return np.array([p["split"] == split for p in values["prompts"]])


def mean_or_none(x) -> float | None:
    """The mean of the values that are not None (None when there is none)."""
    x = [v for v in x if v is not None]
    return float(np.mean(x)) if x else None


def round_rows(values: dict, arm: str, split: str) -> list[dict]:
    """The measurements of every round of ``arm`` on ``split`` (see the module docstring)."""
    data = values["arms"][arm]
    mask = _split_index(values, split)
    n_beam = len(data["rounds"][0]["eval"]["beam_best_logp"])
    beam_mask = mask[:n_beam]
    rows = []
    for t, rnd in enumerate(data["rounds"]):
        ev = rnd["eval"]
        lp = np.array(ev["greedy_logp"])[mask]
        base = np.array(ev["base_logp"])[mask]
        beam_greedy = np.array(ev["greedy_logp"][:n_beam])[beam_mask]
        best = np.array(ev["beam_best_logp"])[beam_mask]
        gaps = [b - s for b, s, m in zip(ev["beam_best_logp"], ev["beam_second_logp"],
                                         beam_mask, strict=True) if m and s is not None]
        best_all = lp.copy()
        if beam_mask.any():
            best_all[:beam_mask.sum()] = np.maximum(best_all[:beam_mask.sum()], best)
        if split == "heldout":
            sampled = mean_or_none(ev["heldout_sampled_correct"])
            sampled_len = mean_or_none(ev["heldout_sampled_len"])
        else:
            log = rnd.get("train")
            sampled = mean_or_none(log["sampled_correct"]) if log else None
            sampled_len = mean_or_none(log["sampled_len"]) if log else None
        log = rnd.get("train")
        rows.append({
            "t": t,
            "prompts": int(mask.sum()),
            "share": float(np.mean(lp > math.log(0.5))),
            "kappa": float(np.mean(np.exp(-lp))),
            "log_kappa": float(math.log(np.mean(np.exp(-lp)))),
            "kappa_beam_prompts": float(np.mean(np.exp(-beam_greedy))) if beam_mask.any()
            else None,
            "kappa_beam": float(np.mean(np.exp(-np.maximum(best, beam_greedy))))
            if beam_mask.any() else None,
            "f_base": float(np.mean(base <= math.log(0.5))),
            "agree": float(np.mean(np.array(ev["agree_base"])[mask])),
            "greedy_acc": float(np.mean(np.array(ev["greedy_correct"])[mask])),
            "sampled_acc": sampled,
            "length": float(np.mean(np.array(ev["greedy_len"])[mask])),
            "sampled_length": sampled_len,
            "finished": float(np.mean(np.array(ev["greedy_finished"])[mask])),
            "c_hat": float(np.exp(best_all.min())),
            "gamma_hat": float(min(gaps)) if gaps else None,
            "slope_share": (log["slope"] / log["target_slope"]
                            if log and log["slope"] is not None else None),
            "residual_share": (log["loss_end"] / log["loss_start"]
                               if log and log["loss_start"] > 0 else None),
            "identical_pairs": (log["identical_pairs"] / log["pairs"]) if log else None,
        })
    return rows


def main_arms(values: dict) -> list[str]:
    """The iterated arms at the main temperature and pair count (one per seed)."""
    return sorted(name for name in values["arms"] if name.startswith("iterate-s"))


def seed_prompt_matrix(values: dict, arms: list[str], split: str, t: int,
                       quantity: str = "kappa") -> np.ndarray:
    """Round ``t`` per seed (rows, one per arm of ``arms``) and prompt (columns):
    ``"kappa"``, 1/pi_t(greedy); ``"share"``, whether pi_t(greedy) > 1/2."""
    mask = _split_index(values, split)
    logp = np.array([np.array(values["arms"][a]["rounds"][t]["eval"]["greedy_logp"])[mask]
                     for a in arms])
    return np.exp(-logp) if quantity == "kappa" else (logp > math.log(0.5)).astype(float)


def seed_interval(values: dict, arms: list[str], split: str, t: int,
                  quantity: str = "kappa") -> tuple:
    """The mean of :func:`seed_prompt_matrix` with a 95% interval that resamples training
    seeds and prompts, crossed (:func:`srlm_core.stats.crossed_bootstrap`)."""
    ci = stats.crossed_bootstrap(seed_prompt_matrix(values, arms, split, t, quantity),
                                 resamples=RESAMPLES)
    return ci.mean, ci.lo, ci.hi


def fit_recursion(kappas: list[list[float]]) -> dict:
    r"""The tightest recursion of the paper's form that every observed round satisfies:
    :math:`\kappa_{t+1}\le a+b\sqrt{\kappa_t}` with :math:`a,b\ge0` minimising the summed
    slack over the observed pairs (a linear programme), its fixed point
    :math:`\kappa_\infty=((b+\sqrt{b^2+4a})/2)^2` and rate :math:`q=b/(b+\sqrt{b^2+4a})`."""
    from scipy.optimize import linprog

    pairs = [(k[t], k[t + 1]) for k in kappas for t in range(len(k) - 1)]
    s = np.sqrt([p for p, _ in pairs])
    nxt = np.array([n for _, n in pairs])
    result = linprog(c=[len(pairs), s.sum()], A_ub=-np.column_stack([np.ones_like(s), s]),
                     b_ub=-nxt, bounds=[(0, None), (0, None)], method="highs")
    a, b = (float(x) for x in result.x)
    root = math.sqrt(b * b + 4 * a)
    fixed = ((b + root) / 2) ** 2
    q = b / (b + root) if b + root > 0 else 0.0
    return {"a": a, "b": b, "kappa_inf": fixed, "q": q}


def bound_curve(kappa0: float, fit: dict, rounds: int) -> list[float]:
    """kappa_inf + q^t (kappa_0 - kappa_inf), t = 0..rounds."""
    return [fit["kappa_inf"] + fit["q"] ** t * (kappa0 - fit["kappa_inf"])
            for t in range(rounds + 1)]


def geometric_fit(kappa: list[float]) -> dict:
    """The curve kappa_inf + q^t (kappa_0 - kappa_inf) closest to ``kappa`` in log scale
    (kappa_0 is the first value; grid over q in (0, 1) and kappa_inf in [1, min kappa]),
    with the share of the variance of log kappa it explains."""
    k = np.array(kappa, dtype=float)
    t = np.arange(len(k))
    logk = np.log(k)
    best = (math.inf, None, None)
    for q in np.linspace(0.005, 0.995, 199):
        for floor in np.geomspace(1.0, max(k.min(), 1.0 + 1e-9), 60):
            curve = floor + q ** t * (k[0] - floor)
            err = float(np.sum((np.log(np.maximum(curve, 1e-300)) - logk) ** 2))
            if err < best[0]:
                best = (err, float(q), float(floor))
    total = float(np.sum((logk - logk.mean()) ** 2))
    return {"q": best[1], "kappa_inf": best[2],
            "r2": 1.0 - best[0] / total if total > 0 else None}


def rounds_to(rows: list[dict], level: float) -> int | None:
    """The first round whose share reaches ``level`` (None: not within the run)."""
    return next((r["t"] for r in rows if r["share"] >= level), None)


def rounds_text(value: int | None, rounds: int) -> str:
    """A number of rounds as text, ``> rounds`` when the level was not reached."""
    return str(value) if value is not None else f"> {rounds}"


def summarise(values: dict, predictions: Predictions = PREDICTIONS) -> dict:
    """Every number and verdict the chapter glues (``values`` merged by :func:`merge`)."""
    out: dict = {}
    main = main_arms(values)
    rows = {a: {s: round_rows(values, a, s) for s in SPLITS} for a in values["arms"]}
    T = len(rows[main[0]]["train"]) - 1
    out["seeds"] = len(main)
    out["rounds"] = T
    for split in SPLITS:
        k0 = seed_interval(values, main, split, 0)
        kT = seed_interval(values, main, split, T)
        sT = seed_interval(values, main, split, T, "share")
        shares = [rows[a][split][T]["share"] for a in main]
        out.update(named(SPLIT_NAMES[split], share_T_lo=sT[1], share_T_hi=sT[2],
                         share_T_seed_min=min(shares), share_T_seed_max=max(shares),
                         kappa0=k0[0], kappa0_lo=k0[1], kappa0_hi=k0[2],
                         kappaT=kT[0], kappaT_lo=kT[1], kappaT_hi=kT[2]))
        for key in ("share", "f_base", "agree", "greedy_acc", "sampled_acc", "length",
                    "finished", "c_hat", "gamma_hat"):
            out.update(zip(ROUND_NAMES[split, key],
                           (mean_or_none([rows[a][split][t][key] for a in main]) for t in (0, T))))
    # P1: the shape of kappa-hat
    curves = [[r["kappa"] for r in rows[a]["train"]] for a in main]
    mean_curve = list(np.mean(np.array(curves), axis=0))
    geo = geometric_fit(mean_curve)
    fit = fit_recursion(curves)
    out.update({"geo_q": geo["q"], "geo_kappa_inf": geo["kappa_inf"], "geo_r2": geo["r2"]})
    out.update({"rec_a": fit["a"], "rec_b": fit["b"], "rec_kappa_inf": fit["kappa_inf"],
                "rec_q": fit["q"]})
    out["kappa_falls_seeds"] = sum(c[-1] < c[0] for c in curves)
    out["train_kappaT_seed_min"] = min(c[-1] for c in curves)
    out["train_kappaT_seed_max"] = max(c[-1] for c in curves)
    last = seed_prompt_matrix(values, main, "train", T)
    out["train_kappaT_worst"] = float(last.max())
    out["train_kappa_median_0"] = float(np.median(seed_prompt_matrix(values, main, "train", 0)))
    out["train_kappa_median_T"] = float(np.median(last))
    falls = all(c[-1] < c[0] for c in curves)
    monotone = all(all(b <= a for a, b in zip(c, c[1:])) for c in curves)
    out["kappa_falls_every_seed"] = falls
    out["kappa_monotone_every_seed"] = monotone
    geometric = geo["r2"] is not None and geo["r2"] >= predictions.geometric_r2
    out["verdict_geometric"] = ("holds" if falls and geometric else
                                "fails: kappa-hat does not fall on every seed" if not falls
                                else "fails: the fall is not geometric")
    # P2: rounds to the share level against log kappa_0 and n
    level = predictions.share_level
    out["share_level"] = level
    main_rounds = [rounds_to(rows[a]["train"], level) for a in main]
    out["rounds_to_level_main"] = ", ".join(rounds_text(r, T) for r in main_rounds)
    taus = sorted((values["arms"][a]["tau"], a) for a in values["arms"]
                  if a.startswith("tau-") or a == main[0])
    tau_rows = [(tau, math.log(rows[a]["train"][0]["kappa"]), rounds_to(rows[a]["train"], level),
                 rows[a]["train"][-1]["share"]) for tau, a in taus]
    out["tau_table"] = [{"tau": tau, "log_kappa0": lk, "rounds": r, "final_share": fs}
                        for tau, lk, r, fs in tau_rows]
    pair_arms = sorted((values["arms"][a]["pairs"], a) for a in values["arms"]
                       if a.startswith("pairs-") or a == main[0])
    pair_rows = [(m, rounds_to(rows[a]["train"], level), rows[a]["train"][-1]["share"])
                 for m, a in pair_arms]
    out["pairs_table"] = [{"pairs": m, "log_kappa0": math.log(rows[a]["train"][0]["kappa"]),
                           "rounds": r, "final_share": fs}
                          for (m, r, fs), (_, a) in zip(pair_rows, pair_arms, strict=True)]
    out["verdict_rounds_tau"] = _order_verdict([(lk, r, fs) for _, lk, r, fs in tau_rows], T,
                                               "log kappa-hat_0", increasing=True)
    out["verdict_rounds_n"] = _order_verdict([(m, r, fs) for m, r, fs in pair_rows], T, "n",
                                             increasing=False)
    # P3: matched single step against iterating, on F_base
    out.update(_matched(rows, main[0], T, predictions))
    # P4: sharpening keeps the mode (held-out prompts; seeds pooled)
    g0 = mean_or_none([rows[a]["heldout"][0]["greedy_acc"] for a in main])
    gT = mean_or_none([rows[a]["heldout"][T]["greedy_acc"] for a in main])
    s0 = mean_or_none([rows[a]["heldout"][0]["sampled_acc"] for a in main])
    sT = mean_or_none([rows[a]["heldout"][T]["sampled_acc"] for a in main])
    kept = abs(gT - g0) <= predictions.greedy_acc_margin
    toward = abs(sT - g0) < abs(s0 - g0) or s0 == g0
    out.update({"greedy_acc_0": g0, "greedy_acc_T": gT, "sampled_acc_0": s0,
                "sampled_acc_T": sT})
    out["greedy_acc_step"] = 1.0 / rows[main[0]]["heldout"][0]["prompts"]
    out["verdict_mode_kept"] = ("holds" if kept and toward else
                                "fails: greedy accuracy moved by "
                                f"{abs(gT - g0):.2f}" if not kept else
                                "fails: sampled accuracy did not move toward the greedy one")
    # training: how close each round got to the exact minimiser
    slopes = [r["slope_share"] for a in main for r in rows[a]["train"] if r["slope_share"]
              is not None]
    resid = [r["residual_share"] for a in main for r in rows[a]["train"]
             if r["residual_share"] is not None]
    out["slope_share_median"] = float(np.median(slopes)) if slopes else None
    out["residual_share_median"] = float(np.median(resid)) if resid else None
    out["heldout_prompts"] = rows[main[0]]["heldout"][0]["prompts"]
    out["train_prompts"] = rows[main[0]]["train"][0]["prompts"]
    out["smallest_share_step"] = 1.0 / max(out["heldout_prompts"], 1)
    out["smallest_train_share_step"] = 1.0 / out["train_prompts"]
    c_min = min(out["train_c_hat_0"], out["heldout_c_hat_0"])
    out["stable_term"] = c_min ** -0.5  # Eq. 7's 1/sqrt(c) with c <= the round-0 minimum
    return out


def _matched(rows: dict, iterate: str, T: int, predictions: Predictions) -> dict:
    """P3's numbers, verdict and sentence (a sentence saying it was not tested when the
    values have no single-step arms)."""
    if "matched" not in rows:
        return {"verdict_matched": "not tested",
                "matched_sentence": "The single-step arms are not in the stored run, so P3 "
                                    "is not tested here."}
    out: dict = {}
    for split in SPLITS:
        for arm, row in (("matched", rows["matched"][split][1]),
                         ("one-step", rows["one-step"][split][1]),
                         ("iterate", rows[iterate][split][T])):
            out.update(renamed(row, MATCHED_NAMES[split, arm]))
    diff = max(rows["matched"][s][1]["f_base"] - rows[iterate][s][T]["f_base"]
               for s in SPLITS)
    out["matched_minus_iterate_f_base"] = diff
    saturated = all(v >= 1.0 for k, v in out.items() if k.endswith("_f_base"))
    out["verdict_matched"] = ("holds only trivially: F_base = 1 in every arm" if saturated
                              else "holds" if diff <= predictions.f_base_margin else
                              f"fails by {diff - predictions.f_base_margin:.2f}")
    out["matched_sentence"] = (
        "On the held-out prompts, F_base was {heldout_matched_f_base:.2f} after one matched "
        "step, {heldout_onestep_f_base:.2f} after one step at beta, and "
        "{heldout_iterate_f_base:.2f} after the iterated rounds; on the training prompts "
        "{train_matched_f_base:.2f}, {train_onestep_f_base:.2f} and "
        "{train_iterate_f_base:.2f}. The confident share after the same three: "
        "{heldout_matched_share:.2f}, {heldout_onestep_share:.2f} and "
        "{heldout_iterate_share:.2f} (held-out).").format(**out)
    return out


def _order_verdict(points, rounds: int, what: str, increasing: bool) -> str:
    """Whether rounds-to-level grow (``increasing``) or fall with ``what`` over ``points``
    (x, rounds or None, final share): a run that never reaches the level is ranked by its
    final share (lower share = more rounds needed)."""
    if len(points) < 2:
        return "not tested (one value)"
    ordered = sorted(points)
    keys = [(r if r is not None else rounds + 1, -fs) for _, r, fs in ordered]
    if all(r is None for _, r, _ in ordered) and len({fs for _, _, fs in ordered}) == 1:
        return f"not decided: no arm reached the level within {rounds} rounds"
    pairs = list(zip(keys, keys[1:]))
    ok = all(b >= a for a, b in pairs) if increasing else all(b <= a for a, b in pairs)
    basis = (f", judged on the final share: no arm reached the level within {rounds} rounds"
             if all(r is None for _, r, _ in ordered) else "")
    return (f"holds (rounds {'grow' if increasing else 'fall'} with {what}{basis})" if ok else
            f"fails (rounds do not {'grow' if increasing else 'fall'} with {what}{basis})")


# -- figures -----------------------------------------------------------------------------------
