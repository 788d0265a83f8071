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
import shlex
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


def _options_action(actions, name: str, help: str, module, default_id: str, handler) -> None:
    """An action whose config dataclass fields are command-line options."""
    from srlm_core.options import add_config_arguments

    parser = actions.add_parser(name, help=help, description=f"{module.TITLE}. Writes the "
                                f"result record {default_id} (or --id).")
    add_config_arguments(parser, module.Config, device=DEVICE_CHOICES)
    parser.add_argument("--id", default=default_id, help=f"result ID (default {default_id})")
    parser.add_argument("--results-dir", type=Path, default=None,
                        help="where to write the record (default data/results)")
    parser.set_defaults(handler=handler, default_id=default_id)


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
                    "pool", pool_module, "lm-pool", pool)
    _options_action(actions, "bench", "seconds per epoch: fast training path vs TRL full "
                    "fine-tuning", train_bench, "lm-train-bench", bench)
    from srlm_core.cli.aliases import add_alias

    add_alias(actions, "alpha", "= srlm run controlled-alpha", alpha)
    add_alias(actions, "likelihood", "= srlm run likelihood-self-reward --id lm-likelihood",
              likelihood)


def _shown(path: Path) -> str:
    from srlm_core.publishing.provenance import REPO_ROOT

    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _file_command(action: str, args) -> str:
    command = ["srlm", "lm", action, "--config", _shown(args.config)]
    if args.device:
        command += ["--device", args.device]
    if getattr(args, "model", None):
        command += ["--model", args.model]
    return shlex.join(command)


def _from_file(action: str, module, config_cls, args) -> int:
    """Run the experiment of a TOML config into the record named by the config."""
    from srlm_core.config_file import load_config
    from srlm_core.publishing import pipeline

    config = load_config(args.config, config_cls, device=args.device, model=args.model)
    pipeline.run_experiment(module, config, config.name, command=_file_command(action, args),
                            results_dir=args.results_dir, workdir=args.workdir)
    return 0


def _from_options(action: str, module, args) -> int:
    """Run the experiment of a config given as options into the record ``--id``."""
    from srlm_core.options import config_from_args
    from srlm_core.publishing import pipeline

    config = config_from_args(module.Config, args)
    command = pipeline.regenerating_command(("srlm", "lm", action), config, args.id,
                                            args.default_id)
    pipeline.run_experiment(module, config, args.id, command=command,
                            results_dir=args.results_dir)
    return 0


def run(args: argparse.Namespace) -> int:
    from srlm_core.lm import loop
    from srlm_core.lm.config import LMConfig

    return _from_file("run", loop, LMConfig, args)


def alpha(args: argparse.Namespace) -> int:
    from srlm_core.cli.run import run_named

    run_named("controlled-alpha", args.words)
    return 0


def pool(args: argparse.Namespace) -> int:
    from srlm_core.lm import pool as module

    return _from_options("pool", module, args)


def bench(args: argparse.Namespace) -> int:
    from srlm_core.lm import train_bench as module

    return _from_options("bench", module, args)


def likelihood(args: argparse.Namespace) -> int:
    from srlm_core.cli.run import run_named

    given = any(word == "--id" or word.startswith("--id=") for word in args.words)
    run_named("likelihood-self-reward", args.words if given else [*args.words, "--id",
                                                                   "lm-likelihood"])
    return 0
