"""``srlm lm run --config FILE``: self-rewarding on a real language model (SmolLM2-135M).

Runs (or resumes) every arm of the config in a work folder, then writes the result record
``data/results/<name>.json`` with the config, seeds, package versions, hardware and git
commit.  torch, transformers and trl are imported inside the handler."""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import shlex
import time
from pathlib import Path

from srlm_core.device import DEVICE_CHOICES


def register(sub) -> None:
    parser = sub.add_parser("lm", help="self-rewarding on a real language model (SmolLM2-135M)")
    actions = parser.add_subparsers(dest="lm_action", required=True, metavar="ACTION")
    run_parser = actions.add_parser(
        "run", help="run or resume a configured experiment and store its result record",
        description="Generate, self-judge, pair and train with DPO for every arm of the config "
        "(data/lm/configs/*.toml); rerunning the same command resumes an interrupted run.",
    )
    run_parser.add_argument("--config", required=True, type=Path, help="TOML config file")
    run_parser.add_argument("--device", choices=DEVICE_CHOICES, default=None,
                            help="override the config's device (auto: a GPU when present)")
    run_parser.add_argument("--workdir", type=Path, default=None,
                            help="checkpoint folder (default: $SRLM_CACHE_DIR/runs/<name>-<hash>)")
    run_parser.add_argument("--results-dir", type=Path, default=None,
                            help="where to write the record (default data/results)")
    run_parser.set_defaults(handler=run)

    from srlm_core.cli.options import add_config_arguments
    from srlm_core.lm.pool import TITLE, PoolConfig

    pool_parser = actions.add_parser(
        "pool", help="sample, select and edit the controlled-alpha response pool",
        description=TITLE + ". Writes the result record lm-pool (or --id).",
    )
    add_config_arguments(pool_parser, PoolConfig, device=DEVICE_CHOICES)
    pool_parser.add_argument("--id", default="lm-pool", help="result ID (default lm-pool)")
    pool_parser.add_argument("--results-dir", type=Path, default=None,
                             help="where to write the record (default data/results)")
    pool_parser.set_defaults(handler=pool)


def default_workdir(config) -> Path:
    from srlm_core.lm.model_loading import cache_dir

    digest = hashlib.sha256(json.dumps(config.to_dict(), sort_keys=True).encode()).hexdigest()
    return cache_dir() / "runs" / f"{config.name}-{digest[:10]}"


def run(args: argparse.Namespace) -> int:
    from srlm_core.lm.model_loading import set_offline

    set_offline()  # before transformers is imported
    from srlm_core import provenance
    from srlm_core.lm.config import load_config
    from srlm_core.results import RESULTS_DIR, ResultRecord, write_record

    config = load_config(args.config, device=args.device)
    from srlm_core.lm.loop import LMRunner

    workdir = args.workdir or default_workdir(config)
    runner = LMRunner(config, workdir)
    print(f"work folder: {workdir}", flush=True)
    start = time.perf_counter()
    values = runner.run()
    wall = time.perf_counter() - start
    try:
        shown = args.config.resolve().relative_to(provenance.REPO_ROOT)
    except ValueError:
        shown = args.config
    command = ["srlm", "lm", "run", "--config", str(shown)]
    if args.device:
        command += ["--device", args.device]
    record = ResultRecord(
        id=config.name,
        title=f"Self-rewarding {config.model} ({config.name}): arms {', '.join(config.arms)}",
        command=shlex.join(command),
        params=config.to_dict(),
        values=values,
        tolerance={"rtol": 0.05, "atol": 0.05},
        provenance=provenance.collect(str(runner.device), wall_time_s=wall),
    )
    path = write_record(record, args.results_dir or RESULTS_DIR)
    print(f"wrote {path} ({wall:.1f} s)")
    return 0


def pool(args: argparse.Namespace) -> int:
    from srlm_core.lm.model_loading import set_offline

    set_offline()
    from srlm_core import provenance
    from srlm_core.cli.options import config_from_args
    from srlm_core.cli.sweep import regenerating_command
    from srlm_core.device import resolve_device
    from srlm_core.lm.pool import TITLE, TOLERANCE, PoolConfig, build_pool
    from srlm_core.results import RESULTS_DIR, ResultRecord, write_record

    config = config_from_args(PoolConfig, args).validate()
    device = resolve_device(config.device)
    start = time.perf_counter()
    values = build_pool(config)
    wall = time.perf_counter() - start
    record = ResultRecord(
        id=args.id, title=TITLE,
        command=regenerating_command("pool", config, args.id, prefix=("srlm", "lm")),
        params=dataclasses.asdict(config), values=values, tolerance=dict(TOLERANCE),
        provenance=provenance.collect(str(device), wall_time_s=wall),
        code=["srlm_core/lm/pool.py", "srlm_core/lm/edits.py"],
    )
    path = write_record(record, args.results_dir or RESULTS_DIR)
    print(f"wrote {path} ({wall:.1f} s)")
    return 0
