"""The pinned environment: requirements.lock, requirements.in and environment.yml agree."""

from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def _pins(lines) -> dict[str, str]:
    pins = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            req = Requirement(line)
            pins[canonicalize_name(req.name)] = str(req.specifier)
    return pins


def _locked() -> dict[str, str]:
    return {name: spec.removeprefix("==") for name, spec in
            _pins((ROOT / "requirements.lock").read_text().splitlines()).items()}


def _conda_pins() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    return {name: spec.removeprefix("==") for name, spec in _pins(pip_section).items()}


def test_every_lock_entry_is_an_exact_pin():
    text = (ROOT / "requirements.lock").read_text().splitlines()
    for name, spec in _pins(text).items():
        assert spec.startswith("==") and "," not in spec, f"{name} is not pinned exactly: {spec}"


def test_torch_is_pinned_to_the_cpu_build_on_disk():
    assert _locked()["torch"] == "2.13.0"


def test_direct_dependencies_are_locked_and_listed_for_conda():
    direct = _pins((ROOT / "requirements.in").read_text().splitlines())
    locked, conda = _locked(), _conda_pins()
    for name, spec in direct.items():
        assert name in locked, f"{name} from requirements.in is missing in requirements.lock"
        assert locked[name] in Requirement(f"{name}{spec}").specifier or not spec
        assert name in conda, f"{name} is missing in environment.yml"


def test_environment_yml_agrees_with_the_lock():
    locked = _locked()
    for name, version in _conda_pins().items():
        assert locked.get(name) == version, (
            f"environment.yml pins {name}=={version}, requirements.lock has {locked.get(name)}"
        )


def test_the_installed_packages_carry_their_bytecode():
    """The nox sessions let Python write the bytecode of what it imports (``noxfile.BYTECODE``):
    where ``PYTHONDONTWRITEBYTECODE`` is set, a missing ``.pyc`` is never written, and every
    process compiles torch from source again."""
    import importlib.util

    import torch
    import transformers

    for module in (torch, transformers):
        compiled = Path(importlib.util.cache_from_source(module.__file__))
        assert compiled.is_file(), f"{module.__name__} has no bytecode: {compiled}"
