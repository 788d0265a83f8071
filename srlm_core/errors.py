"""User-facing errors: a wrong option or config value, reported in one line.

The ``require*`` helpers are the one way configs validate their fields: each raises
:class:`ConfigError` naming the first offending field, with its value."""

import math


class ConfigError(ValueError):
    """A configuration value is invalid.

    ``field`` names the offending option (a dataclass field name); the command line turns it
    into ``--field-name`` so the user sees which option to fix.
    """

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


def require_at_least(config, minimum, *names: str) -> None:
    """Raise ConfigError naming the first field of ``config`` among ``names`` below
    ``minimum`` ("must be at least 1" / "must be non-negative")."""
    bound = "non-negative" if minimum == 0 else f"at least {minimum}"
    require(config, *((name, getattr(config, name) >= minimum, f"must be {bound}")
                      for name in names))


def require(config, *rules: tuple[str, bool, str]) -> None:
    """Raise ConfigError for the first ``(field, ok, message)`` rule whose ``ok`` is false:
    ``"field: message, got value"``."""
    for name, ok, message in rules:
        if not ok:
            raise ConfigError(name, f"{message}, got {getattr(config, name)!r}")


def require_positive(config, *names: str) -> None:
    """Raise ConfigError naming the first field among ``names`` that is not positive and
    finite."""
    require(config, *((name, 0 < getattr(config, name) < math.inf, "must be positive and finite")
                      for name in names))


def require_one_of(config, name: str, allowed) -> None:
    """Raise ConfigError unless the field ``name`` is one of ``allowed``."""
    require(config, (name, getattr(config, name) in allowed,
                     f"must be one of {', '.join(allowed)}"))


def is_lowercase_name(name: str) -> bool:
    """Whether ``name`` is a run name: lowercase letters, digits, ``-`` and ``_``."""
    return bool(name) and name.replace("-", "").replace("_", "").isalnum() and name.islower()


def require_shares(config, name: str, closed: bool = False) -> None:
    """Raise ConfigError unless the tuple field ``name`` holds distinct signal shares in
    (0, 1), or (0, 1] when ``closed``."""
    shares = tuple(getattr(config, name))
    top_ok = (lambda a: a <= 1.0) if closed else (lambda a: a < 1.0)
    interval = "(0, 1]" if closed else "(0, 1)"
    require(config, (name, bool(shares), "needs at least one signal share"),
            (name, all(0.0 < a and top_ok(a) for a in shares), f"each must be in {interval}"),
            (name, len(set(shares)) == len(shares), "must be distinct"))
