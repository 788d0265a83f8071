"""``srlm run NAME``: any experiment module, run from the command line into a record; its
options come from the config's fields (each with its help sentence), a chapter's live result
of it carries the command, and the older command shapes are aliases of it."""

import json
import shlex
import sys
import types
from dataclasses import dataclass

import pytest

from srlm_core import experiments
from srlm_core.cli import main
from srlm_core.cli.run import config_from, parser_for, plain_text
from srlm_core.errors import require_at_least
from srlm_core.options import build, option, option_fields
from srlm_core.publishing import pipeline, report
from srlm_core.publishing.results import load_record


@dataclass(frozen=True)
class _Config:
    scale: float = option(2.0, "the factor")
    steps: int = option(3, "steps per share")
    alphas: tuple = option((0.25, 0.5), "the shares")
    label: str = option("demo", "a label")
    exact: bool = option(True, "whether it is exact")

    def validate(self):
        require_at_least(self, 1, "steps")
        return self


def _run(config):
    """The scaled products."""
    return {"curve": [config.scale * a * t for a in config.alphas for t in range(config.steps)],
            "label": config.label, "exact": config.exact}


@pytest.fixture
def demo(monkeypatch):
    module = types.ModuleType("srlm_core.experiments.demo_exp")
    module.__doc__ = "A demo experiment: scaled products.\n\nMore text."
    module.Config, module.run = _Config, _run
    monkeypatch.setitem(sys.modules, "srlm_core.experiments.demo_exp", module)
    return module


def test_options_come_from_the_config_and_the_record_from_run(demo, tmp_path):
    argv = ["run", "demo-exp", "--alphas", "0.5,1", "--steps", "2", "--exact", "false",
            "--results-dir", str(tmp_path)]
    assert main(argv) == 0
    record = load_record("demo-exp", tmp_path)
    assert record.values == {"curve": [0.0, 1.0, 0.0, 2.0], "label": "demo", "exact": False}
    assert record.params["alphas"] == [0.5, 1.0] and record.title.startswith("A demo experiment")
    assert record.command == ("srlm run demo-exp --scale 2.0 --steps 2 --alphas 0.5,1.0 "
                              "--label demo --exact false")


def test_a_config_file_is_read_first_and_the_options_win(demo, tmp_path):
    config = tmp_path / "demo.toml"
    config.write_text('steps = 1\nlabel = "from-file"\nalphas = [1, 2]\n')
    assert main(["run", "demo-exp", "--config", str(config), "--steps", "2", "--id", "other",
                 "--results-dir", str(tmp_path)]) == 0
    record = load_record("other", tmp_path)
    assert record.params == {"scale": 2.0, "steps": 2, "alphas": [1.0, 2.0],
                             "label": "from-file", "exact": True}
    assert record.command.endswith("--label from-file --exact true --id other")


@pytest.mark.parametrize("alias", [["experiment", "demo-exp"], ["sweep", "demo-exp"]])
def test_the_old_commands_are_aliases_writing_the_same_record(demo, tmp_path, alias):
    assert main([*alias, "--steps", "2", "--results-dir", str(tmp_path)]) == 0
    record = load_record("demo-exp", tmp_path)
    assert record.command.startswith("srlm run demo-exp --scale 2.0 --steps 2")


def test_bad_input_is_one_line(demo, tmp_path, capsys):
    assert main(["run", "demo-exp", "--steps", "0", "--results-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == "srlm run: error: --steps: must be at least 1, got 0"
    assert main(["run", "demo-exp", "--steps", "two"]) == 2
    assert capsys.readouterr().err.strip() == (
        "srlm run: error: --steps: invalid int value: 'two'")
    assert main(["experiment", "demo-exp", "--step", "2"]) == 2
    assert capsys.readouterr().err.strip() == (
        "srlm experiment: error: --step: unknown option; see srlm run demo-exp --help")
    assert main(["run", "no-such-thing"]) == 2
    assert "--name: no experiment 'no-such-thing'" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_run_help_lists_every_experiment_with_its_purpose(capsys):
    assert main(["run", "--help"]) == 0
    out = capsys.readouterr().out
    for name in experiments.names():
        assert f"  {name} " in out
    assert "iterative " in out and "S4 experiment: the error after many" in out


def _changed(value):
    """Another value of the same kind, so that a round trip cannot pass by the defaults."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value * 2 + 1
    if isinstance(value, tuple):
        return tuple(_changed(v) for v in value)
    return value + "-x" if isinstance(value, str) else value


@pytest.mark.parametrize("name", experiments.names())
def test_the_config_round_trips_through_its_command(name):
    """config -> the record's command -> options -> the same config (nothing is run)."""
    module = experiments.load(name)
    config = build(module.Config, {
        f.name: _changed(f.default) for f in option_fields(module.Config)})
    words = shlex.split(pipeline.command_line(module, config, "some-id"))
    assert words[:3] == ["srlm", "run", name]
    options = parser_for(name, module).parse_args(words[3:])
    assert config_from(module, options) == config and options.id == "some-id"


@pytest.mark.parametrize("name", experiments.names())
def test_every_option_has_a_help_sentence_from_its_field(name):
    module = experiments.load(name)
    helps = {action.dest: action.help for action in parser_for(name, module)._actions}
    assert all(text and text.strip() for text in helps.values()), name
    for field in option_fields(module.Config):
        assert helps[field.name].startswith(field.metadata["help"] + " (default: "), field.name


def test_a_run_writes_a_record_that_verify_accepts(tmp_path, capsys):
    argv = ["run", "moving-reference", "--instances", "2", "--iters", "3",
            "--results-dir", str(tmp_path)]
    assert main(argv) == 0
    assert load_record("moving-reference", tmp_path).code == [
        "srlm_core/experiments/moving_reference.py"]
    assert main(["results", "verify", "moving-reference", "--results-dir", str(tmp_path)]) == 0
    assert "PASS  moving-reference" in capsys.readouterr().out


def test_a_live_experiment_result_stores_run_values_and_its_command(demo, tmp_path, monkeypatch):
    monkeypatch.setenv(report.LIVE_DIR_ENV, str(tmp_path / "live"))
    monkeypatch.setenv(report.NOTEBOOK_ENV, str(tmp_path / "chapter.md"))
    report.reset()
    config = _Config(steps=2)
    values = _run(config)
    with report.experiment("ch9.demo", demo, config, values) as source:
        source.glue("first", values["curve"][1])  # derived: not stored again
    stored = json.loads((tmp_path / "live" / "ch9.demo.json").read_text())
    assert stored["values"] == values
    assert stored["command"].startswith("srlm run demo-exp --scale 2.0 --steps 2")
    assert stored["command"].endswith("--id ch9.demo")
    report.reset()


@pytest.mark.slow
def test_verify_reruns_a_live_experiment_result_and_catches_a_change(tmp_path, monkeypatch,
                                                                     capsys):
    from srlm_core.experiments import moving_reference
    from srlm_core.publishing.results import write_record

    live = tmp_path / "live"
    monkeypatch.setenv(report.LIVE_DIR_ENV, str(live))
    monkeypatch.setenv(report.NOTEBOOK_ENV, str(tmp_path / "chapter.md"))
    report.reset()
    config = moving_reference.Config()
    report.experiment("ch9.moving", moving_reference, config, moving_reference.run(config))
    report.reset()
    assert main(["results", "verify", "ch9.moving", "--results-dir", str(live)]) == 0
    assert "PASS  ch9.moving" in capsys.readouterr().out

    record = load_record("ch9.moving", live)
    record.values = json.loads(json.dumps(record.values).replace("0.5", "0.55", 1))
    write_record(record, live)
    assert main(["results", "verify", "ch9.moving", "--results-dir", str(live)]) == 1
    assert "FAIL  ch9.moving" in capsys.readouterr().out


def test_help_shows_docstring_roles_as_plain_text():
    assert plain_text(r"needs when :math:`\pi_0` rarely writes; see "
                      ":py:obj:`~srlm_core.model.metrics.kappa`, ``srlm bench`` and :func:`f`") == (
        r"needs when \pi_0 rarely writes; see kappa, srlm bench and f")
