"""Held-out diagnostics of a policy pi_t against pi_0 (the quantities of
:mod:`srlm_core.lm.diagnostics`): pass rate with its Wilson interval, compliance, the self-judge's
agreement with the checkers, the signal share, internal consistency, KL to pi_0, the
condition-number proxy, length and the judge's validity."""

from __future__ import annotations

import numpy as np

from srlm_core.lm import diagnostics as diag
from srlm_core.lm.checkers import compliance, passes
from srlm_core.lm.config import LMConfig
from srlm_core.lm.judge import judge_logits
from srlm_core.lm.stage_timer import StageTimer

#: Offset of the evaluation sampling seed from the run seed (evaluation draws differ from
#: training draws, and are the same for every arm and iteration: common random numbers).
EVAL_SEED_OFFSET = 7919


def evaluate(policy, initial, tokenizer, heldout: list[dict], config: LMConfig,
             timer: StageTimer | None = None) -> dict:
    """Sample ``config.heldout_samples`` answers per held-out prompt from ``policy`` and
    measure them; ``initial`` is pi_0 (for the KL)."""
    timer = timer or StageTimer()
    cfg = config
    instructions = [p["instruction"] for p in heldout]
    samples = timer.call("eval_generate", diag.generate, policy, tokenizer, instructions,
                         cfg.heldout_samples, cfg.max_new_tokens, cfg.temperature,
                         cfg.seed + EVAL_SEED_OFFSET)
    flat_i = [i for i, s in zip(instructions, samples, strict=True) for _ in s]
    flat_r = [r for s in samples for r in s]
    flat_c = [p["constraints"] for p, s in zip(heldout, samples, strict=True) for _ in s]
    truth = [passes(c, r) for c, r in zip(flat_c, flat_r, strict=True)]
    judged = timer.call("eval_judge", judge_logits, policy, tokenizer, flat_i, flat_r)
    own = timer.call("eval_logprobs", diag.sequence_logprobs, policy, tokenizer, flat_i, flat_r,
                     cfg.temperature)
    base = timer.call("eval_logprobs", diag.sequence_logprobs, initial, tokenizer, flat_i,
                      flat_r, cfg.temperature)
    m = cfg.heldout_samples
    groups = [list(range(i, i + m)) for i in range(0, len(flat_r), m)]
    k = sum(truth)
    lo, hi = diag.wilson_interval(k, len(truth))
    return {
        "pass_rate": k / len(truth), "pass_rate_lo": lo, "pass_rate_hi": hi,
        "compliance": float(np.mean([compliance(c, r) for c, r in zip(flat_c, flat_r,
                                                                      strict=True)])),
        "judge_agreement": diag.judge_agreement(groups, truth, judged.scores),
        **diag.signal_share(judged.scores, truth, own.mean),
        "consistency": diag.internal_consistency(groups, judged.scores, own.mean),
        "kl_to_initial": float(np.mean(np.subtract(own.total, base.total))),
        "log_kappa_proxy": diag.log_condition_proxy(groups, truth, own.total),
        "mean_length": float(np.mean(own.length)),
        "mean_judge_score": float(np.nanmean(judged.scores)),
        "judge_validity": float(np.mean(judged.validity)),
        "responses": len(truth),
    }
