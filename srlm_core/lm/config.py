"""Configuration of a language-model self-rewarding run, read from a TOML file
(:func:`srlm_core.config_file.load_config`).

Every key is a field of :class:`LMConfig`; an unknown key, a value of the wrong type or an
impossible value raises :class:`~srlm_core.errors.ConfigError` naming the key, before any
model is loaded.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from srlm_core.device import DEVICE_CHOICES, PRECISION_CHOICES
from srlm_core.errors import (
    is_lowercase_name,
    require,
    require_at_least,
    require_one_of,
    require_positive,
)
from srlm_core.lm.judge import JUDGE_MODES
from srlm_core.lm.model_loading import require_model
from srlm_core.options import option

#: fixed: reference = M0 (S1); moving: reference = pi_t (Yuan et al.); single_step: all
#: T x P pairs judged by M0, one round; oracle: pairs ranked by the ground-truth checker.
ARMS = ("fixed", "moving", "single_step", "oracle")


@dataclass(frozen=True)
class LMConfig:
    name: str = option("lm-small", "run name (lowercase): the record's ID")
    model: str = option("smollm2-135m-instruct",
                        "smollm2-135m-instruct, tiny-random or a checkpoint folder")
    device: str = option("cpu", "cpu, cuda or auto (a GPU when present)")
    seed: int = option(0, "seed of the sampling, the judging and the training")
    arms: tuple = option(("fixed", "moving", "single_step", "oracle"),
                         "arms run: fixed, moving, single_step, oracle")
    iterations: int = option(2, "rounds T of the iterative arms")
    prompts_per_iteration: int = option(8,
                                        "training prompts per round (a block; as many again in "
                                        "reserve)")
    pairs_per_iteration: int = option(4,
                                      "pairs per round of every iterative arm (a multiple of "
                                      "batch_size)")
    candidates: int = option(4, "answers sampled per prompt and judged")
    heldout_prompts: int = option(12, "held-out prompts of every evaluation")
    heldout_samples: int = option(4, "answers sampled per held-out prompt")
    max_new_tokens: int = option(40, "answer length limit in tokens")
    precision: str = option("float32",
                            "CPU arithmetic: float32, bf16 (autocast) or auto (bf16 where the CPU "
                            "has it natively)")
    temperature: float = option(0.7, "sampling temperature")
    judge_mode: str = option("logits",
                             "self-judge: logits (expected score) or generate (sampled "
                             "rationales)")
    judge_samples: int = option(3, "rationales per answer of the generate judge")
    judge_max_new_tokens: int = option(96, "rationale length limit of the generate judge")
    min_margin: float = option(0.1,
                               "smallest score gap between the best and the worst answer of a "
                               "pair")
    beta: float = option(0.1, "DPO's KL strength beta")
    learning_rate: float = option(5e-6, "learning rate of a DPO round")
    epochs: int = option(2, "epochs of a DPO round over its pairs")
    batch_size: int = option(4, "pairs per optimiser step")
    prompts_file: str = option("data/lm/prompts.json",
                               "prompts with their checkers (repository-relative or absolute "
                               "path)")
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    def validate(self) -> LMConfig:
        positive = ("iterations", "prompts_per_iteration", "pairs_per_iteration",
                    "heldout_prompts", "max_new_tokens", "judge_samples", "judge_max_new_tokens",
                    "epochs", "batch_size")
        require_at_least(self, 1, *positive)
        require_at_least(self, 2, "candidates", "heldout_samples")  # pairs need two
        require_positive(self, "temperature", "beta", "learning_rate")
        require_at_least(self, 0, "min_margin", "seed")
        require_model(self)
        require_one_of(self, "device", DEVICE_CHOICES)
        require_one_of(self, "precision", PRECISION_CHOICES)
        require_one_of(self, "judge_mode", JUDGE_MODES)
        arms = list(self.arms)
        distinct_known = bool(arms) and set(arms) <= set(ARMS) and len(set(arms)) == len(arms)
        require(self, ("arms", distinct_known, f"must be distinct names from {', '.join(ARMS)}"),
                ("name", is_lowercase_name(self.name), "use lowercase letters, digits, - and _"),
                ("pairs_per_iteration", self.pairs_per_iteration <= self.prompts_per_iteration,
                 "at most prompts_per_iteration (one pair per prompt)"),
                ("pairs_per_iteration", self.pairs_per_iteration % self.batch_size == 0,
                 f"must be a multiple of batch_size ({self.batch_size}), so that every arm "
                 "takes the same optimizer steps per round"))
        return self

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["arms"] = list(self.arms)
        return out
