"""A config dataclass as command-line options, and back.

Every field whose kind the command line can spell is an option ``--field-name`` with the
field's type and default and its help sentence (:func:`option`); :func:`command_options`
spells a config out again, so that a record's command recomputes exactly it.  A field whose
default is a tuple takes comma-separated values (``--alphas 0.25,0.5``); a boolean field takes
``true`` or ``false``.  A field of another kind (a tuple of tables, a mapping) has no option:
a config file sets it (:mod:`srlm_core.config_file`).

A *nested* config (:func:`nested`), e.g. the random problem of an experiment, is one field
holding a dataclass in Python and is spelled flat everywhere else: its fields are options,
config-file keys and record parameters of their own name (:func:`option_fields`,
:func:`build`, :func:`flat_dict`)."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

_SCALARS = {"int": int, "float": float, "str": str, "bool": bool,
            int: int, float: float, str: str, bool: bool}


def option(default, help: str):
    """A config field with its help sentence, which its command-line option shows."""
    return dataclasses.field(default=default, metadata={"help": help})


def nested(default, help: str):
    """A config field holding another config (``default``, a frozen dataclass instance) whose
    fields are spelled flat: options, config-file keys and record parameters of their own
    name."""
    return dataclasses.field(default=default, metadata={"help": help, "nested": True})


def is_nested(field: dataclasses.Field) -> bool:
    """Whether ``field`` is :func:`nested`."""
    return bool(field.metadata.get("nested"))


@dataclasses.dataclass(frozen=True)
class Option:
    """One field spelled flat: a field of the config, or of the nested config in its field
    ``group``, with the default the config gives it."""

    name: str
    type: Any
    default: Any
    metadata: Any
    group: str | None = None


def _flat(config_cls: type) -> list[Option]:
    """Every field of ``config_cls`` with its nested configs' fields in their place; TypeError
    where two of them share a name (the flat spelling would be ambiguous)."""
    out = []
    for field in dataclasses.fields(config_cls):
        if is_nested(field):
            out += [Option(f.name, f.type, getattr(field.default, f.name), f.metadata, field.name)
                    for f in dataclasses.fields(field.default)]
        else:
            out.append(Option(field.name, field.type, field.default, field.metadata))
    names = [o.name for o in out]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise TypeError(f"{config_cls.__name__}: {', '.join(twice)} spelled twice when flat")
    return out


def build(config_cls: type, values: dict):
    """``config_cls`` from flat ``values`` (each a field, or a nested config's field, by
    name): a nested config's fields replace those of its default."""
    groups = {f.name: f.default for f in dataclasses.fields(config_cls) if is_nested(f)}
    members = {o.name: o.group for o in _flat(config_cls) if o.group}
    own = {k: v for k, v in values.items() if k not in members}
    for name, default in groups.items():
        given = {k: v for k, v in values.items() if members.get(k) == name}
        own[name] = dataclasses.replace(own.get(name, default), **given)
    return config_cls(**own)


def flat_dict(config) -> dict:
    """``dataclasses.asdict(config)`` with its nested configs' fields in their place: a
    record's parameters."""
    groups = {f.name for f in dataclasses.fields(config) if is_nested(f)}
    out = {}
    for name, value in dataclasses.asdict(config).items():
        out.update(value if name in groups else {name: value})
    return out


def _boolean(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _parser_for(field: dataclasses.Field | Option):
    """The argparse ``type`` of a field, from its default (tuples: comma-separated); None
    when the command line cannot spell it."""
    default = field.default
    if isinstance(default, tuple):
        if not default or isinstance(default[0], tuple) or dataclasses.is_dataclass(default[0]):
            return None
        item = _parser_for(Option("item", type(default[0]), default[0], {}))

        def items(text: str) -> tuple:
            return tuple(item(part) for part in text.split(",") if part.strip())

        items.__name__ = f"comma-separated {type(default[0]).__name__}s"
        return items
    if default is dataclasses.MISSING:
        return None
    kind = _SCALARS.get(field.type, _SCALARS.get(type(default)))
    return _boolean if kind is bool else kind


def option_fields(config_cls: type) -> list[Option]:
    """The fields of ``config_cls`` (its nested configs' fields in their place) that are
    command-line options."""
    return [o for o in _flat(config_cls) if _parser_for(o) is not None]


def supports(config_cls: type) -> bool:
    """Whether every field of ``config_cls`` can be given on the command line."""
    return len(option_fields(config_cls)) == len(_flat(config_cls))


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
    return build(config_cls, {o.name: getattr(args, o.name) for o in _flat(config_cls)})


def command_options(config) -> list[str]:
    """``--field-name value`` for every option field of ``config``: the words that make it
    again (together with a config file for the fields without an option)."""
    words = []
    values = flat_dict(config)
    for field in option_fields(type(config)):
        words += ["--" + field.name.replace("_", "-"), format_value(values[field.name])]
    return words
