"""User-facing errors: a wrong option or config value, reported in one line."""


class ConfigError(ValueError):
    """A configuration value is invalid.

    ``field`` names the offending option (a dataclass field name); the command line turns it
    into ``--field-name`` so the user sees which option to fix.
    """

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")
