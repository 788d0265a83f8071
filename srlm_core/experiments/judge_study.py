r"""The judge, measured first: the ``logits`` and the ``generate`` self-judge of
:mod:`srlm_core.lm.rubric_judge` on the same answers of :math:`\pi_0` (chapter "A real language
model", section "How the judge scores").

``run`` samples ``samples`` answers of :math:`\pi_0` to each of the first ``prompts`` prompts
of a split, checks them (:func:`srlm_core.lm.checkers.passes`) and scores each prompt's answers
with both judges, timing each judge per prompt.  ``summarise`` reports, with percentile
bootstrap intervals over prompts (the prompt is the unit of independence,
:func:`srlm_core.stats.cluster_bootstrap`):

* agreement: Kendall's :math:`\tau` between the two judges' scores of one prompt's answers
  (:func:`srlm_core.lm.diagnostics.kendall_tau`), averaged over prompts;
* each judge's within-prompt AUC against the checker
  (:func:`srlm_core.lm.diagnostics.within_auc`): over pairs of answers to one prompt of
  which one passes and one fails, the share the judge scores the passing one higher (ties
  count one half), averaged over prompts with such a pair;
* each judge's digit mass: the probability on "1".."5" after "Score: ";
* cost per answer and the speed-up, generate seconds over logits seconds.

The goal, stated before the run: the ``logits`` judge at least ``GOAL_SPEEDUP`` times cheaper
at an agreement :math:`\tau \ge` ``GOAL_TAU``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from srlm_core.errors import require, require_at_least, require_one_of, require_positive
from srlm_core.experiments import named
from srlm_core.lm.diagnostics import kendall_tau, within_auc
from srlm_core.options import option
from srlm_core.stats import cluster_bootstrap

TITLE = "The two self-judges on the same answers of pi_0: agreement, AUC, digit mass, cost"
#: Scores are deterministic given the seed on one machine; seconds are kept apart.
TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}
GOAL_SPEEDUP = 10.0
GOAL_TAU = 0.8
JUDGES = ("logits", "generate")
#: The glue names of each judge's seconds per answer.
SECONDS_NAMES = {"logits": "judge_seconds_logits", "generate": "judge_seconds_generate"}
#: The glue names of each prompt-bootstrap interval: the estimate and its ends.
INTERVAL_NAMES = {
    "tau": {"mean": "judge_tau", "lo": "judge_tau_lo", "hi": "judge_tau_hi"},
    "auc_logits": {"mean": "judge_auc_logits", "lo": "judge_auc_logits_lo",
                   "hi": "judge_auc_logits_hi"},
    "mass_logits": {"mean": "judge_mass_logits", "lo": "judge_mass_logits_lo",
                    "hi": "judge_mass_logits_hi"},
    "auc_generate": {"mean": "judge_auc_generate", "lo": "judge_auc_generate_lo",
                     "hi": "judge_auc_generate_hi"},
    "mass_generate": {"mean": "judge_mass_generate", "lo": "judge_mass_generate_lo",
                      "hi": "judge_mass_generate_hi"},
    "speedup": {"mean": "judge_speedup", "lo": "judge_speedup_lo", "hi": "judge_speedup_hi"},
}


@dataclass(frozen=True)
class Config:
    """The judge study: ``prompts`` prompts of ``split``, ``samples`` answers each, at most
    ``max_new_tokens`` tokens at ``temperature``; the generate judge samples ``judge_samples``
    rationales of at most ``judge_max_new_tokens`` tokens at ``judge_temperature``."""

    model: str = option("smollm2-135m-instruct",
                        "smollm2-135m-instruct, tiny-random or a checkpoint folder")
    split: str = option("heldout", "prompt split: train or heldout")
    prompts: int = option(20, "first prompts of the split")
    samples: int = option(3, "answers of pi_0 per prompt")
    max_new_tokens: int = option(128, "answer length limit in tokens")
    temperature: float = option(1.0, "sampling temperature of the answers")
    judge_samples: int = option(1, "rationales the generate judge samples per answer")
    judge_max_new_tokens: int = option(64, "rationale length limit in tokens")
    judge_temperature: float = option(0.7, "sampling temperature of the rationales")
    resamples: int = option(4999, "bootstrap resamples of the intervals over prompts")
    seed: int = option(0, "seed of the model, the sampling and the bootstrap")

    def validate(self) -> Config:
        require_one_of(self, "split", ("train", "heldout"))
        require_at_least(self, 2, "prompts", "samples")
        require_at_least(self, 1, "max_new_tokens", "judge_samples", "judge_max_new_tokens",
                         "resamples")
        require_positive(self, "temperature", "judge_temperature")
        require(self, ("seed", self.seed >= 0, "must be non-negative"))
        return self


def tiny() -> Config:
    """A seconds-long run on the tiny random model (tests)."""
    return Config(model="tiny-random", prompts=3, samples=2, max_new_tokens=6,
                  judge_max_new_tokens=4, resamples=199)


def run(config: Config) -> dict:
    """Answers of :math:`\\pi_0`, their checker verdicts and both judges' scores, digit
    masses and raw rationales, per prompt; seconds per judge per prompt under ``timings``."""
    import torch

    from srlm_core.lm.checkers import passes
    from srlm_core.lm.diagnostics import generate
    from srlm_core.lm.model_loading import load_model
    from srlm_core.lm.prompts import load_prompts
    from srlm_core.lm.rubric_judge import judge_generate, judge_logits

    config.validate()
    model, tokenizer = load_model(config.model, seed=config.seed)
    chosen = load_prompts()[config.split][:config.prompts]
    if len(chosen) < config.prompts:
        require(config, ("prompts", False, f"the {config.split} split has {len(chosen)}"))
    start = time.perf_counter()
    answers = generate(model, tokenizer, [p["instruction"] for p in chosen], config.samples,
                       config.max_new_tokens, config.temperature, config.seed)
    sampling = time.perf_counter() - start
    judge_logits(model, tokenizer, [chosen[0]["instruction"]], [answers[0][0]])  # warm-up
    torch.manual_seed(config.seed)
    rows, seconds = [], {judge: [] for judge in JUDGES}
    for prompt, group in zip(chosen, answers, strict=True):
        texts = [str(a) for a in group]
        instructions = [prompt["instruction"]] * len(texts)
        start = time.perf_counter()
        fast = judge_logits(model, tokenizer, instructions, texts, batch_size=len(texts))
        seconds["logits"].append(time.perf_counter() - start)
        start = time.perf_counter()
        slow = judge_generate(model, tokenizer, instructions, texts,
                              samples=config.judge_samples,
                              max_new_tokens=config.judge_max_new_tokens,
                              temperature=config.judge_temperature, batch_size=len(texts),
                              seed=config.seed)
        seconds["generate"].append(time.perf_counter() - start)
        rows.append({
            "id": prompt["id"], "instruction": prompt["instruction"],
            "answers": texts, "finished": [bool(a.finished) for a in group],
            "passes": [bool(passes(prompt["constraints"], a)) for a in texts],
            "logits": {"scores": fast.scores, "mass": fast.validity},
            "generate": {"scores": slow.scores, "mass": slow.validity,
                         "written": [None if math.isnan(w) else w for w in slow.written],
                         "texts": slow.texts},
        })
    return {"model": config.model, "prompts": rows, "resamples": config.resamples,
            "timings": {"sampling_seconds": sampling, **{f"{j}_seconds": seconds[j]
                                                         for j in JUDGES}}}


def _mean(rows):
    return rows.mean()


def _ratio(rows):
    return rows[:, 0].sum() / rows[:, 1].sum()


def goal_words(tau: float, speedup: float) -> dict:
    """Verdict words of the goal (``GOAL_SPEEDUP`` times cheaper at :math:`\\tau \\ge`
    ``GOAL_TAU``): "met", or by how much each part misses."""
    speed = ("met" if speedup >= GOAL_SPEEDUP
             else f"missed by a factor {GOAL_SPEEDUP / speedup:.1f}")
    agree = ("met" if tau >= GOAL_TAU else f"missed by {GOAL_TAU - tau:.2f}"
             if not math.isnan(tau) else "undefined")
    return {"judge_speed_verdict": speed, "judge_agreement_verdict": agree,
            "judge_goal_verdict": "met" if speed == agree == "met" else "missed"}


def summarise(values: dict, timings: dict | None = None) -> dict:
    """The numbers and words the chapter glues, all named ``judge_...``: agreement ``tau``,
    ``auc_<judge>``, digit ``mass_<judge>`` and ``speedup``, each with ``_lo``/``_hi`` of its
    prompt-bootstrap interval (:data:`INTERVAL_NAMES`); seconds per answer, shares, the goal
    and its verdict words (``timings``: the record's seconds, default ``values["timings"]``)."""
    timings = timings or values["timings"]
    rows, resamples = values["prompts"], values["resamples"]
    answers = sum(len(r["answers"]) for r in rows)
    out: dict = {"judge_prompts": len(rows), "judge_answers": answers,
                 "judge_finished_share": float(np.mean([f for r in rows for f in r["finished"]])),
                 "judge_pass_share": float(np.mean([p for r in rows for p in r["passes"]])),
                 "judge_written_share": float(np.mean([w is not None for r in rows
                                                       for w in r["generate"]["written"]])),
                 "judge_goal_speedup": GOAL_SPEEDUP, "judge_goal_tau": GOAL_TAU}
    taus = [kendall_tau(r["logits"]["scores"], r["generate"]["scores"]) for r in rows]
    intervals = {"tau": cluster_bootstrap(taus, _mean, resamples)}
    for judge in JUDGES:
        aucs = [within_auc(r[judge]["scores"], r["passes"]) for r in rows]
        intervals[f"auc_{judge}"] = cluster_bootstrap(aucs, _mean, resamples)
        intervals[f"mass_{judge}"] = cluster_bootstrap(
            [np.mean(r[judge]["mass"]) for r in rows], _mean, resamples)
        out[SECONDS_NAMES[judge]] = float(np.sum(timings[f"{judge}_seconds"])) / answers
    pairs = list(zip(timings["generate_seconds"], timings["logits_seconds"], strict=True))
    intervals["speedup"] = cluster_bootstrap(pairs, _ratio, resamples)
    for key, interval in intervals.items():
        out.update(named(INTERVAL_NAMES[key], mean=interval.mean, lo=interval.lo, hi=interval.hi))
    out["judge_auc_prompts"] = intervals["auc_logits"].units
    out["judge_tau_prompts"] = intervals["tau"].units
    out.update(goal_words(intervals["tau"].mean, intervals["speedup"].mean))
    return out


def plot(values: dict, timings: dict | None = None):
    """Left: the two judges' scores of every answer (filled: passes its checker). Right: the
    digit mass of each judge per answer."""
    import matplotlib.pyplot as plt

    rows = values["prompts"]
    fast = np.array([s for r in rows for s in r["logits"]["scores"]])
    slow = np.array([s for r in rows for s in r["generate"]["scores"]])
    passed = np.array([p for r in rows for p in r["passes"]])
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    left.scatter(fast[~passed], slow[~passed], facecolors="none", edgecolors="C0",
                 label="fails its checker")
    left.scatter(fast[passed], slow[passed], color="C1", label="passes")
    left.set(xlabel="logits judge score", ylabel="generate judge score (forced)")
    left.legend(fontsize=8)
    masses = [[m for r in rows for m in r[j]["mass"]] for j in JUDGES]
    right.boxplot(masses, tick_labels=list(JUDGES))
    right.set(ylabel='probability on "1".."5"', ylim=(0, 1))
    fig.tight_layout()
    return fig
