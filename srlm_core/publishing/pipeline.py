"""The one path from an experiment to its result record.

:func:`record` runs a computation and writes its record: it times it, takes the git state
when it begins and the provenance when it ends, moves a ``timings`` entry of the values
(machine-dependent seconds, as a benchmark returns them) to the provenance so that
re-verification compares the rest, and writes atomically
(:func:`~srlm_core.publishing.results.write_record`).  Under a launcher (``torchrun``) every
rank computes and rank 0 alone writes, once all have finished (:mod:`srlm_core.parallel`).

:func:`run_experiment` does it for an experiment module (:mod:`srlm_core.experiments`): the
module gives the title, the tolerance, the code and any extra provenance, the config the
parameters, and a resumable experiment (``run(config, workdir)``) gets a work folder keyed
by its config and by the package's source (:func:`work_folder`), so that the same command
resumes an interrupted run while a run after a code change starts afresh.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import shlex
import time
from pathlib import Path

from srlm_core.options import command_options, flat_dict, supports
from srlm_core.publishing.provenance import REPO_ROOT
from srlm_core.publishing.results import RESULTS_DIR, ResultRecord, write_record


def record(compute, *, result_id: str, title: str, command: str, params: dict,
           device="cpu", tolerance: dict | None = None, code=(), extra_provenance=None,
           results_dir: Path | None = None, write: bool = True) -> ResultRecord | None:
    """Run ``compute()`` and make its values the record ``result_id``;
    ``extra_provenance()`` (called after the run) adds entries to the provenance.  Written to
    ``results_dir`` (default data/results) unless ``write`` is false; returns the record (None
    on ranks other than 0)."""
    from srlm_core import parallel
    from srlm_core.publishing import provenance

    began = provenance.git_state()
    start = time.perf_counter()
    values = dict(compute())
    wall = time.perf_counter() - start
    parallel.barrier()
    if not parallel.is_main():
        return None
    timings = values.pop("timings", None)
    extra = extra_provenance() if extra_provenance is not None else {}
    if timings is not None:
        extra["timings"] = timings
    if parallel.world_size() > 1:
        extra["processes"] = parallel.world_size()
    out = ResultRecord(id=result_id, title=title, command=command, params=params,
                       values=values, code=list(code), provenance={
                           **provenance.collect(device, wall_time_s=wall, since=began), **extra})
    if tolerance is not None:
        out.tolerance = dict(tolerance)
    if write:
        path = write_record(out, results_dir or RESULTS_DIR)
        print(f"wrote {path} ({wall:.1f} s)")
    return out


def experiment_name(module) -> str:
    """The name of an experiment module on the command line (dashes for underscores)."""
    return module.__name__.rsplit(".", 1)[1].replace("_", "-")


def title(module, config) -> str:
    """The record's title: ``module.title(config)``, else ``module.TITLE``, else the first
    line of the module's docstring."""
    if hasattr(module, "title"):
        return module.title(config)
    return getattr(module, "TITLE", None) or module.__doc__.strip().splitlines()[0]


def parameters(config) -> dict:
    """The record's parameters: ``config.to_dict()`` where the config defines it, else its
    fields (a nested config's fields in its place)."""
    return config.to_dict() if hasattr(config, "to_dict") else flat_dict(config)


def code(module) -> list[str]:
    """The repository paths of the code behind the record: the module's file, then
    ``module.CODE``."""
    own = [module.__name__.replace(".", "/") + ".py"] if getattr(module, "__file__", None) else []
    return own + list(getattr(module, "CODE", ()))


def default_id(module, config) -> str:
    """The record's ID unless another is asked for: the config's ``name`` where it has one,
    else the experiment's name."""
    return getattr(config, "name", None) or experiment_name(module)


def _shown(path: Path) -> str:
    try:
        return Path(path).resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(path)


def command_line(module, config, result_id: str, config_file: Path | None = None) -> str:
    """The command that recomputes the record: ``srlm run NAME`` with every option of
    ``config`` spelled out, ``--config FILE`` first where a field without an option came
    from that file, and ``--id`` where the ID is not :func:`default_id`."""
    words = ["srlm", "run", experiment_name(module)]
    if config_file is not None and not supports(type(config)):
        words += ["--config", _shown(config_file)]
    words += command_options(config)
    if result_id != default_id(module, config):
        words += ["--id", result_id]
    return shlex.join(words)


def is_resumable(module) -> bool:
    """Whether the experiment's ``run`` takes a work folder (and resumes from it)."""
    return "workdir" in inspect.signature(module.run).parameters


def work_folder(config, result_id: str) -> Path:
    """A work folder keyed by the config and by the package's source code, so that a rerun
    after a code change (``srlm results verify`` on a new commit) starts afresh instead of
    resuming checkpoints the old code wrote."""
    from srlm_core.cache import cache_dir
    from srlm_core.publishing import provenance

    digest = hashlib.sha256(json.dumps(parameters(config), sort_keys=True).encode())
    for path in sorted((provenance.REPO_ROOT / "srlm_core").rglob("*.py")):
        digest.update(path.read_bytes())
    return cache_dir() / "runs" / f"{result_id}-{digest.hexdigest()[:10]}"


def run_experiment(module, config, result_id: str | None = None, *,
                   config_file: Path | None = None, results_dir: Path | None = None,
                   workdir: Path | None = None, write: bool = True) -> ResultRecord | None:
    """Validate ``config``, run the experiment ``module`` with it (a resumable one in
    ``workdir``, default :func:`work_folder`) and make its values the record ``result_id``
    (default :func:`default_id`) with the command that recomputes it (:func:`command_line`;
    ``config_file``: the TOML file the config was read from)."""
    from srlm_core import parallel
    from srlm_core.device import resolve_device

    config = config.validate() if hasattr(config, "validate") else config
    result_id = result_id or default_id(module, config)

    def compute():
        if not is_resumable(module):
            return module.run(config)
        folder = Path(workdir) if workdir is not None else work_folder(config, result_id)
        if parallel.is_main():
            print(f"work folder: {folder}", flush=True)
        return module.run(config, workdir=folder)

    hook = getattr(module, "provenance", None)
    return record(compute, result_id=result_id, title=title(module, config),
                  command=command_line(module, config, result_id, config_file),
                  params=parameters(config),
                  device=resolve_device(getattr(config, "device", "cpu")),
                  tolerance=getattr(module, "TOLERANCE", None), code=code(module),
                  extra_provenance=None if hook is None else lambda: hook(config),
                  results_dir=results_dir, write=write)
