"""Configuration of a language-model self-rewarding run, read from a TOML file.

Every key is a field of :class:`LMConfig`; an unknown key, a value of the wrong type or an
impossible value raises :class:`~srlm_core.errors.ConfigError` naming the key, before any
model is loaded.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from srlm_core.device import DEVICE_CHOICES, PRECISION_CHOICES
from srlm_core.errors import (
    ConfigError,
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


def _check_type(name: str, value, default):
    """``value`` converted to the type of ``default`` (int widens to float; a list of strings
    or of tables becomes a tuple of strings or of the default's dataclass), or ConfigError."""
    expected = type(default)
    if expected is tuple and default and dataclasses.is_dataclass(default[0]):
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise ConfigError(name, f"expected a list of tables ([[{name}]]), got {value!r}")
        kind = type(default[0])
        return tuple(from_mapping(kind, v, prefix=f"{name}[{i}].") for i, v in enumerate(value))
    if expected is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(name, f"expected a list of strings, got {value!r}")
        return tuple(value)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, bool) != (expected is bool) or not isinstance(value, expected):
        raise ConfigError(name, f"expected {expected.__name__}, got {type(value).__name__} "
                                f"{value!r}")
    return value


def from_mapping(cls, data: dict, prefix: str = ""):
    """An instance of the dataclass ``cls`` from a TOML table: unknown keys and wrong types
    raise ConfigError naming the key (``prefix`` + key), then ``validate()`` runs if defined."""
    defaults = cls()
    known = {f.name for f in dataclasses.fields(cls) if f.name != "extra"}
    values = {}
    for key, value in data.items():
        if key not in known:
            raise ConfigError(prefix + key, f"unknown key (known: {', '.join(sorted(known))})")
        values[key] = _check_type(prefix + key, value, getattr(defaults, key))
    out = cls(**values)
    if not hasattr(out, "validate"):
        return out
    try:
        return out.validate()
    except ConfigError as err:
        if prefix and not err.field.startswith(prefix):
            raise ConfigError(prefix + err.field, str(err).split(": ", 1)[1]) from None
        raise


def config_from_dict(data: dict) -> LMConfig:
    return from_mapping(LMConfig, data)


def load_config(path: Path | str, cls=LMConfig, **overrides):
    """Read, type-check and validate a TOML config of the dataclass ``cls`` (default
    :class:`LMConfig`); ``overrides`` (e.g. device, model) win, and an error in one of them
    names that option instead of the file."""
    path = Path(path)
    if not path.exists():
        raise ConfigError("config", f"no such file: {path}")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ConfigError("config", f"{path} is not valid TOML ({err})") from None
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return from_mapping(cls, data)
    except ConfigError as err:
        if overrides.get(err.field) is not None:
            raise  # the option given on the command line is at fault (--model, --device)
        message = str(err).split(": ", 1)[1]
        raise ConfigError("config", f"{path}: key '{err.field}': {message}") from None
