"""``srlm lm ACTION``: the language-model experiments (SmolLM2-135M-Instruct).

* ``run --config FILE``: the self-rewarding loop of chapter 6 (resumable);
* ``pool``: the controlled-alpha response pool (record ``lm-pool``);
* ``alpha --config FILE``: the controlled-alpha experiment of chapter 7 (resumable);
* ``bench``: seconds per training epoch, fast path against TRL full fine-tuning;
* ``likelihood``: the paper's own loop (self-reward log pi_t, squared loss against pi_t) on
  short-answer prompts (resumable; options are the config's fields).

Each writes a result record ``data/results/<id>.json`` with its parameters, the command that
regenerates it, and the provenance.  ``run`` and ``alpha`` also run data-parallel, unchanged,
under ``torchrun --nproc-per-node N -m srlm_core.cli lm ...`` (or ``accelerate launch -m
srlm_core.cli lm ...``): rank 0 alone prints and writes the record
(:mod:`srlm_core.parallel`).  torch, transformers and trl are imported inside the
handlers, so ``srlm --help`` stays fast."""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import shlex
import time
from pathlib import Path

from srlm_core.device import DEVICE_CHOICES


def _config_file_action(actions, name: str, help: str, description: str, handler) -> None:
    """An action that reads a TOML config and resumes from a work folder."""
    parser = actions.add_parser(name, help=help, description=description)
    parser.add_argument("--config", required=True, type=Path, help="TOML config file")
    parser.add_argument("--device", choices=DEVICE_CHOICES, default=None,
                        help="override the config's device (auto: a GPU when present)")
    parser.add_argument("--model", default=None,
                        help="override the config's model: smollm2-135m-instruct, tiny-random "
                             "or a local Hugging Face checkpoint folder (config.json, "
                             "safetensors weights, tokenizer with a chat template)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="checkpoint folder (default: under $SRLM_CACHE_DIR/runs)")
    parser.add_argument("--results-dir", type=Path, default=None,
                        help="where to write the record (default data/results)")
    parser.set_defaults(handler=handler)


def _options_action(actions, name: str, help: str, module, config_cls, default_id: str,
                    handler) -> None:
    """An action whose config dataclass fields are command-line options."""
    from srlm_core.cli.options import add_config_arguments

    parser = actions.add_parser(name, help=help, description=f"{module.TITLE}. Writes the "
                                f"result record {default_id} (or --id).")
    add_config_arguments(parser, config_cls, device=DEVICE_CHOICES)
    parser.add_argument("--id", default=default_id, help=f"result ID (default {default_id})")
    parser.add_argument("--results-dir", type=Path, default=None,
                        help="where to write the record (default data/results)")
    parser.set_defaults(handler=handler)


def register(sub) -> None:
    from srlm_core.lm import pool as pool_module
    from srlm_core.lm import train_bench

    parser = sub.add_parser("lm", help="self-rewarding on a real language model (SmolLM2-135M)")
    actions = parser.add_subparsers(dest="lm_action", required=True, metavar="ACTION")
    _config_file_action(
        actions, "run", "run or resume a configured experiment and store its result record",
        "Generate, self-judge, pair and train with DPO for every arm of the config "
        "(data/lm/configs/*.toml); rerunning the same command resumes an interrupted run.", run)
    _options_action(actions, "pool", "sample, select and edit the controlled-alpha response "
                    "pool", pool_module, pool_module.PoolConfig, "lm-pool", pool)
    _config_file_action(
        actions, "alpha", "controlled signal share: the contraction tested on the response pool",
        "Train every arm of a controlled-alpha config (data/lm/configs/alpha*.toml) on the "
        "response pool and write the record <name>.json; rerunning the same command resumes "
        "an interrupted run.", alpha)
    _options_action(actions, "bench", "seconds per epoch: fast training path vs TRL full "
                    "fine-tuning", train_bench, train_bench.BenchConfig, "lm-train-bench", bench)
    from srlm_core.experiments import likelihood_self_reward

    _options_action(actions, "likelihood", "the paper's loop: self-reward log pi_t on "
                    "short-answer prompts, kappa-hat per round (resumable)",
                    likelihood_self_reward, likelihood_self_reward.Config, "lm-likelihood",
                    likelihood)


def default_workdir(config) -> Path:
    """A checkpoint folder keyed by the config and by the package's source code, so that a
    rerun after a code change (``srlm results verify`` on a new commit) starts afresh instead
    of resuming checkpoints the old code wrote."""
    from srlm_core.lm.model_loading import cache_dir
    from srlm_core.publishing.provenance import REPO_ROOT

    digest = hashlib.sha256(json.dumps(config.to_dict(), sort_keys=True).encode())
    for path in sorted((REPO_ROOT / "srlm_core").rglob("*.py")):
        digest.update(path.read_bytes())
    return cache_dir() / "runs" / f"{config.name}-{digest.hexdigest()[:10]}"


def _shown(path: Path) -> str:
    from srlm_core.publishing.provenance import REPO_ROOT

    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def model_identity(name: str) -> dict:
    """The model's identity for a record's provenance
    (:func:`srlm_core.lm.model_loading.model_identity`)."""
    from srlm_core.lm.model_loading import model_identity as identity

    return identity(name)


def _timed_record(args, device, compute, **fields) -> int:
    """Run ``compute()``, then write the record made of ``fields`` with the values, the wall
    time and the provenance (git state taken when the run began); under a launcher, on rank 0
    only, once every rank has finished."""
    from srlm_core import parallel
    from srlm_core.publishing import provenance
    from srlm_core.publishing.results import RESULTS_DIR, ResultRecord, write_record

    began = provenance.git_state()
    start = time.perf_counter()
    values = compute()
    wall = time.perf_counter() - start
    parallel.barrier()
    if not parallel.is_main():
        return 0
    extra = fields.pop("extra_provenance", lambda: {})()
    if parallel.world_size() > 1:
        extra["processes"] = parallel.world_size()
    record = ResultRecord(values=values, provenance={
        **provenance.collect(str(device), wall_time_s=wall, since=began), **extra}, **fields)
    path = write_record(record, args.results_dir or RESULTS_DIR)
    print(f"wrote {path} ({wall:.1f} s)")
    return 0


def _file_command(action: str, args) -> str:
    command = ["srlm", "lm", action, "--config", _shown(args.config)]
    if args.device:
        command += ["--device", args.device]
    if getattr(args, "model", None):
        command += ["--model", args.model]
    return shlex.join(command)


def run(args: argparse.Namespace) -> int:
    from srlm_core.lm.model_loading import set_offline

    set_offline()  # before transformers is imported
    from srlm_core.lm.config import load_config

    config = load_config(args.config, device=args.device, model=args.model)
    from srlm_core import parallel
    from srlm_core.lm.loop import LMRunner

    workdir = args.workdir or default_workdir(config)
    runner = LMRunner(config, workdir)
    if parallel.is_main():
        print(f"work folder: {workdir}", flush=True)
    return _timed_record(
        args, runner.device, runner.run, id=config.name,
        title=f"Self-rewarding {config.model} ({config.name}): arms {', '.join(config.arms)}",
        command=_file_command("run", args), params=config.to_dict(),
        tolerance={"rtol": 0.05, "atol": 0.05},
        extra_provenance=lambda: {"model": model_identity(config.model)})


def alpha(args: argparse.Namespace) -> int:
    from srlm_core.lm.model_loading import set_offline

    set_offline()
    from srlm_core import parallel
    from srlm_core.experiments import controlled_alpha as experiment

    config = experiment.load(args.config, device=args.device, model=args.model)
    workdir = args.workdir or default_workdir(config)
    runner = experiment.ControlledAlphaRunner(config, workdir)
    if parallel.is_main():
        print(f"work folder: {workdir}", flush=True)
    return _timed_record(
        args, runner.device, runner.run, id=config.name, title=experiment.TITLE,
        command=_file_command("alpha", args), params=config.to_dict(),
        tolerance=dict(experiment.TOLERANCE),
        extra_provenance=lambda: {"stage_seconds": runner.seconds,
                                  "model": model_identity(config.model)},
        code=["srlm_core/experiments/controlled_alpha.py", "srlm_core/lm/top_blocks.py",
              "srlm_core/lm/soft_dpo.py", "srlm_core/lm/controlled_judge.py"])


def _option_record(args, action: str, module, config_cls, compute, code, **fields) -> int:
    """Run ``compute(config)`` for a config given as options and write its record."""
    from srlm_core.lm.model_loading import set_offline

    set_offline()
    from srlm_core.cli.options import config_from_args
    from srlm_core.cli.sweep import regenerating_command
    from srlm_core.device import resolve_device

    config = config_from_args(config_cls, args).validate()
    extra = fields.pop("extra_provenance", lambda: {})
    fields["extra_provenance"] = lambda: {**extra(), "model": model_identity(config.model)}
    return _timed_record(
        args, resolve_device(config.device), lambda: compute(config), id=args.id,
        title=module.TITLE,
        command=regenerating_command(action, config, args.id, prefix=("srlm", "lm")),
        params=dataclasses.asdict(config), tolerance=dict(module.TOLERANCE), code=code, **fields)


def pool(args: argparse.Namespace) -> int:
    from srlm_core.lm import pool as module

    return _option_record(args, "pool", module, module.PoolConfig, module.build_pool,
                          ["srlm_core/lm/pool.py", "srlm_core/lm/edits.py"])


def bench(args: argparse.Namespace) -> int:
    """The benchmark's timings go to the provenance (machine-dependent), its workload to the
    values (reproducible)."""
    from srlm_core.lm import train_bench as module

    timings: dict = {}

    def compute(config):
        values = module.benchmark(config)
        timings.update(values.pop("timings"))
        return values

    return _option_record(args, "bench", module, module.BenchConfig, compute,
                          ["srlm_core/lm/train_bench.py", "srlm_core/lm/top_blocks.py"],
                          extra_provenance=lambda: {"timings": timings})


def likelihood(args: argparse.Namespace) -> int:
    """The paper's own loop; rerunning the same command resumes from its work folder
    (:func:`default_workdir`)."""
    from srlm_core.experiments import likelihood_self_reward as module

    def compute(config):
        workdir = default_workdir(config)
        print(f"work folder: {workdir}", flush=True)
        return module.run(config, workdir)

    return _option_record(args, "likelihood", module, module.Config, compute,
                          ["srlm_core/experiments/likelihood_self_reward.py",
                           "srlm_core/lm/sequence_likelihood.py",
                           "srlm_core/lm/short_answers.py", "srlm_core/lm/top_blocks.py"])
