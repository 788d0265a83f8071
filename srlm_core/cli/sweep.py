"""``srlm sweep NAME``: run a registered sweep and write its result record."""

from __future__ import annotations

import argparse
from pathlib import Path

from srlm_core.experiments import SWEEPS, load_sweep


def register(sub) -> None:
    from srlm_core.options import add_config_arguments

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


def run(args: argparse.Namespace) -> int:
    from srlm_core.options import config_from_args
    from srlm_core.publishing import pipeline

    name = args.module.__name__.rsplit(".", 1)[1].replace("_", "-")
    config = config_from_args(args.module.Config, args)
    command = pipeline.regenerating_command(("srlm", "sweep", name), config, args.id, name)
    pipeline.run_experiment(args.module, config, args.id, command, results_dir=args.results_dir)
    return 0
