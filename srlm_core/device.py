"""Choosing the torch device: ``auto`` takes a GPU when one is present; under ``torchrun`` or
``accelerate launch`` each process takes its own GPU (:mod:`srlm_core.lm.parallel`)."""

import torch

from srlm_core.errors import ConfigError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str) -> torch.device:
    """Map ``auto``/``cpu``/``cuda`` to a torch device; ``cuda`` without a GPU is an error."""
    if name not in DEVICE_CHOICES:
        raise ConfigError("device", f"must be one of {', '.join(DEVICE_CHOICES)}, got {name!r}")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device", "cuda was requested but no GPU is available")
    from srlm_core.lm import parallel

    launch = parallel.state(cpu=name == "cpu")
    if launch is not None and name == "cuda":
        return launch.device  # this process's GPU
    return torch.device(name)
