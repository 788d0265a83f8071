"""A config dataclass as command-line options, and back.

Every field whose kind the command line can spell is an option ``--field-name`` with the
field's type and default and its help sentence (:func:`option`); :func:`command_options`
spells a config out again, so that a record's command recomputes exactly it.  A field whose
default is a tuple takes comma-separated values (``--alphas 0.25,0.5``); a boolean field takes
``true`` or ``false``.  A field of another kind (a tuple of tables, a mapping) has no option:
a config file sets it (:mod:`srlm_core.config_file`)."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

_SCALARS = {"int": int, "float": float, "str": str, "bool": bool,
            int: int, float: float, str: str, bool: bool}


def option(default, help: str):
    """A config field with its help sentence, which its command-line option shows."""
    return dataclasses.field(default=default, metadata={"help": help})


def _boolean(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _parser_for(field: dataclasses.Field):
    """The argparse ``type`` of a field, from its default (tuples: comma-separated); None
    when the command line cannot spell it."""
    default = field.default
    if isinstance(default, tuple):
        if not default or isinstance(default[0], tuple) or dataclasses.is_dataclass(default[0]):
            return None
        item = _parser_for(dataclasses.field(default=default[0]))

        def items(text: str) -> tuple:
            return tuple(item(part) for part in text.split(",") if part.strip())

        items.__name__ = f"comma-separated {type(default[0]).__name__}s"
        return items
    if default is dataclasses.MISSING:
        return None
    kind = _SCALARS.get(field.type, _SCALARS.get(type(default)))
    return _boolean if kind is bool else kind


def option_fields(config_cls: type) -> list[dataclasses.Field]:
    """The fields of ``config_cls`` that are command-line options."""
    return [f for f in dataclasses.fields(config_cls) if _parser_for(f) is not None]


def supports(config_cls: type) -> bool:
    """Whether every field of ``config_cls`` can be given on the command line."""
    return len(option_fields(config_cls)) == len(dataclasses.fields(config_cls))


def format_value(value) -> str:
    """A field's value as its option takes it."""
    if isinstance(value, tuple):
        return ",".join(map(format_value, value))
    return str(value).lower() if isinstance(value, bool) else str(value)


def add_config_arguments(parser: argparse.ArgumentParser, config_cls: type,
                         given_only: bool = False, **choices) -> None:
    """Add ``--field-name`` for every option field of ``config_cls``: its type, its default and
    its help sentence.  ``given_only``: the parsed namespace holds only the options given
    (to override a config file); ``choices`` maps a field name to its allowed values."""
    for field in option_fields(config_cls):
        text = field.metadata.get("help", "")
        parser.add_argument(
            "--" + field.name.replace("_", "-"),
            dest=field.name,
            type=_parser_for(field),
            default=argparse.SUPPRESS if given_only else field.default,
            choices=choices.get(field.name),
            help=f"{text} (default: {format_value(field.default)})".strip(),
        )


def config_from_args(config_cls: type, args: argparse.Namespace) -> Any:
    """Build ``config_cls`` from the parsed options it declares."""
    names = [f.name for f in dataclasses.fields(config_cls)]
    return config_cls(**{name: getattr(args, name) for name in names})


def command_options(config) -> list[str]:
    """``--field-name value`` for every option field of ``config``: the words that make it
    again (together with a config file for the fields without an option)."""
    words = []
    for field in option_fields(type(config)):
        words += ["--" + field.name.replace("_", "-"), format_value(getattr(config, field.name))]
    return words
