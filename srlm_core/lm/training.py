"""One DPO round with TRL's DPOTrainer (sigmoid loss, Rafailov et al. 2023) in the
conversational format.

The reference model is passed explicitly and its log-probabilities are precomputed before
training (TRL would otherwise reload the original checkpoint by name).  The *fixed* reference
is the initial model M0 (S1: a contraction toward pi*); the *moving* reference is a frozen
copy of the current policy (Yuan et al.; in the book's model chapter: not a contraction).  On
CPU the trainer runs with ``use_cpu``, float32, no gradient checkpointing; on a GPU in bf16.
Launched over N > 1 processes (``torchrun``), TRL trains with DDP through Accelerate, each rank
on ``batch_size / N`` pairs per step: the global batch, and so the steps, stay those of one
process when the number of pairs is a multiple of ``batch_size`` (otherwise Accelerate fills
the last step of each epoch with pairs from the epoch's start, so that step differs).  The
reference log-probabilities are then computed alongside each batch instead of
in advance (TRL caches the precomputed ones in a per-process temporary folder that the other
ranks cannot read); they are the same numbers.
"""

from __future__ import annotations

import copy
import os
import tempfile
import warnings
from dataclasses import dataclass
from unittest import mock

import torch

from srlm_core import parallel
from srlm_core.lm.pairs import conversational


@dataclass(frozen=True)
class DPOSettings:
    """Hyper-parameters of one DPO round with TRL's DPOTrainer."""

    beta: float = 0.1
    learning_rate: float = 5e-6
    epochs: int = 2
    batch_size: int = 4
    max_length: int = 512
    seed: int = 0


def frozen_copy(model):
    """A frozen deep copy (the moving reference pi_t, or M0 kept for the fixed reference)."""
    reference = copy.deepcopy(model).eval()
    for parameter in reference.parameters():
        parameter.requires_grad_(False)
    return reference


def dpo_round(model, reference, tokenizer, pairs, settings: DPOSettings) -> dict:
    """Train ``model`` in place on ``pairs`` against ``reference``; returns the training log.

    Launched over N processes, ``settings.batch_size`` (the global batch) must be a multiple
    of N."""
    from datasets import Dataset
    from transformers.trainer_callback import PrinterCallback
    from trl import DPOConfig, DPOTrainer

    if not pairs:
        return {"pairs": 0, "steps": 0, "train_loss": None}
    per_device = parallel.require_divisible("batch_size", settings.batch_size)
    single = parallel.world_size() == 1
    # TRL patches the forward of the models it is given (fused LM head); a deep copy of a
    # patched model would keep calling the original's weights.  Give it a private copy of
    # the reference so that the caller's reference (M0) stays pristine.
    reference = frozen_copy(reference)
    on_gpu = model.device.type == "cuda"
    # TRL's reference-log-prob bar reads only TQDM_DISABLE: the caller's bar shows the round
    with tempfile.TemporaryDirectory(prefix="srlm-dpo-") as output_dir, \
            mock.patch.dict(os.environ, {"TQDM_DISABLE": "1"}), \
            warnings.catch_warnings():  # TRL's own use of deprecated transformers names
        warnings.filterwarnings("ignore", message=".*gradient_checkpointing.*",
                                category=FutureWarning)
        args = DPOConfig(
            output_dir=output_dir,
            beta=settings.beta,
            loss_type=["sigmoid"],
            learning_rate=settings.learning_rate,
            num_train_epochs=settings.epochs,
            per_device_train_batch_size=per_device,
            gradient_accumulation_steps=1,
            lr_scheduler_type="constant",
            warmup_steps=0,
            max_length=settings.max_length,
            precompute_ref_log_probs=single,
            use_cpu=not on_gpu,
            bf16=on_gpu,
            seed=settings.seed,
            data_seed=settings.seed,
            save_strategy="no",
            logging_steps=1,
            report_to=[],
            dataloader_num_workers=0,
            disable_tqdm=True,  # the caller's bar shows the round; no per-step logs
        )
        trainer = DPOTrainer(
            model=model, ref_model=reference, args=args, processing_class=tokenizer,
            train_dataset=Dataset.from_list(conversational(pairs)),
        )
        trainer.remove_callback(PrinterCallback)  # no raw log dictionaries
        result = trainer.train()
        history = [h for h in trainer.state.log_history if "loss" in h]
    model.eval()
    del trainer
    return {
        "pairs": len(pairs),
        "steps": result.global_step,
        "train_loss": result.training_loss,
        "reward_margin_last": history[-1].get("rewards/margins") if history else None,
    }


@torch.no_grad()
def parameter_distance(model, other) -> float:
    """||theta - theta'||_2 over all parameters."""
    total = 0.0
    for a, b in zip(model.parameters(), other.parameters(), strict=True):
        total += float((a.float() - b.float()).pow(2).sum())
    return total ** 0.5
