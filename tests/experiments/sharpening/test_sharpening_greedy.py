"""Proposition 4.3 and its converse: the experiment's values, verdicts and checks."""

import json

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from srlm_core import ConfigError
from srlm_core.cli import main
from srlm_core.experiments.sharpening import sharpening_greedy as X
from srlm_core.publishing.results import load_record

SMALL = X.Config(draws=50, concentrations=(0.3,))


@pytest.fixture(scope="module")
def values():
    return X.run(SMALL)


def test_small_run_is_deterministic_and_the_constructions_fail(values):
    assert json.loads(json.dumps(values)) == values and X.run(SMALL) == values
    for trap in values["constructions"]:
        assert trap["greedy"] != trap["mode"] and trap["mode_prob"] == pytest.approx(trap["p"])
        assert trap["runner_up"] < trap["p"]
    summary = X.summarise(values)
    assert summary["p1_trap_verdict"] == "fails" and summary["p1_converse_verdict"] == "holds"
    assert summary["p1_n_models"] == 50 and summary["p1_ar_sequences"] == 81


def _hand_made(max_prob, greedy_prob, is_mode, trap_greedy=(1, 0, 0)):
    return {"constructions": [{"p": 0.3, "mode": [0, 0, 0], "greedy": list(trap_greedy),
                               "mode_prob": 0.3, "runner_up": 0.1, "greedy_prob": 0.1}],
            "random": [{"concentration": 1.0, "max_prob": max_prob, "greedy_prob": greedy_prob,
                        "greedy_is_mode": is_mode}],
            "vocab": 3, "horizon": 4, "draws": len(max_prob), "trap_vocab": 3,
            "trap_horizon": 3}


def test_summarise_verdicts_both_ways():
    held = X.summarise(_hand_made([0.7, 0.4, 0.3], [0.7, 0.2, 0.3], [True, False, True]))
    assert held["p1_converse_verdict"] == "holds" and held["p1_trap_verdict"] == "fails"
    assert held["p1_unsure_misses"] == 1 and held["p1_unsure_miss_share"] == pytest.approx(0.5)
    # greedy misses a mode above one half: the converse fails (and the share identity)
    failed = X.summarise(_hand_made([0.7, 0.4], [0.2, 0.4], [False, True],
                                    trap_greedy=(0, 0, 0)))
    assert failed["p1_converse_verdict"] == "fails" and failed["p1_converse_violations"] == 1
    assert failed["p1_share_violations"] == 1 and failed["p1_trap_verdict"] == "succeeds on some"


@pytest.mark.parametrize("change, field", [
    ({"ps": (0.5,)}, "ps"), ({"ps": ()}, "ps"), ({"concentrations": (0.0,)}, "concentrations"),
    ({"draws": 1}, "draws"), ({"horizon": 1}, "horizon"),
])
def test_validate_names_the_bad_field(change, field):
    with pytest.raises(ConfigError) as error:
        X.Config(**change).validate()
    assert error.value.field == field


def test_plot_is_a_figure(values):
    fig = X.plot(values)
    assert isinstance(fig, Figure)
    plt.close(fig)


def test_the_command_line_runs_it(tmp_path):
    assert main(["experiment", "sharpening-greedy", "--draws", "3", "--results-dir",
                 str(tmp_path)]) == 0
    assert load_record("sharpening-greedy", tmp_path).values["draws"] == 3
