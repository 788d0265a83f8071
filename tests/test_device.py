"""The CPU's arithmetic: float32 unless bf16 is asked for, or ``auto`` finds it native."""

from pathlib import Path

import pytest
import torch

from srlm_core import device
from srlm_core.errors import ConfigError

CPU = torch.device("cpu")


@pytest.mark.parametrize(("name", "native", "used"), [
    ("float32", True, "float32"), ("bf16", False, "bf16"),
    ("auto", True, "bf16"), ("auto", False, "float32"),
])
def test_resolve_precision_on_the_cpu(name, native, used, monkeypatch):
    monkeypatch.setattr(device, "native_bf16", lambda: native)
    assert device.resolve_precision(name, CPU) == used


def test_a_gpu_always_computes_in_bf16():
    assert device.resolve_precision("float32", torch.device("cuda")) == "bf16"


def test_a_bad_precision_names_the_option():
    with pytest.raises(ConfigError) as err:
        device.resolve_precision("half", CPU)
    assert err.value.field == "precision"


@pytest.mark.skipif(not Path("/proc/cpuinfo").is_file(), reason="needs Linux's /proc/cpuinfo")
def test_native_bf16_agrees_with_the_cpu_flags():
    flags = {word for line in Path("/proc/cpuinfo").read_text().splitlines()
             if line.startswith("flags") for word in line.split()}
    assert device.native_bf16() == bool({"avx512_bf16", "amx_bf16"} & flags)
