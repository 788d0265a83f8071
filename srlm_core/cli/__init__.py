"""The ``srlm`` command line.

Each subcommand lives in its own module of this package (``srlm results`` in
:mod:`srlm_core.cli.results_command`, the others under their own names) and exposes
``register(subparsers)``, which adds its parser and sets ``handler``
(:mod:`srlm_core.cli.aliases` registers the older command shapes of ``srlm run``).  Modules
must import heavy dependencies lazily (inside the handler) so that ``srlm --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from srlm_core.errors import ConfigError

#: the modules of this package that register the subcommands
COMMAND_MODULES = ("run", "simulate", "results_command", "bound", "lab", "aliases")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="srlm", description="Self-rewarding language models: simulations and bounds."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        importlib.import_module(f"srlm_core.cli.{module}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command; a reader that closes stdout early (``srlm run --help | head -3``) ends it
    quietly with status 1, as Python's documentation on SIGPIPE recommends."""
    try:
        try:
            return _main(argv)
        finally:
            sys.stdout.flush()  # the broken pipe shows here, not at the interpreter's exit
    except BrokenPipeError:
        # Python flushes stdout again at exit: point it at devnull so that flush is silent.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args) or 0
    except ConfigError as err:
        option = "--" + err.field.replace("_", "-")
        message = str(err).split(": ", 1)[1]
        print(f"srlm {args.command}: error: {option}: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
