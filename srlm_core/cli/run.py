"""``srlm run NAME [--config FILE] [--field value ...]``: run an experiment into its record.

Any experiment module of :mod:`srlm_core.experiments` runs here.  Its config's fields are the
options, each with its help sentence; ``--config FILE`` reads a TOML file of them first (the
options given win, and a field without an option, such as a list of arms, is set there).  The
values become the record ``data/results/<ID>.json`` through
:mod:`srlm_core.publishing.pipeline`: ``ID`` is the config's ``name`` where it has one, else
NAME, or ``--id``.  A resumable experiment resumes from its work folder (``--workdir``).
``srlm run --help`` lists the experiments.  Under ``torchrun --nproc-per-node N -m
srlm_core.cli run NAME ...`` the language-model experiments run data-parallel and rank 0 alone
writes."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from srlm_core.errors import ConfigError

USAGE = "srlm run NAME [--config FILE] [--FIELD VALUE ...] [--id ID] [--results-dir DIR]"


def register(sub) -> None:
    parser = sub.add_parser("run", help="run an experiment into a result record (srlm run "
                            "--help lists them)", add_help=False)
    parser.add_argument("-h", "--help", action="store_true", dest="list")
    parser.add_argument("name", nargs="?", metavar="NAME")
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    parser.set_defaults(handler=run)


def plain_text(line: str) -> str:
    r"""A docstring line for a terminal: Sphinx roles dropped to their text
    (``:math:`\pi_0``` becomes ``\pi_0``, ``:py:obj:`~a.b``` becomes ``b``) and literals
    to theirs."""
    line = re.sub(r":[a-z]+(?::[a-z]+)?:`~?([^`]+)`",
                  lambda m: m.group(1).rsplit(".", 1)[-1] if "~" in m.group(0) else m.group(1),
                  line)
    return re.sub(r"``([^`]+)``", r"\1", line)


def listing() -> str:
    """The usage and every experiment with its purpose (the docstring's first line)."""
    from srlm_core import experiments

    names = experiments.names()
    width = max(map(len, names))
    lines = [f"usage: {USAGE}", "", "Run an experiment and write its values as a result "
             "record; srlm run NAME --help lists its options.", "", "experiments:"]
    lines += [f"  {name:{width}s}  {plain_text(experiments.purpose(name))}" for name in names]
    return "\n".join(lines)


class _Parser(argparse.ArgumentParser):
    """An experiment's options; a bad one raises ConfigError naming it (one line)."""

    def error(self, message: str):
        bad = re.match(r"argument (--[\w-]+)(?:/\S+)?: (.*)", message, re.S)
        if bad:
            raise ConfigError(bad[1][2:], bad[2])
        unknown = re.match(r"unrecognized arguments: (\S+)", message)
        if unknown:
            raise ConfigError(unknown[1].lstrip("-"), f"unknown option; see {self.prog} --help")
        raise ConfigError("name", message)


def parser_for(name: str, module) -> argparse.ArgumentParser:
    """The options of experiment ``name``: its option fields (the namespace holds only those
    given), ``--config``, ``--id``, ``--results-dir`` and, when it resumes, ``--workdir``."""
    import dataclasses

    from srlm_core import experiments
    from srlm_core.options import add_config_arguments, is_nested, option_fields
    from srlm_core.publishing.pipeline import is_resumable

    options = {o.name for o in option_fields(module.Config)}
    file_only = [f for f in dataclasses.fields(module.Config) if f.name not in options
                 and not is_nested(f) and f.metadata.get("help")]
    epilog = ("Set only in --config FILE: " + "; ".join(
        f"{f.name} ({f.metadata['help']})" for f in file_only) + ".") if file_only else None
    parser = _Parser(prog=f"srlm run {name}", allow_abbrev=False, epilog=epilog,
                     description=plain_text(experiments.summary(module.__doc__)))
    parser.add_argument("--config", type=Path, default=None, metavar="FILE",
                        help="TOML file of the config's fields, read first (the options given "
                             "win)")
    add_config_arguments(parser, module.Config, given_only=True)
    parser.add_argument("--id", default=None,
                        help="result ID (default: the config's name where it has one, else "
                             f"{name})")
    parser.add_argument("--results-dir", type=Path, default=None, metavar="DIR",
                        help="where to write the record (default: data/results)")
    if is_resumable(module):
        parser.add_argument("--workdir", type=Path, default=None, metavar="DIR",
                            help="work folder to resume from (default: under "
                                 "$SRLM_CACHE_DIR/runs, keyed by the config and the code)")
    return parser


def config_from(module, options: argparse.Namespace):
    """The config of the parsed ``options``: the ``--config`` file (else the defaults), with
    the options given on top."""
    from srlm_core.config_file import load_config
    from srlm_core.options import build, option_fields

    given = {f.name: getattr(options, f.name) for f in option_fields(module.Config)
             if hasattr(options, f.name)}
    if options.config is None:
        return build(module.Config, given)
    as_toml = {k: list(v) if isinstance(v, tuple) else v for k, v in given.items()}
    return load_config(options.config, module.Config, **as_toml)


def run_named(name: str, argv: list[str], write: bool = True):
    """Parse ``argv`` for experiment ``name`` and run it into its record (returned)."""
    from srlm_core import experiments
    from srlm_core.publishing import pipeline

    module = experiments.load(name)
    options = parser_for(name, module).parse_args(argv)
    return pipeline.run_experiment(module, config_from(module, options), options.id,
                                   config_file=options.config, results_dir=options.results_dir,
                                   workdir=getattr(options, "workdir", None), write=write)


def run(args: argparse.Namespace) -> int:
    if args.list or not args.name:
        print(listing())
        return 0
    run_named(args.name, args.rest)
    return 0

