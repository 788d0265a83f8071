"""A nested config is one field in Python and flat everywhere else: options, config-file
keys and record parameters of its fields' own names."""

import argparse
from dataclasses import dataclass, replace

import pytest

from srlm_core.config_file import from_mapping
from srlm_core.errors import ConfigError
from srlm_core.options import (
    add_config_arguments,
    build,
    command_options,
    config_from_args,
    flat_dict,
    nested,
    option,
    option_fields,
    supports,
)


@dataclass(frozen=True)
class _Inner:
    size: int = option(3, "a size")
    scale: float = option(1.0, "a scale")

    def validate(self):
        if self.size < 1:
            raise ConfigError("size", "must be >= 1")
        return self


@dataclass(frozen=True)
class _Outer:
    steps: int = option(2, "steps")
    inner: _Inner = nested(_Inner(size=5), "the inner config")
    labels: tuple[str, ...] = option(("a", "b"), "labels")

    def validate(self):
        self.inner.validate()
        return self


def test_a_nested_config_is_spelled_flat_in_its_place():
    fields = option_fields(_Outer)
    assert [f.name for f in fields] == ["steps", "size", "scale", "labels"]
    assert [f.default for f in fields] == [2, 5, 1.0, ("a", "b")]  # the outer default wins
    assert [f.group for f in fields] == [None, "inner", "inner", None]
    assert supports(_Outer)
    config = _Outer(steps=4, inner=_Inner(size=7, scale=0.5))
    assert flat_dict(config) == {"steps": 4, "size": 7, "scale": 0.5, "labels": ("a", "b")}
    assert list(flat_dict(config)) == ["steps", "size", "scale", "labels"]
    assert command_options(config) == ["--steps", "4", "--size", "7", "--scale", "0.5",
                                       "--labels", "a,b"]


def test_a_name_in_both_a_config_and_its_nested_config_is_refused():
    @dataclass(frozen=True)
    class _Clash:
        size: int = option(1, "a size")
        inner: _Inner = nested(_Inner(), "the inner config")

    with pytest.raises(TypeError, match="size spelled twice"):
        option_fields(_Clash)


def test_build_fills_a_nested_config_from_its_default():
    assert build(_Outer, {"scale": 2.0}) == _Outer(inner=_Inner(size=5, scale=2.0))
    assert build(_Outer, {"steps": 1}).inner == _Inner(size=5)
    config = _Outer(steps=4, inner=_Inner(size=7, scale=0.5))
    assert build(_Outer, flat_dict(config)) == config


def test_the_command_line_round_trips():
    parser = argparse.ArgumentParser()
    add_config_arguments(parser, _Outer)
    config = config_from_args(_Outer, parser.parse_args(["--size", "9", "--steps", "3"]))
    assert config == _Outer(steps=3, inner=_Inner(size=9))
    again = config_from_args(_Outer, parser.parse_args(command_options(config)))
    assert again == config


def test_a_config_file_spells_a_nested_config_flat_and_names_a_bad_key():
    assert from_mapping(_Outer, {"size": 8, "scale": 3}) == _Outer(inner=_Inner(8, 3.0))
    with pytest.raises(ConfigError) as err:
        from_mapping(_Outer, {"inner": {"size": 8}})
    assert err.value.field == "inner" and "size" in str(err.value)  # the known keys are flat
    with pytest.raises(ConfigError) as err:
        from_mapping(_Outer, {"size": "big"})
    assert err.value.field == "size"
    with pytest.raises(ConfigError) as err:
        from_mapping(_Outer, {"size": 0})
    assert err.value.field == "size"  # the nested config's own check names the flat key


def test_a_table_starts_from_the_fields_default():
    @dataclass(frozen=True)
    class _Tabled:
        inner: _Inner = _Inner(size=5)

    assert from_mapping(_Tabled, {"inner": {"scale": 2.0}}).inner == replace(_Inner(size=5),
                                                                            scale=2.0)
