"""Command-line options generated from config dataclasses, so names and defaults live once.

A field whose default is a tuple takes comma-separated values (``--alphas 0.25,0.5``); a
boolean field takes ``true`` or ``false``."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

_SCALARS = {"int": int, "float": float, "str": str, "bool": bool,
            int: int, float: float, str: str, bool: bool}


def _boolean(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _parser_for(field: dataclasses.Field):
    """The argparse ``type`` of a field, from its default (tuples: comma-separated)."""
    default = field.default
    if isinstance(default, tuple):
        if not default or isinstance(default[0], tuple) or dataclasses.is_dataclass(default[0]):
            return None
        item = _parser_for(dataclasses.field(default=default[0]))

        def items(text: str) -> tuple:
            return tuple(item(part) for part in text.split(",") if part.strip())

        items.__name__ = f"comma-separated {type(default[0]).__name__}s"
        return items
    kind = _SCALARS.get(field.type, _SCALARS.get(type(default)))
    return _boolean if kind is bool else kind


def supports(config_cls: type) -> bool:
    """Whether every field of ``config_cls`` can be given on the command line."""
    return all(_parser_for(f) is not None for f in dataclasses.fields(config_cls))


def format_value(value) -> str:
    """A field's value as its option takes it."""
    if isinstance(value, tuple):
        return ",".join(map(format_value, value))
    return str(value).lower() if isinstance(value, bool) else str(value)


def add_config_arguments(parser: argparse.ArgumentParser, config_cls: type, **choices) -> None:
    """Add ``--field-name`` for every field of ``config_cls`` with its type and default.

    ``choices`` maps a field name to its allowed values."""
    for field in dataclasses.fields(config_cls):
        parser.add_argument(
            "--" + field.name.replace("_", "-"),
            dest=field.name,
            type=_parser_for(field),
            default=field.default,
            choices=choices.get(field.name),
            help=f"(default: {format_value(field.default)})",
        )


def config_from_args(config_cls: type, args: argparse.Namespace) -> Any:
    """Build ``config_cls`` from the parsed options it declares."""
    names = [f.name for f in dataclasses.fields(config_cls)]
    return config_cls(**{name: getattr(args, name) for name in names})
