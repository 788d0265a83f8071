"""Choosing the torch device and the CPU's arithmetic.

Device: ``auto`` takes a GPU when one is present; under ``torchrun`` or ``accelerate launch``
each process takes its own GPU (:mod:`srlm_core.parallel`).  Precision on the CPU:
``float32`` (the default), ``bf16`` (bfloat16 autocast) or ``auto``, which takes bf16 only
where the CPU computes it natively (AVX512-BF16 or AMX): elsewhere bf16 autocast emulates it
and a matmul runs many times slower than in float32."""

import torch

from srlm_core.errors import ConfigError

DEVICE_CHOICES = ("auto", "cpu", "cuda")
PRECISION_CHOICES = ("float32", "auto", "bf16")


def resolve_device(name: str) -> torch.device:
    """Map ``auto``/``cpu``/``cuda`` to a torch device; ``cuda`` without a GPU is an error."""
    if name not in DEVICE_CHOICES:
        raise ConfigError("device", f"must be one of {', '.join(DEVICE_CHOICES)}, got {name!r}")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device", "cuda was requested but no GPU is available")
    from srlm_core import parallel

    launch = parallel.state(cpu=name == "cpu")
    if launch is not None and name == "cuda":
        return launch.device  # this process's GPU
    return torch.device(name)


def native_bf16() -> bool:
    """Whether torch reports native bfloat16 arithmetic on this CPU (AVX512-BF16 or AMX)."""
    return any(getattr(torch.cpu, probe, lambda: False)()
               for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))


def resolve_precision(name: str, device: torch.device) -> str:
    """The arithmetic a run uses, ``float32`` or ``bf16``: on a GPU always bf16 (the weights
    are bfloat16); on the CPU ``name``, with ``auto`` meaning bf16 only if :func:`native_bf16`."""
    if name not in PRECISION_CHOICES:
        raise ConfigError("precision",
                          f"must be one of {', '.join(PRECISION_CHOICES)}, got {name!r}")
    if device.type == "cuda":
        return "bf16"
    if name == "auto":
        return "bf16" if native_bf16() else "float32"
    return name
