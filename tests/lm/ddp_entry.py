"""The program the data-parallel tests start under ``torchrun`` (not a test module).

``ddp_entry.py alpha ARGS...`` runs ``srlm lm alpha ARGS...`` on the tiny model with the tiny
response pool of :func:`srlm_core.lm.tiny.tiny_pool`; with ``SRLM_TEST_KILL=RANK:ARM:ROUND``
set, rank RANK dies abruptly (``os._exit``) when it starts round ROUND of arm ARM.
``ddp_entry.py dpo OUT`` samples, judges (both judges) and scores answers with the tiny model,
then trains it for one TRL DPO round on fixed pairs; rank 0 saves those numbers and the trained
weights to OUT.
"""

from __future__ import annotations

import os
import sys

TRAIN_PROMPTS, HELDOUT_PROMPTS = 5, 2


def tiny_pool():
    from srlm_core.lm.tiny import tiny_pool as make

    return make(train=TRAIN_PROMPTS, heldout=HELDOUT_PROMPTS)


def patch_alpha() -> None:
    """The tiny pool instead of the stored one, and the optional fault."""
    import srlm_core.lm.pool
    from srlm_core.experiments import controlled_alpha as ca

    srlm_core.lm.pool.load_pool = lambda name: tiny_pool()
    kill = os.environ.get("SRLM_TEST_KILL")
    if kill:
        rank, arm_name, round_ = kill.split(":")
        original = ca.ControlledAlphaRunner._round

        def round_or_die(self, arm, t, logp):
            if os.environ.get("RANK") == rank and (arm.name, str(t)) == (arm_name, round_):
                print(f"rank {rank}: killed at {arm_name} round {round_}", flush=True)
                os._exit(9)
            return original(self, arm, t, logp)

        ca.ControlledAlphaRunner._round = round_or_die


def pairs() -> list[dict]:
    words = ("blue sky", "green tea", "red sun", "grey owl", "dark sea", "warm rain")
    return [{"prompt": {"instruction": f"Say a colour ({i})."}, "chosen": w,
             "rejected": w[::-1] + " zz"} for i, w in enumerate(words * 2)]


def train_dpo(out: str) -> None:
    """One DPO round of the tiny model on :func:`pairs` (global batch 4), then the sharded
    stages; weights and their outputs to ``out``."""
    import torch

    from srlm_core import parallel
    from srlm_core.device import resolve_device
    from srlm_core.lm.diagnostics import generate, sequence_logprobs
    from srlm_core.lm.rubric_judge import judge_generate, judge_logits
    from srlm_core.lm.tiny import tiny_model, tiny_tokenizer
    from srlm_core.lm.training import DPOSettings, dpo_round, frozen_copy

    resolve_device("cpu")  # the process group, as the runners set it up
    tokenizer = tiny_tokenizer()
    model = tiny_model(tokenizer, seed=0)
    instructions = [f"Name a fruit ({i})." for i in range(5)]
    drawn = generate(model, tokenizer, instructions, 3, 6, 1.0, seed=11)
    flat_i = [i for i, rows in zip(instructions, drawn, strict=True) for _ in rows]
    flat_r = [r for rows in drawn for r in rows]
    stages = {"texts": [[str(r) for r in rows] for rows in drawn],
              "ids": [[r.ids for r in rows] for rows in drawn],
              "judge_logits": judge_logits(model, tokenizer, flat_i, flat_r, batch_size=4).scores,
              "judge_generate": judge_generate(model, tokenizer, flat_i, flat_r, samples=2,
                                               max_new_tokens=4, batch_size=4, seed=5).validity,
              "logprobs": sequence_logprobs(model, tokenizer, flat_i, flat_r, batch_size=4).total}
    log = dpo_round(model, frozen_copy(model), tokenizer, pairs(),
                    DPOSettings(beta=0.5, learning_rate=5e-3, epochs=2, batch_size=4))
    if parallel.is_main():
        torch.save({"state": model.state_dict(), "log": log, "stages": stages}, out)
    parallel.barrier()


def main(argv: list[str]) -> int:
    mode, rest = argv[0], argv[1:]
    if mode == "dpo":
        train_dpo(rest[0])
        return 0
    patch_alpha()
    from srlm_core.cli import main as cli

    return cli(["lm", "alpha", *rest])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
