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


@dataclass
class _Run:
    name: str = "run-1"
    rate: float = 0.5
    mode: str = "soft"


def test_rules_positive_and_choices_name_the_field_and_value():
    from srlm_core.errors import is_lowercase_name, require, require_one_of, require_positive

    require(_Run(), ("rate", True, "never raised"))
    with pytest.raises(ConfigError, match=r"^rate: must be small, got 0.5$"):
        require(_Run(), ("name", True, "ok"), ("rate", False, "must be small"))
    for bad in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ConfigError, match="rate: must be positive and finite"):
            require_positive(_Run(rate=bad), "rate")
    with pytest.raises(ConfigError, match="mode: must be one of soft, hard, got 'x'"):
        require_one_of(_Run(mode="x"), "mode", ("soft", "hard"))
    assert is_lowercase_name("lm-alpha_2")
    assert not is_lowercase_name("Lm") and not is_lowercase_name("")
