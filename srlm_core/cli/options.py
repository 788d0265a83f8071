"""Command-line options generated from config dataclasses, so names and defaults live once."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

_TYPES = {"int": int, "float": float, "str": str, int: int, float: float, str: str}


def add_config_arguments(parser: argparse.ArgumentParser, config_cls: type, **choices) -> None:
    """Add ``--field-name`` for every field of ``config_cls`` with its type and default.

    ``choices`` maps a field name to its allowed values."""
    for field in dataclasses.fields(config_cls):
        kind = _TYPES[field.type]
        parser.add_argument(
            "--" + field.name.replace("_", "-"),
            dest=field.name,
            type=kind,
            default=field.default,
            choices=choices.get(field.name),
            help=f"(default: {field.default})",
        )


def config_from_args(config_cls: type, args: argparse.Namespace) -> Any:
    """Build ``config_cls`` from the parsed options it declares."""
    names = [f.name for f in dataclasses.fields(config_cls)]
    return config_cls(**{name: getattr(args, name) for name in names})
