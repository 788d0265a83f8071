r"""Held-out measurement of a policy :math:`\pi_t`: ``heldout_samples`` answers to each
held-out prompt, every answer kept with what the chapter's statistics need.

An answer *passes* when it finished within the token budget and satisfies every constraint
of its prompt (a cut answer fails).  Per answer the record keeps: its prompt's index, the
checker's verdict, whether it finished, its compliance and length, the self-judge's score and
validity (:func:`srlm_core.lm.rubric_judge.judge_logits` with :math:`\pi_t` as judge), and the
log-likelihoods :math:`\log\pi_t(y\mid x)`, :math:`\log\pi_0(y\mid x)` at the sampling
temperature.  Given the previous round's policy :math:`\pi_{t-1}` it also keeps
:math:`\log\pi_{t-1}(y\mid x)`, for the per-round KL.  All answers of one evaluation are
sampled in one batch.  The point summaries are
the estimators of :mod:`srlm_core.lm.diagnostics`; intervals over prompts are the chapter's
(:mod:`srlm_core.experiments.language_model_loop`).
"""

from __future__ import annotations

import numpy as np

from srlm_core.lm import diagnostics as diag
from srlm_core.lm.checkers import compliance, passes
from srlm_core.lm.rubric_judge import judge_logits
from srlm_core.lm.stage_timer import StageTimer

#: Offset of the evaluation sampling seed from the run seed (evaluation draws differ from
#: training draws, and are the same for every arm and iteration: common random numbers).
EVAL_SEED_OFFSET = 7919


def groups_of(prompt_index) -> list[list[int]]:
    """The answer indices of each prompt, from the per-answer prompt index."""
    out: dict[int, list[int]] = {}
    for i, p in enumerate(prompt_index):
        out.setdefault(p, []).append(i)
    return list(out.values())


def summary(answers: dict) -> dict:
    r"""Point estimates from the per-answer lists of :func:`evaluate`: pass rate, finished
    share, KL to :math:`\pi_0` and to :math:`\pi_{t-1}` (Monte-Carlo means of the
    log-ratio over answers of :math:`\pi_t`), the diagnostics of
    :mod:`srlm_core.lm.diagnostics` with :math:`l = \log\pi_t - \log\pi_0`, mean length and
    the judge's digit mass."""
    groups = groups_of(answers["prompt"])
    log_ratio = np.subtract(answers["logp"], answers["logp_initial"]).tolist()
    return {
        "pass_rate": float(np.mean(answers["passed"])),
        "finished_share": float(np.mean(answers["finished"])),
        "compliance": float(np.mean(answers["compliance"])),
        "kl_to_initial": float(np.mean(log_ratio)),
        "kl_to_previous": (float(np.mean(np.subtract(answers["logp"],
                                                     answers["logp_previous"])))
                           if answers.get("logp_previous") is not None else None),
        "judge_agreement": diag.judge_agreement(groups, answers["passed"], answers["score"]),
        **diag.signal_share(groups, answers["score"], answers["passed"], log_ratio),
        "consistency": diag.internal_consistency(groups, answers["score"], log_ratio),
        "log_kappa_proxy": diag.log_condition_proxy(groups, answers["passed"], answers["logp"]),
        "mean_length": float(np.mean(answers["length"])),
        "judge_validity": float(np.mean(answers["validity"])),
        "responses": len(answers["passed"]),
    }


def evaluate(policy, initial, tokenizer, heldout: list[dict], config,
             timer: StageTimer | None = None, previous=None) -> dict:
    r"""Sample ``config.heldout_samples`` answers per held-out prompt from ``policy`` and
    measure them; ``initial`` is :math:`\pi_0`, ``previous`` :math:`\pi_{t-1}` (None at
    :math:`t = 0`).  Returns :func:`summary` and ``answers``, the per-answer lists."""
    timer = timer or StageTimer()
    cfg = config
    instructions = [p["instruction"] for p in heldout]
    samples = timer.call("eval_generate", diag.generate, policy, tokenizer, instructions,
                         cfg.heldout_samples, cfg.max_new_tokens, cfg.temperature,
                         cfg.seed + EVAL_SEED_OFFSET, len(instructions) * cfg.heldout_samples)
    index = [i for i, s in enumerate(samples) for _ in s]
    flat_i = [instructions[i] for i in index]
    flat_r = [r for s in samples for r in s]
    flat_c = [heldout[i]["constraints"] for i in index]

    def likelihood(model):
        return timer.call("eval_logprobs", diag.sequence_logprobs, model, tokenizer, flat_i,
                          flat_r, cfg.temperature)

    judged = timer.call("eval_judge", judge_logits, policy, tokenizer, flat_i, flat_r)
    own = likelihood(policy)
    base = own if initial is policy else likelihood(initial)
    answers = {
        "prompt": index,
        "passed": [r.finished and passes(c, r) for c, r in zip(flat_c, flat_r, strict=True)],
        "finished": [r.finished for r in flat_r],
        "compliance": [compliance(c, r) for c, r in zip(flat_c, flat_r, strict=True)],
        "length": own.length,
        "score": judged.scores, "validity": judged.validity,
        "logp": own.total, "logp_initial": base.total,
        "logp_previous": None,
    }
    if previous is not None:
        answers["logp_previous"] = (base.total if previous is initial
                                    else likelihood(previous).total)
    return {**summary(answers), "answers": answers}
