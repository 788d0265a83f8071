"""The two self-judges on the same answers: the ``logits`` judge (expected score from one
forward pass) against the ``generate`` judge (a sampled justification, then the same forced
score), their speeds and their rank agreement (Spearman's rho over the answers both scored);
``generate_validity`` is the generate judge's mean digit mass."""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from scipy import stats

from srlm_core.lm.judge import judge_generate, judge_logits


def judge_timing(model, tokenizer, instructions: list[str], responses: list[str],
                 samples: int, max_new_tokens: int, seed: int) -> dict:
    """Score ``responses`` with both judges; seconds, speed ratio, rho and validity."""
    start = time.perf_counter()
    fast = judge_logits(model, tokenizer, instructions, responses)
    t_logits = time.perf_counter() - start
    torch.manual_seed(seed)
    start = time.perf_counter()
    slow = judge_generate(model, tokenizer, instructions, responses, samples=samples,
                          max_new_tokens=max_new_tokens, seed=seed)
    t_generate = time.perf_counter() - start
    both = [(a, b) for a, b in zip(fast.scores, slow.scores, strict=True) if not math.isnan(b)]
    rho = (float(stats.spearmanr(*zip(*both)).statistic)
           if len(both) > 2 and len({b for _, b in both}) > 1 else math.nan)
    return {"responses": len(responses), "seconds_logits": t_logits,
            "seconds_generate": t_generate, "speed_ratio": t_generate / t_logits,
            "spearman": rho, "generate_validity": float(np.mean(slow.validity)),
            "logits_scores": fast.scores, "generate_scores": slow.scores}
