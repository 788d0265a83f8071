import pytest

from srlm_core.config_file import from_mapping, load_config
from srlm_core.errors import ConfigError
from srlm_core.experiments.language_model_runner import Config
from srlm_core.publishing.provenance import REPO_ROOT


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"iteratons": 2}, "iteratons"),
        ({"iterations": "2"}, "iterations"),
        ({"iterations": 2.5}, "iterations"),
        ({"iterations": 0}, "iterations"),
        ({"candidates": 1}, "candidates"),
        ({"temperature": 0}, "temperature"),
        ({"judge_mode": "vibes"}, "judge_mode"),
        ({"arms": ["fixed", "sideways"]}, "arms"),
        ({"arms": "fixed"}, "arms"),
        ({"device": "tpu"}, "device"),
        ({"model": "gpt-5"}, "model"),
        ({"min_margin": -1}, "min_margin"),
        ({"seed": True}, "seed"),
    ],
)
def test_bad_values_name_the_key(data, key):
    with pytest.raises(ConfigError) as err:
        from_mapping(Config, data)
    assert err.value.field == key


def test_ints_are_accepted_for_floats():
    assert from_mapping(Config, {"beta": 1}).beta == 1.0


@pytest.mark.parametrize("name", ["small.toml", "large.toml", "gpu.toml", "smoke.toml"])
def test_shipped_configs_are_valid(name, tmp_path):
    """Valid keys, and enough training prompts for every block and its reserve (checked by
    the runner before it loads a model)."""
    from srlm_core.experiments.language_model_runner import LMRunner

    config = load_config(REPO_ROOT / "data" / "lm" / "configs" / name, Config)
    assert isinstance(config, Config)
    LMRunner(config, tmp_path)


def test_broken_toml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("iterations = [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad, Config)
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "missing.toml", Config)


def test_file_errors_name_the_file_and_key(tmp_path):
    bad = tmp_path / "c.toml"
    bad.write_text('iterations = "two"\n')
    with pytest.raises(ConfigError, match="key 'iterations': expected int") as err:
        load_config(bad, Config)
    assert err.value.field == "config"


def test_cli_rejects_a_broken_config_in_one_line(tmp_path, capsys):
    from srlm_core.cli import main

    bad = tmp_path / "c.toml"
    bad.write_text("iterations = 2\nbogus = 1\n")
    assert main(["lm", "run", "--config", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("srlm lm: error: --config:") and "'bogus'" in err
    assert "\n" not in err and "Traceback" not in err


def test_a_bad_precision_names_the_key():
    with pytest.raises(ConfigError) as err:
        from_mapping(Config, {"precision": "fp8"})
    assert err.value.field == "precision" and "float32, auto, bf16" in str(err.value)


@pytest.mark.parametrize("path", sorted((REPO_ROOT / "data" / "lm" / "configs").glob("*.toml")),
                         ids=lambda path: path.name)
def test_no_shipped_config_turns_on_bf16_where_the_cpu_lacks_it(path, monkeypatch):
    """Emulated bf16 autocast makes a matmul many times slower than float32 (24x measured on a
    Zen 3 EPYC): on a CPU without native bf16 every shipped config computes in float32."""
    import tomllib

    import torch

    from srlm_core import device

    monkeypatch.setattr(device, "native_bf16", lambda: False)
    data = tomllib.loads(path.read_text())
    assert "autocast_bf16" not in data
    precision = data.get("precision", Config.precision)
    assert device.resolve_precision(precision, torch.device("cpu")) == "float32"


def test_a_table_sets_a_nested_config_and_an_error_names_its_key(tmp_path):
    from srlm_core.experiments import effective_dimension_bound as bound

    path = tmp_path / "bound.toml"
    path.write_text("points = 5\n[sweep]\nn = 512\n")
    config = load_config(path, bound.Config)
    assert config.points == 5 and config.sweep.n == 512 and config.sweep.d_max == 4096
    path.write_text("[sweep]\nn = 0\n")
    with pytest.raises(ConfigError, match="key 'sweep.n'"):
        load_config(path, bound.Config)
