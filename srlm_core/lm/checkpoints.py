"""The work folder of a language-model run: resumable, atomically written checkpoints.

Layout: ``config.json`` (the run's config; a folder holding another config is refused),
``baseline.json`` (pi_0's diagnostics) and per arm ``<arm>/iter_<t>/`` holding the policy
(safetensors) and ``metrics.json``.  An iteration's folder appears whole or not at all (it is
written or copied into ``iter_<t>.tmp<pid>`` and renamed into place), so a rerun skips the
finished iterations and redoes the interrupted one; the temporary folder a killed run left
behind (under its own process id) is removed when that iteration is written again.  Launched
over several processes (:mod:`srlm_core.parallel`), rank 0 alone writes and every rank waits
for it.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from srlm_core import parallel
from srlm_core.errors import ConfigError
from srlm_core.publishing.results import write_json_atomic


class CheckpointStore:
    """Checkpoints of one run in ``workdir``."""

    def __init__(self, workdir: Path | str):
        self.workdir = Path(workdir)

    def claim(self, config: dict) -> None:
        """Create the folder for ``config``, or check that it holds a run of the same config."""
        stored = self.workdir / "config.json"
        if parallel.is_main():
            self.workdir.mkdir(parents=True, exist_ok=True)
            if not stored.exists():
                write_json_atomic(stored, config)
        parallel.barrier()
        if json.loads(stored.read_text()) != config:
            raise ConfigError("workdir", f"{self.workdir} holds a run with another config; "
                              "use a fresh folder")

    def iteration_dir(self, arm: str, t: int) -> Path:
        return self.workdir / arm / f"iter_{t}"

    def done(self, arm: str, t: int) -> bool:
        return (self.iteration_dir(arm, t) / "metrics.json").exists()

    def _temporary(self, final: Path) -> Path:
        """A fresh temporary folder beside ``final``, after removing those of killed runs."""
        for stale in final.parent.glob(final.name + ".tmp*"):
            shutil.rmtree(stale, ignore_errors=True)
        return final.with_name(final.name + f".tmp{os.getpid()}")

    def _publish(self, tmp: Path, final: Path) -> None:
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)

    def save(self, arm: str, t: int, policy, metrics: dict) -> None:
        """Write the policy and its metrics into a temporary folder, then rename it into place."""
        if parallel.is_main():
            final = self.iteration_dir(arm, t)
            tmp = self._temporary(final)
            tmp.mkdir(parents=True)
            policy.save_pretrained(tmp)
            write_json_atomic(tmp / "metrics.json", metrics)
            self._publish(tmp, final)
        parallel.barrier()

    def copy(self, arm: str, t: int, to_arm: str) -> None:
        """Reuse a finished iteration for another arm (identical by construction), copied
        into a temporary folder first: a copy cut short is never taken for a finished one."""
        if parallel.is_main():
            final = self.iteration_dir(to_arm, t)
            tmp = self._temporary(final)
            shutil.copytree(self.iteration_dir(arm, t), tmp)
            self._publish(tmp, final)
        parallel.barrier()

    def metrics(self, arm: str, t: int) -> dict:
        return json.loads((self.iteration_dir(arm, t) / "metrics.json").read_text())

    def baseline(self, compute) -> dict:
        """The stored baseline, or ``compute()`` stored now."""
        path = self.workdir / "baseline.json"
        stored = path.exists()
        parallel.barrier()  # every rank has looked before rank 0 may write
        if stored:
            return json.loads(path.read_text())
        baseline = compute()
        if parallel.is_main():
            write_json_atomic(path, baseline)
        parallel.barrier()
        return baseline
