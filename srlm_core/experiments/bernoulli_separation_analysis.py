r"""Why the Bernoulli-label arm of the controlled-signal-share records drifts away: a check
read from the stored records ``lm-alpha`` and ``lm-alpha-contrast`` (nothing is rerun).

The arm labels every within-prompt pair of the pool once per round with one Bernoulli draw
of the judge's soft label (:func:`srlm_core.lm.controlled_judge.bernoulli_labels`).  With one
hard label per pair of K answers, the pairs of a prompt form a tournament, and the DPO loss
with a free value per answer has a finite minimiser exactly when that tournament is strongly
connected (every answer beats, through a chain, every other one; Zermelo's condition for the
Bradley-Terry estimate).  A tournament that is not strongly connected is *separable*: some
set of answers won every pair against the rest, and the exact minimiser pushes their
log-ratios apart without limit, so a network trained on it over-sharpens.  The model world's
collapse of chapter 2 (C5) has the same first step, separable pairs that over-sharpen; its
second step, a next round whose pairs are all ties, cannot happen here, because the pool
labels every pair in every round whatever the policy.

:func:`regenerate_labels` redraws each round's labels from the record's :math:`h_{t-1}` with
the run's label seed (the digest of ``ControlledAlphaRunner._labels`` in
:mod:`srlm_core.experiments.controlled_alpha`);
:func:`analyse` reads, per round, :math:`E_t/E_0`, its coordinate along the target and its
orthogonal part (:func:`srlm_core.experiments.controlled_alpha_analysis.analyse`), the spread
of the centred log-ratios against the target's, and the share of separable prompts.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from srlm_core.experiments import controlled_alpha_analysis as caa
from srlm_core.lm.controlled_judge import bernoulli_labels, judge_rewards, soft_labels

TITLE = "Bernoulli-label arm: separable label sets and over-sharpening, read from the records"


def separable(labels: np.ndarray) -> bool:
    r"""Is the tournament of hard labels (K, K), ``labels[i, j] = 1`` when answer i won the
    pair, *not* strongly connected, so that the per-answer DPO minimiser does not exist?"""
    beats = np.asarray(labels) > 0.5
    K = beats.shape[0]
    reach = beats | np.eye(K, dtype=bool)
    for k in range(K):  # transitive closure (Warshall)
        reach = reach | (reach[:, [k]] & reach[[k], :])
    return not bool(reach.all())


def regenerate_labels(measurements: caa.Measurements, arm: dict, name: str, seed: int,
                      scale: float) -> list[list[np.ndarray]]:
    r"""Per round t = 1..T, per training prompt, the (K, K) Bernoulli labels the run drew from
    :math:`h_{t-1}` of the record (the generator seeded as the runner seeds it)."""
    h = measurements.h(name)
    rounds = []
    for t in range(1, arm["rounds"] + 1):
        digest = hashlib.sha256(f"{seed}:{name}:{t}".encode()).hexdigest()
        generator = torch.Generator().manual_seed(int(digest[:12], 16))
        labels = []
        for group in measurements.train:
            g = torch.tensor(measurements.g[group], dtype=torch.float64)
            p = soft_labels(judge_rewards(g, torch.tensor(h[t - 1][group]), arm["alpha"], scale))
            labels.append(bernoulli_labels(p, generator).numpy())
        rounds.append(labels)
    return rounds


def analyse(main: dict, contrast: dict, scale: float, seed: int = 0, arm: str = "bernoulli",
            soft: str = "alpha-0.5", n_boot: int = 2000) -> dict:
    """Per round, for the Bernoulli arm and the soft-label arm of the same signal share:
    ``ratio`` E_t/E_0, ``coordinate`` along the target, ``orthogonal`` part, ``spread`` (RMS of
    the centred log-ratios over the RMS of the centred target), and for the Bernoulli arm the
    share of training prompts whose labels are ``separable``."""
    analysis = caa.analyse(main, contrast, scale=scale, n_boot=n_boot)
    m = caa.Measurements(main, contrast, scale=scale)
    groups = caa._groups(m.pool)
    target = np.sqrt(np.mean([(m.target[g] ** 2).mean() for g in m.train]))
    out = {"prompts": len(m.train), "K": sorted({len(g) for g in m.train})}
    for key, name in (("bernoulli", arm), ("soft", soft)):
        centred = caa._centred(m.h(name), groups)
        spread = [float(np.sqrt(np.mean([(row[g] ** 2).mean() for g in m.train])) / target)
                  for row in centred]
        a = analysis["arms"][name]
        out[key] = {"ratio": a["ratio"]["value"], "coordinate": a["coordinate"]["value"],
                    "orthogonal": a["orthogonal"]["value"], "spread": spread}
    labels = regenerate_labels(m, m.arms[arm], arm, seed, scale)
    out["bernoulli"]["separable"] = [float(np.mean([separable(x) for x in r])) for r in labels]
    return out


def summarise(result: dict) -> dict:
    """The chapter's numbers (prefix ``bsep_``) and three verdict words: ``bsep_shape`` (the
    ratio ``rises`` in every round, ``falls`` in every round, or is ``not monotone``), whether
    the Bernoulli arm ``over-sharpens`` (its final spread above the target's and above the
    soft-label arm's) and whether its separable share ``grows`` along the rounds; ``bsep_floor``
    says whether the record contradicts chapter 4's floor (a rising ratio does)."""
    b, s = result["bernoulli"], result["soft"]
    ratio = np.asarray(b["ratio"])
    steps = np.diff(ratio[1:])
    shape = ("rises" if steps.size and np.all(steps > 0) else
             "falls" if steps.size and np.all(steps < 0) else "is not monotone")
    sep = np.asarray(b["separable"])
    sharp = b["spread"][-1] > 1.0 and b["spread"][-1] > s["spread"][-1]
    return {
        "bsep_prompts": result["prompts"], "bsep_K": ", ".join(map(str, result["K"])),
        "bsep_rounds": len(sep),
        "bsep_ratio_first": float(ratio[1]), "bsep_ratio_last": float(ratio[-1]),
        "bsep_shape": shape,
        "bsep_floor": ("That is not what the record shows" if shape == "rises"
                       else "The record does not rule it out"),
        "bsep_coord_last": float(b["coordinate"][-1]),
        "bsep_coord_side": ("past the target" if b["coordinate"][-1] > 0
                            else "short of the target"),
        "bsep_orth_first": float(b["orthogonal"][1]), "bsep_orth_last": float(b["orthogonal"][-1]),
        "bsep_spread_last": float(b["spread"][-1]), "bsep_soft_spread_last": float(s["spread"][-1]),
        "bsep_oversharpens": "over-sharpens" if sharp else "does not over-sharpen",
        "bsep_sep_first": float(sep[0]), "bsep_sep_last": float(sep[-1]),
        "bsep_sep_trend": ("grows" if sep[-1] > sep[0] else
                           "shrinks" if sep[-1] < sep[0] else "stays level"),
    }
