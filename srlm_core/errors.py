"""User-facing errors: a wrong option or config value, reported in one line."""


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
    for name in names:
        value = getattr(config, name)
        if value < minimum:
            bound = "non-negative" if minimum == 0 else f"at least {minimum}"
            raise ConfigError(name, f"must be {bound}, got {value}")
