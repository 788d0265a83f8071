"""A config dataclass from a TOML file.

Every key is a field of the dataclass; an unknown key or a value of the wrong type raises
:class:`~srlm_core.errors.ConfigError` naming the key, and then the config's own
``validate()`` runs, all before any work starts.  The type is the field's default's: an int
widens to a float, a list becomes a tuple, a table the default's dataclass (or a mapping), a
list of tables a tuple of the default's dataclass.  The fields of a nested
config (:func:`srlm_core.options.nested`) are keys of their own name, as on the command line.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

from srlm_core.errors import ConfigError
from srlm_core.options import is_nested


def _check_type(name: str, value, default):
    """``value`` converted to the type of ``default``, or ConfigError naming ``name``."""
    expected = type(default)
    if dataclasses.is_dataclass(default):
        if not isinstance(value, dict):
            raise ConfigError(name, f"expected a table ([{name}]), got {value!r}")
        return from_mapping(expected, value, prefix=f"{name}.", base=default)
    if expected is tuple and default and dataclasses.is_dataclass(default[0]):
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise ConfigError(name, f"expected a list of tables ([[{name}]]), got {value!r}")
        kind = type(default[0])
        return tuple(from_mapping(kind, v, prefix=f"{name}[{i}].") for i, v in enumerate(value))
    if expected is tuple:
        item = default[0] if default else ""
        if not isinstance(value, list):
            raise ConfigError(name, f"expected a list of {type(item).__name__}, got {value!r}")
        return tuple(_check_type(name, v, item) for v in value)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, bool) != (expected is bool) or not isinstance(value, expected):
        raise ConfigError(name, f"expected {expected.__name__}, got {type(value).__name__} "
                                f"{value!r}")
    return value


def from_mapping(cls, data: dict, prefix: str = "", base=None):
    """An instance of the dataclass ``cls`` from a TOML table, starting from ``base`` (else the
    defaults): unknown keys and wrong types raise ConfigError naming the key (``prefix`` +
    key), then ``validate()`` runs if defined.  A nested config's fields are keys of their own."""
    known = {f.name: _start(f, base) for f in dataclasses.fields(cls)}
    known = {name: value for name, value in known.items() if value is not dataclasses.MISSING}
    groups = {f.name: known.pop(f.name) for f in dataclasses.fields(cls) if is_nested(f)}
    members = {g.name: name for name, start in groups.items()
               for g in dataclasses.fields(start)}
    values, given = {}, {name: {} for name in groups}
    for key, value in data.items():
        if key in members:
            start = groups[members[key]]
            given[members[key]][key] = _check_type(prefix + key, value, getattr(start, key))
        elif key in known:
            values[key] = _check_type(prefix + key, value, known[key])
        else:
            names = ", ".join(sorted([*known, *members]))
            raise ConfigError(prefix + key, f"unknown key (known: {names})")
    values.update({name: dataclasses.replace(groups[name], **given[name]) for name in groups})
    out = cls(**{**known, **values})
    if not hasattr(out, "validate"):
        return out
    try:
        return out.validate()
    except ConfigError as err:
        if prefix and not err.field.startswith(prefix):
            raise ConfigError(prefix + err.field, str(err).split(": ", 1)[1]) from None
        raise


def _start(field: dataclasses.Field, base):
    """The value a table's key starts from: ``base``'s, else the field's default (MISSING
    where it has none)."""
    if base is not None:
        return getattr(base, field.name)
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return field.default


def load_config(path: Path | str, cls, **overrides):
    """Read, type-check and validate a TOML config of the dataclass ``cls``; ``overrides``
    (e.g. device, model) win, and an error in one of them names that option instead of the
    file."""
    path = Path(path)
    if not path.exists():
        raise ConfigError("config", f"no such file: {path}")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ConfigError("config", f"{path} is not valid TOML ({err})") from None
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return from_mapping(cls, data)
    except ConfigError as err:
        if overrides.get(err.field) is not None:
            raise  # the option given on the command line is at fault (--model, --device)
        message = str(err).split(": ", 1)[1]
        raise ConfigError("config", f"{path}: key '{err.field}': {message}") from None
