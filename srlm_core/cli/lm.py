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

    alpha_parser = actions.add_parser(
        "alpha", help="controlled signal share: the contraction tested on the response pool",
        description="Train every arm of a controlled-alpha config (data/lm/configs/alpha*.toml) "
        "on the response pool and write the record <name>.json; rerunning the same command "
        "resumes an interrupted run.",
    )
    alpha_parser.add_argument("--config", required=True, type=Path, help="TOML config file")
    alpha_parser.add_argument("--device", choices=DEVICE_CHOICES, default=None,
                              help="override the config's device (auto: a GPU when present)")
    alpha_parser.add_argument("--workdir", type=Path, default=None,
                              help="checkpoint folder (default: under $SRLM_CACHE_DIR/runs)")
    alpha_parser.add_argument("--results-dir", type=Path, default=None,
                              help="where to write the record (default data/results)")
    alpha_parser.set_defaults(handler=alpha)

    from srlm_core.lm.train_bench import TITLE as BENCH_TITLE
    from srlm_core.lm.train_bench import BenchConfig

    bench_parser = actions.add_parser(
        "bench", help="seconds per epoch: fast training path vs TRL full fine-tuning",
        description=BENCH_TITLE + ". Writes the record lm-train-bench (or --id).",
    )
    add_config_arguments(bench_parser, BenchConfig, device=DEVICE_CHOICES)
    bench_parser.add_argument("--id", default="lm-train-bench", help="result ID")
    bench_parser.add_argument("--results-dir", type=Path, default=None,
                              help="where to write the record (default data/results)")
    bench_parser.set_defaults(handler=bench)


def default_workdir(config) -> Path:
    """A checkpoint folder keyed by the config and by the package's source code, so that a
    rerun after a code change (``srlm results verify`` on a new commit) starts afresh instead
    of resuming checkpoints the old code wrote."""
    from srlm_core.lm.model_loading import cache_dir
    from srlm_core.provenance import REPO_ROOT

    digest = hashlib.sha256(json.dumps(config.to_dict(), sort_keys=True).encode())
    for path in sorted((REPO_ROOT / "srlm_core").rglob("*.py")):
        digest.update(path.read_bytes())
    return cache_dir() / "runs" / f"{config.name}-{digest.hexdigest()[:10]}"


def _shown(path: Path) -> str:
    from srlm_core.provenance import REPO_ROOT

    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


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
    began = provenance.git_state()
    start = time.perf_counter()
    values = runner.run()
    wall = time.perf_counter() - start
    command = ["srlm", "lm", "run", "--config", _shown(args.config)]
    if args.device:
        command += ["--device", args.device]
    record = ResultRecord(
        id=config.name,
        title=f"Self-rewarding {config.model} ({config.name}): arms {', '.join(config.arms)}",
        command=shlex.join(command),
        params=config.to_dict(),
        values=values,
        tolerance={"rtol": 0.05, "atol": 0.05},
        provenance=provenance.collect(str(runner.device), wall_time_s=wall, since=began),
    )
    path = write_record(record, args.results_dir or RESULTS_DIR)
    print(f"wrote {path} ({wall:.1f} s)")
    return 0


def _option_record(args, action: str, module, config_cls, compute, code) -> int:
    """Run ``compute(config)`` for a config given as options and write its record."""
    from srlm_core.lm.model_loading import set_offline

    set_offline()
    from srlm_core import provenance
    from srlm_core.cli.options import config_from_args
    from srlm_core.cli.sweep import regenerating_command
    from srlm_core.device import resolve_device
    from srlm_core.results import RESULTS_DIR, ResultRecord, write_record

    config = config_from_args(config_cls, args).validate()
    device = resolve_device(config.device)
    began = provenance.git_state()
    start = time.perf_counter()
    values = compute(config)
    wall = time.perf_counter() - start
    record = ResultRecord(
        id=args.id, title=module.TITLE,
        command=regenerating_command(action, config, args.id, prefix=("srlm", "lm")),
        params=dataclasses.asdict(config), values=values, tolerance=dict(module.TOLERANCE),
        provenance=provenance.collect(str(device), wall_time_s=wall, since=began), code=code,
    )
    path = write_record(record, args.results_dir or RESULTS_DIR)
    print(f"wrote {path} ({wall:.1f} s)")
    return 0


def pool(args: argparse.Namespace) -> int:
    from srlm_core.lm import pool as module

    return _option_record(args, "pool", module, module.PoolConfig, module.build_pool,
                          ["srlm_core/lm/pool.py", "srlm_core/lm/edits.py"])


def bench(args: argparse.Namespace) -> int:
    from srlm_core.lm import train_bench as module

    return _option_record(args, "bench", module, module.BenchConfig, module.benchmark,
                          ["srlm_core/lm/train_bench.py", "srlm_core/lm/top_blocks.py"])


def alpha(args: argparse.Namespace) -> int:
    from srlm_core.lm.model_loading import set_offline

    set_offline()
    from srlm_core import provenance
    from srlm_core.experiments import controlled_alpha as experiment
    from srlm_core.results import RESULTS_DIR, ResultRecord, write_record

    config = experiment.load(args.config, device=args.device)
    workdir = args.workdir or default_workdir(config)
    runner = experiment.ControlledAlphaRunner(config, workdir)
    print(f"work folder: {workdir}", flush=True)
    began = provenance.git_state()
    start = time.perf_counter()
    values = runner.run()
    wall = time.perf_counter() - start
    command = ["srlm", "lm", "alpha", "--config", _shown(args.config)]
    if args.device:
        command += ["--device", args.device]
    record = ResultRecord(
        id=config.name, title=experiment.TITLE, command=shlex.join(command),
        params=config.to_dict(), values=values, tolerance=dict(experiment.TOLERANCE),
        provenance={**provenance.collect(str(runner.device), wall_time_s=wall, since=began),
                    "stage_seconds": runner.seconds},
        code=["srlm_core/experiments/controlled_alpha.py", "srlm_core/lm/top_blocks.py",
              "srlm_core/lm/soft_dpo.py", "srlm_core/lm/controlled_judge.py"],
    )
    path = write_record(record, args.results_dir or RESULTS_DIR)
    print(f"wrote {path} ({wall:.1f} s)")
    return 0
