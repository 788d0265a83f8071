"""Remarks 5.5 / 5.8 in the tabular setting: T rounds of n pairs against one round of nT."""

import json

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from srlm_core import ConfigError
from srlm_core.cli import main
from srlm_core.experiments.sharpening import sharpening_budget as exp
from srlm_core.publishing.results import load_record

SMALL = exp.Config(prompts=20, responses=8, temperatures=(0.5,), betas=(0.5,), rounds=3,
                   instances=4)


@pytest.fixture(scope="module")
def values():
    return exp.run(SMALL)


def test_run_spends_the_same_budget_in_every_arm(values):
    assert json.loads(json.dumps(values)) == values
    assert len(values["rows"]) == 4 * 3
    for row in values["rows"]:
        assert 0 <= row["failure_own"] <= row["failure_base"]  # max pi <= 1/2 implies it
    summary = exp.summarise(values)
    assert summary["p2_b_budget"] == 2 * 3
    cell = exp.cell_numbers(values, (0.5, 0.5))  # off the book's grid: not glued
    assert cell["matched_beta"] == pytest.approx(1 / (3**3 - 1))
    assert not any(name.endswith("_t5_b50") for name in summary)
    # iterated and matched share the population target pi_0^{(1+1/beta)^T}
    iterated = [r for r in values["rows"] if r["arm"] == "iterated"]
    matched = [r for r in values["rows"] if r["arm"] == "matched"]
    assert [r["population_own"] for r in iterated] == [r["population_own"] for r in matched]


def test_verdict():
    assert exp.verdict(np.zeros(3), 0.0, 0.0) == "identical in every instance"
    assert exp.verdict(np.array([-1.0, -2.0]), -3.0, -0.5) == "lower"
    assert exp.verdict(np.array([1.0, 2.0]), 0.5, 3.0) == "higher"
    assert exp.verdict(np.array([-1.0, 1.0]), -2.0, 2.0) == "no difference detected"


def hand_made(shares):
    """shares[arm] = (F_own, F_base) per instance (three instances), one cell."""
    rows = [{"temperature": 1.0, "beta": 1.0, "instance": i, "arm": arm, "kappa0": 9.0,
             "failure_own": own[i], "failure_base": base[i], "mode_switches": 0.0,
             "population_own": 0.0, "population_base": 0.0}
            for arm, (own, base) in shares.items() for i in range(3)]
    return {"temperatures": [1.0], "betas": [1.0], "instances": 3, "rounds": 5, "n": 2,
            "rows": rows}


def test_summarise_where_the_predictions_hold():
    summary = exp.summarise(hand_made({
        "iterated": ([0.0, 0.1, 0.0], [0.8, 0.7, 0.9]),
        "one_step": ([0.5, 0.6, 0.55], [0.5, 0.4, 0.6]),
        "matched": ([0.0, 0.1, 0.0], [0.3, 0.2, 0.35])}))
    assert summary["p2_b_diff_own_one_step_t10_b100_verdict"] == "lower"
    assert summary["p2_b_diff_own_matched_t10_b100_verdict"] == "identical in every instance"
    assert summary["p2_b_diff_base_matched_t10_b100_verdict"] == "higher"
    assert (summary["p2_b_beats_one_step"], summary["p2_b_not_better_than_matched"],
            summary["p2_b_worse_base_than_matched"]) == (1, 1, 1)
    assert summary["p2_b_diff_base_matched_t10_b100_mdd"] > 0


def test_summarise_where_the_predictions_fail():
    summary = exp.summarise(hand_made({
        "iterated": ([0.0, 0.1, 0.0], [0.2, 0.1, 0.15]),
        "one_step": ([0.0, 0.05, 0.05], [0.5, 0.4, 0.6]),
        "matched": ([0.5, 0.6, 0.55], [0.5, 0.45, 0.6])}))
    assert summary["p2_b_diff_own_one_step_t10_b100_verdict"] == "no difference detected"
    assert summary["p2_b_diff_own_matched_t10_b100_verdict"] == "lower"
    assert summary["p2_b_diff_base_matched_t10_b100_verdict"] == "lower"
    assert (summary["p2_b_beats_one_step"], summary["p2_b_not_better_than_matched"],
            summary["p2_b_worse_base_than_matched"]) == (0, 0, 0)


@pytest.mark.parametrize("change, field", [
    ({"temperatures": ()}, "temperatures"), ({"betas": (0.0,)}, "betas"),
    ({"rounds": 1}, "rounds"), ({"n": 0}, "n"), ({"instances": 1}, "instances"),
])
def test_validate_names_the_bad_field(change, field):
    with pytest.raises(ConfigError) as error:
        exp.Config(**change).validate()
    assert error.value.field == field


def test_table_and_plot(values):
    table = exp.table(values)
    assert len(table) == 4 and set(table["verdict"]) <= {
        "lower", "higher", "no difference detected", "identical in every instance"}
    fig = exp.plot(values)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    plt.close(fig)


def test_runs_from_the_command_line(tmp_path):
    options = "--prompts 10 --responses 6 --instances 2 --betas 0.5"
    argv = ["experiment", "sharpening-budget", *options.split(),
            "--results-dir", str(tmp_path)]
    assert main(argv) == 0
    assert load_record("sharpening-budget", tmp_path).values["instances"] == 2
