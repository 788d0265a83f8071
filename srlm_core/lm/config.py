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

#: fixed: reference = M0 (S1); moving: reference = pi_t (Yuan et al.); single_step: all
#: T x P pairs judged by M0, one round; oracle: pairs ranked by the ground-truth checker.
ARMS = ("fixed", "moving", "single_step", "oracle")


@dataclass(frozen=True)
class LMConfig:
    name: str = "lm-small"
    model: str = "smollm2-135m-instruct"
    device: str = "cpu"
    seed: int = 0
    arms: tuple = ("fixed", "moving", "single_step", "oracle")
    iterations: int = 2
    prompts_per_iteration: int = 8
    pairs_per_iteration: int = 4
    candidates: int = 4
    heldout_prompts: int = 12
    heldout_samples: int = 4
    max_new_tokens: int = 40
    #: CPU arithmetic: float32, bf16 autocast, or auto (bf16 only where the CPU has it
    #: natively; :func:`srlm_core.device.resolve_precision`).
    precision: str = "float32"
    temperature: float = 0.7
    judge_mode: str = "logits"
    judge_samples: int = 3
    judge_max_new_tokens: int = 96
    min_margin: float = 0.1
    beta: float = 0.1
    learning_rate: float = 5e-6
    epochs: int = 2
    batch_size: int = 4
    prompts_file: str = "data/lm/prompts.json"
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
