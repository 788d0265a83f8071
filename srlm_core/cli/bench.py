"""``srlm bench``: benchmark the simulation engine and write the record ``engine-bench``.

Runs :mod:`srlm_core.experiments.engine_bench` (pair counts against per-sample pairs, batched
seeds against a per-seed loop, seconds per round against n), prints the comparisons side by
side, and writes the record: the workload in its values, the machine-dependent seconds in
``provenance["timings"]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from srlm_core.device import DEVICE_CHOICES

RESULT_ID = "engine-bench"


def register(sub) -> None:
    from srlm_core.experiments import engine_bench
    from srlm_core.options import add_config_arguments

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


def run(args: argparse.Namespace) -> int:
    from srlm_core.experiments import engine_bench as module
    from srlm_core.options import config_from_args
    from srlm_core.publishing import pipeline

    config = config_from_args(module.Config, args)
    command = pipeline.regenerating_command(("srlm", "bench"), config, args.id, RESULT_ID)
    record = pipeline.run_experiment(module, config, args.id, command,
                                     results_dir=args.results_dir, write=not args.no_record)
    print(module.table(record.values, record.provenance["timings"])
          .to_string(index=False, float_format="%.4g", na_rep="-"))
    return 0
