"""The shared lower-bound check names the first offending field."""

from dataclasses import dataclass

import pytest

from srlm_core.errors import ConfigError, require_at_least


@dataclass
class _Config:
    a: int = 1
    b: int = 0


def test_require_at_least_names_the_first_field_below_the_bound():
    require_at_least(_Config(), 0, "a", "b")
    with pytest.raises(ConfigError, match="must be at least 1, got 0") as err:
        require_at_least(_Config(), 1, "a", "b")
    assert err.value.field == "b"
    with pytest.raises(ConfigError, match="must be non-negative, got -1"):
        require_at_least(_Config(a=-1), 0, "a")
