"""Where a result came from: code version, git commit, packages, hardware, time.

:func:`collect` is the ``provenance`` block of every result record
(``srlm_core.publishing.results``);
:func:`environment` is the wider description printed in the book's Reproducibility appendix.
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import platform
import subprocess
from pathlib import Path

import srlm_core

REPO_ROOT = Path(__file__).resolve().parents[2]

#: Packages whose versions are recorded with every result.
RECORDED_PACKAGES = (
    "torch", "numpy", "scipy", "pandas", "sympy", "transformers", "trl", "accelerate",
)
#: Packages that build the book, added to :data:`RECORDED_PACKAGES` in :func:`environment`.
BOOK_PACKAGES = (
    "jupyter-book", "sphinx", "myst-nb", "jupyter-cache", "matplotlib", "seaborn", "ipykernel",
)


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def git_state() -> dict:
    """Commit hash of the checkout and whether tracked files differ from it."""
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"git_commit": commit, "git_dirty": bool(status) if status is not None else None}


def package_versions(names=RECORDED_PACKAGES) -> dict[str, str | None]:
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware(device="cpu") -> dict:
    """CPU model and core count, and the GPU name when the device (a name or a
    ``torch.device``) is a GPU.  torch is imported here, not with the module: every chapter
    imports this module through its glue, and most model-world chapters need no torch."""
    import torch

    info = {"cpu": cpu_model(), "cpu_count": torch.get_num_threads(), "device": str(device)}
    if str(device).startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["cuda"] = torch.version.cuda
    return info


def collect(device="cpu", wall_time_s: float | None = None,
            since: dict | None = None) -> dict:
    """The provenance block stored with every result record.

    ``since``: the :func:`git_state` taken when the run began.  The record names that commit,
    and it is marked dirty when the checkout was dirty then or changed during the run (the
    code that computed it is then not exactly that commit)."""
    state = git_state()
    if since is not None:
        state = {"git_commit": since["git_commit"],
                 "git_dirty": bool(since["git_dirty"]) or state != since}
    return {
        "srlm_core_version": srlm_core.__version__,
        **state,
        "python": platform.python_version(),
        "packages": package_versions(),
        "hardware": hardware(device),
        "wall_time_s": wall_time_s,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }


def environment() -> dict:
    """Python, platform, hardware, git state and the versions of every recorded package."""
    return {
        "srlm_core_version": srlm_core.__version__,
        **git_state(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "hardware": hardware("cpu"),
        "packages": package_versions(RECORDED_PACKAGES + BOOK_PACKAGES),
    }
