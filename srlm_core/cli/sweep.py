"""``srlm sweep NAME``: run a registered sweep and write its result record."""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import time
from pathlib import Path

from srlm_core.experiments import SWEEPS, load_sweep


def register(sub) -> None:
    from srlm_core.cli.options import add_config_arguments

    parser = sub.add_parser("sweep", help="run a heavy sweep and store it in data/results/")
    kinds = parser.add_subparsers(dest="sweep", required=True, metavar="NAME")
    for name in SWEEPS:
        module = load_sweep(name)
        sweep_parser = kinds.add_parser(name.replace("_", "-"), help=module.TITLE)
        add_config_arguments(sweep_parser, module.Config)
        sweep_parser.add_argument("--id", default=name.replace("_", "-"), help="result ID")
        sweep_parser.add_argument(
            "--results-dir", type=Path, default=None, help="where to write (default data/results)"
        )
        sweep_parser.set_defaults(handler=run, module=module)


def regenerating_command(name: str, config, result_id: str, prefix=("srlm", "sweep")) -> str:
    """The exact command line that recomputes the record (every option spelled out)."""
    from srlm_core.cli.options import format_value

    parts = [*prefix, name.replace("_", "-")]
    for field in dataclasses.fields(config):
        parts += ["--" + field.name.replace("_", "-"), format_value(getattr(config, field.name))]
    if result_id != name.replace("_", "-"):
        parts += ["--id", result_id]
    return shlex.join(parts)


def experiment_record(module, config, values, result_id: str, wall: float, began=None,
                      prefix=("srlm", "sweep")):
    """The result record of ``module.run(config)``: its values, parameters, regenerating
    command, tolerance (``module.TOLERANCE`` or the registry's default) and provenance.  A
    ``timings`` entry of the values (machine-dependent seconds, as a benchmark returns them)
    goes to ``provenance["timings"]`` instead, so that re-verification compares the rest."""
    from srlm_core.device import resolve_device
    from srlm_core.publishing import provenance
    from srlm_core.publishing.results import ResultRecord

    values = dict(values)
    timings = values.pop("timings", None)
    name = module.__name__.rsplit(".", 1)[1]
    record = ResultRecord(
        id=result_id,
        title=getattr(module, "TITLE", None) or module.__doc__.strip().splitlines()[0],
        command=regenerating_command(name, config, result_id, prefix),
        params=dataclasses.asdict(config),
        values=values,
        provenance=provenance.collect(
            resolve_device(getattr(config, "device", "cpu")), wall_time_s=wall, since=began
        ),
    )
    if hasattr(module, "TOLERANCE"):
        record.tolerance = dict(module.TOLERANCE)
    if timings is not None:
        record.provenance["timings"] = timings
    return record


def run_and_write(module, config, result_id: str, results_dir: Path | None, prefix) -> int:
    """Run ``module`` with ``config`` and write its record (``data/results`` by default)."""
    from srlm_core.publishing import provenance
    from srlm_core.publishing.results import RESULTS_DIR, write_record

    config = config.validate() if hasattr(config, "validate") else config
    began = provenance.git_state()
    start = time.perf_counter()
    values = module.run(config)
    wall = time.perf_counter() - start
    record = experiment_record(module, config, values, result_id, wall, began, prefix)
    path = write_record(record, results_dir or RESULTS_DIR)
    print(f"wrote {path} ({wall:.1f} s)")
    return 0


def run(args: argparse.Namespace) -> int:
    from srlm_core.cli.options import config_from_args

    config = config_from_args(args.module.Config, args)
    return run_and_write(args.module, config, args.id, args.results_dir, ("srlm", "sweep"))
