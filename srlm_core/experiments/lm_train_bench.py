"""Benchmark: one training epoch of the fast path (top blocks on cached activations, soft labels
on all within-prompt pairs) against full fine-tuning through TRL's DPOTrainer on the same pairs.

Both train on the first ``prompts`` training prompts of the pool.  The fast path processes
each answer once per epoch; TRL processes each pair (chosen and rejected, oriented by the
checker) and precomputes the reference log-probabilities, as a round of chapter 6 does.  The
pair count of a full lm-alpha epoch scales both linearly, which the record reports as an
extrapolation, not a measurement.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

from srlm_core.errors import ConfigError, require_at_least
from srlm_core.lm.model_loading import model_provenance
from srlm_core.options import option

TITLE = "Seconds per training epoch: top blocks on cached activations vs TRL full fine-tuning"
#: The values are the workload (counts), which reproduce exactly; the timings depend on the
#: machine and its load and are stored with the hardware in the record's provenance.
TOLERANCE = {"rtol": 0.0, "atol": 0.0}
CODE = ("srlm_core/lm/top_blocks.py",)
#: The record's provenance names the model.
provenance = model_provenance


@dataclass(frozen=True)
class Config:
    """Parameters of the training benchmark (``srlm run lm-train-bench``)."""

    pool: str = option("lm-pool", "result ID of the response pool")
    model: str = option("smollm2-135m-instruct",
                        "smollm2-135m-instruct, tiny-random or a checkpoint folder")
    prompts: int = option(2, "first training prompts of the pool both paths train on")
    trainable_blocks: int = option(2, "top decoder blocks the fast path trains")
    batch_size: int = option(4, "prompts (fast path) or pairs (TRL) per optimiser step")
    full_pool_prompts: int = option(24,
                                    "training prompts of a full lm-alpha epoch, for the "
                                    "extrapolation")
    device: str = option("cpu", "cpu, cuda or auto")

    def validate(self) -> Config:
        require_at_least(self, 1, "prompts", "trainable_blocks", "batch_size",
                         "full_pool_prompts")
        return self


def run(config: Config, pool=None) -> dict:
    """Time one epoch of each path (``pool``: a loaded pool instead of the record).  The
    ``timings`` entry goes to the record's provenance, the rest to its values."""
    import torch

    from srlm_core.device import resolve_device
    from srlm_core.lm.controlled_judge import judge_rewards, soft_labels
    from srlm_core.lm.model_loading import load_model
    from srlm_core.lm.pool import load_pool
    from srlm_core.lm.soft_dpo import SoftDPOSettings, train_round
    from srlm_core.lm.top_blocks import PoolSequences, TopBlocksPolicy
    from srlm_core.lm.training import DPOSettings, dpo_round, frozen_copy

    config.validate()
    pool = pool if pool is not None else load_pool(config.pool)
    prompts = pool.split("train")[:config.prompts]
    if len(prompts) < config.prompts:
        raise ConfigError("prompts", f"the pool has {len(prompts)} training prompts")
    device = resolve_device(config.device)
    model, tokenizer = load_model(config.model, device=device)
    answers = [(p, a) for p in prompts for a in p["answers"]]
    start = time.perf_counter()
    sequences = PoolSequences.build(tokenizer, [p["instruction"] for p, _ in answers],
                                    [a["ids"] for _, a in answers])
    policy = TopBlocksPolicy(model, sequences, config.trainable_blocks)
    cache_seconds = time.perf_counter() - start
    logp0 = policy.all_logprobs()
    groups, labels, offset = [], [], 0
    for p in prompts:
        k = len(p["answers"])
        groups.append(list(range(offset, offset + k)))
        g = torch.tensor([a["g"] for a in p["answers"]], dtype=torch.float64)
        labels.append(soft_labels(judge_rewards(g, torch.zeros(k, dtype=g.dtype), 1.0, 2.0)))
        offset += k
    fast = train_round(policy, groups, labels, logp0,
                       SoftDPOSettings(epochs=1, prompts_per_step=config.batch_size))["seconds"]
    pairs = []
    for p in prompts:
        for a, b in itertools.combinations(p["answers"], 2):
            chosen, rejected = (a, b) if a["g"] >= b["g"] else (b, a)
            pairs.append({"prompt": p, "chosen": chosen["text"], "rejected": rejected["text"]})
    trainee = frozen_copy(model)
    for parameter in trainee.parameters():
        parameter.requires_grad_(True)
    start = time.perf_counter()
    dpo_round(trainee, model, tokenizer, pairs,
              DPOSettings(beta=1.0, epochs=1, batch_size=config.batch_size))
    trl = time.perf_counter() - start
    scale = config.full_pool_prompts / len(prompts)
    return {
        "prompts": len(prompts), "answers": len(answers), "pairs": len(pairs),
        "full_pool": {"prompts": config.full_pool_prompts, "pairs": len(pairs) * scale},
        "timings": {"fast_epoch_seconds": fast, "fast_cache_seconds": cache_seconds,
                    "trl_epoch_seconds": trl, "speedup": trl / fast,
                    "full_pool_fast_epoch_seconds": fast * scale,
                    "full_pool_trl_epoch_seconds": trl * scale},
    }
