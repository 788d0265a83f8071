"""``srlm experiment NAME``: any experiment module, run from the command line into a record;
a chapter's live result of it carries that command, so verify re-runs the experiment."""

import json
import sys
import types
from dataclasses import dataclass

import pytest

from srlm_core.cli import main
from srlm_core.errors import require_at_least
from srlm_core.publishing import report
from srlm_core.publishing.results import load_record


@dataclass(frozen=True)
class _Config:
    scale: float = 2.0
    steps: int = 3
    alphas: tuple = (0.25, 0.5)
    label: str = "demo"
    exact: bool = True

    def validate(self):
        require_at_least(self, 1, "steps")
        return self


def _run(config):
    return {"curve": [config.scale * a * t for a in config.alphas for t in range(config.steps)],
            "label": config.label, "exact": config.exact}


@pytest.fixture
def demo(monkeypatch):
    module = types.ModuleType("srlm_core.experiments.demo_exp")
    module.__doc__ = "A demo experiment: scaled products.\n\nMore text."
    module.Config, module.run = _Config, _run
    monkeypatch.setitem(sys.modules, "srlm_core.experiments.demo_exp", module)
    return module


def test_options_come_from_the_config_and_the_record_from_run(demo, tmp_path, capsys):
    argv = ["experiment", "demo-exp", "--alphas", "0.5,1", "--steps", "2", "--exact", "false",
            "--results-dir", str(tmp_path)]
    assert main(argv) == 0
    record = load_record("demo-exp", tmp_path)
    assert record.values == {"curve": [0.0, 1.0, 0.0, 2.0], "label": "demo", "exact": False}
    assert record.params["alphas"] == [0.5, 1.0] and record.title.startswith("A demo experiment")
    assert record.command == ("srlm experiment demo-exp --scale 2.0 --steps 2 --alphas 0.5,1.0 "
                              "--label demo --exact false")


def test_bad_input_is_one_line(demo, tmp_path, capsys):
    assert main(["experiment", "demo-exp", "--steps", "0", "--results-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == (
        "srlm experiment: error: --steps: must be at least 1, got 0")
    assert main(["experiment", "no-such-thing"]) == 2
    assert "--name: no experiment module 'no-such-thing'" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


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
    assert stored["command"].startswith("srlm experiment demo-exp --scale 2.0 --steps 2")
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
    from srlm_core.cli.experiment import plain_text

    assert plain_text(r"needs when :math:`\pi_0` rarely writes; see "
                      ":py:obj:`~srlm_core.model.metrics.kappa` and :func:`f`") == (
        r"needs when \pi_0 rarely writes; see kappa and f")
