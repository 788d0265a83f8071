"""``srlm bench``: benchmark the simulation engine and write the record ``engine-bench``.

Runs :mod:`srlm_core.experiments.engine_bench` (pair counts against per-sample pairs, batched
seeds against a per-seed loop, seconds per round against n), prints the comparisons side by
side, and writes the record: the workload in its values, the machine-dependent seconds in
``provenance["timings"]``."""

from __future__ import annotations

import argparse
import shlex
import time
from pathlib import Path

from srlm_core.device import DEVICE_CHOICES

RESULT_ID = "engine-bench"


def register(sub) -> None:
    from srlm_core.cli.options import add_config_arguments
    from srlm_core.experiments import engine_bench

    parser = sub.add_parser(
        "bench", help="benchmark the simulation engine (counts vs samples, batched vs loop)",
        description=f"{engine_bench.TITLE}.  Prints the comparisons and writes the result "
        f"record {RESULT_ID} (or --id).")
    add_config_arguments(parser, engine_bench.Config, device=DEVICE_CHOICES)
    parser.add_argument("--id", default=RESULT_ID, help=f"result ID (default {RESULT_ID})")
    parser.add_argument("--results-dir", type=Path, default=None,
                        help="where to write the record (default data/results)")
    parser.add_argument("--no-record", action="store_true", help="print only, write nothing")
    parser.set_defaults(handler=run)


def command_line(config, result_id: str) -> str:
    """The exact command that regenerates the record (every option spelled out)."""
    from srlm_core.cli.sweep import regenerating_command

    words = shlex.split(regenerating_command("bench", config, "bench", prefix=("srlm",)))
    if result_id != RESULT_ID:
        words += ["--id", result_id]
    return shlex.join(words)


def run(args: argparse.Namespace) -> int:
    from srlm_core.cli.options import config_from_args
    from srlm_core.cli.sweep import experiment_record
    from srlm_core.experiments import engine_bench as module
    from srlm_core.publishing import provenance
    from srlm_core.publishing.results import RESULTS_DIR, write_record

    config = config_from_args(module.Config, args).validate()
    began = provenance.git_state()
    start = time.perf_counter()
    values = module.run(config)
    wall = time.perf_counter() - start
    print(module.table(values).to_string(index=False, float_format="%.4g", na_rep="-"))
    if args.no_record:
        return 0
    record = experiment_record(module, config, values, args.id, wall, began)
    record.command = command_line(config, args.id)
    record.code = ["srlm_core/experiments/engine_bench.py", "srlm_core/model/pair_counts.py",
                   "srlm_core/model/self_rewarding.py"]
    path = write_record(record, args.results_dir or RESULTS_DIR)
    print(f"wrote {path} ({wall:.1f} s)")
    return 0
