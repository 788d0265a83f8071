"""``srlm experiment NAME [--field value ...]``: run any experiment module and write its record.

Every figure and table of the book comes from an experiment module of
:mod:`srlm_core.experiments` (``Config``, ``run``, ``plot``).  This command runs one with its
chapter's defaults or the options given, and writes ``run(config)``'s values as a result
record (``data/results/<NAME>.json`` or ``--id``/``--results-dir``).  A chapter's live result
of an experiment carries this command, so ``srlm results verify`` re-runs the experiment
itself, not the whole chapter.  ``srlm experiment --list`` names the modules.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import re
from pathlib import Path

from srlm_core.errors import ConfigError


def register(sub) -> None:
    parser = sub.add_parser("experiment", help="run one experiment module into a result record",
                            add_help=False)
    parser.add_argument("name", nargs="?", metavar="NAME", help="experiment module")
    parser.add_argument("--list", action="store_true", help="list the experiment modules")
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    parser.set_defaults(handler=run)


def runnable() -> list[str]:
    """The experiment modules the command line can run (simple ``Config`` fields)."""
    import srlm_core.experiments as package
    from srlm_core.options import supports

    names = []
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        if hasattr(module, "Config") and hasattr(module, "run") and supports(module.Config):
            names.append(info.name.replace("_", "-"))
    return names


def _module(name: str):
    try:
        module = importlib.import_module(f"srlm_core.experiments.{name.replace('-', '_')}")
    except ModuleNotFoundError:
        module = None
    if module is None or not (hasattr(module, "Config") and hasattr(module, "run")):
        raise ConfigError("name", f"no experiment module {name!r}; see srlm experiment --list")
    return module


def plain_text(line: str) -> str:
    r"""A docstring line for a terminal: Sphinx roles dropped to their text
    (``:math:`\pi_0``` becomes ``\pi_0``, ``:py:obj:`~a.b``` becomes ``b``)."""
    return re.sub(r":[a-z]+(?::[a-z]+)?:`~?([^`]+)`",
                  lambda m: m.group(1).rsplit(".", 1)[-1] if "~" in m.group(0) else m.group(1),
                  line)


def run(args: argparse.Namespace) -> int:
    from srlm_core.options import add_config_arguments, config_from_args, supports
    from srlm_core.publishing import pipeline

    if args.list or not args.name:
        print("\n".join(runnable()))
        return 0
    module = _module(args.name)
    if not supports(module.Config):
        raise ConfigError("name", f"{args.name} takes a config file; see its module's run()")
    parser = argparse.ArgumentParser(prog=f"srlm experiment {args.name}",
                                     description=plain_text(module.__doc__.strip().splitlines()[0]))
    add_config_arguments(parser, module.Config)
    parser.add_argument("--id", default=args.name, help="result ID")
    parser.add_argument("--results-dir", type=Path, default=None,
                        help="where to write (default data/results)")
    options = parser.parse_args(args.rest)
    config = config_from_args(module.Config, options)
    command = pipeline.regenerating_command(("srlm", "experiment", args.name), config,
                                            options.id, args.name)
    pipeline.run_experiment(module, config, options.id, command, results_dir=options.results_dir)
    return 0
