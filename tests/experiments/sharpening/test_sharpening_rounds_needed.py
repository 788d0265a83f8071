"""Corollary 5.7 in the tabular setting: rounds until 90% of prompts are confident."""

import json

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from srlm_core import ConfigError
from srlm_core.cli import main
from srlm_core.experiments.sharpening import sharpening_rounds_needed as exp
from srlm_core.publishing.results import load_record

SMALL = exp.Config(prompts=20, responses=8, temperatures=(0.5, 2.0), rounds=12, ns=(2, 16),
                   instances=3)


@pytest.fixture(scope="module")
def values():
    return exp.run(SMALL)


def test_run_counts_rounds_per_cell(values):
    assert json.loads(json.dumps(values)) == values
    assert len(values["rows"]) == 2 * 2 * 3 and len(values["problems"]) == 2 * 3
    for row in values["rows"]:
        assert row["t90"] == exp.first_round(row["failures"])
    assert all(p["kappa0"] * p["c"] <= 1 + 1e-12 for p in values["problems"])


def test_first_round():
    assert exp.first_round([1.0, 0.5, 0.1, 0.0]) == 2
    assert exp.first_round([1.0, 0.5]) is None


def hand_made(counts, population):
    """counts[tau][n] per instance (two instances), kappa_0 = 20, c = 0.05, one temperature
    per entry."""
    rows, problems = [], []
    taus = sorted(counts)
    ns = sorted(next(iter(counts.values())))
    for tau in taus:
        for i in range(2):
            problems.append({"temperature": tau, "instance": i, "kappa0": 20.0 / tau, "c": 0.05,
                             "population": population[tau]})
            rows += [{"temperature": tau, "n": n, "instance": i, "t90": counts[tau][n][i],
                      "failures": []} for n in ns]
    return {"temperatures": taus, "ns": ns, "rounds": 20, "beta": 1.0, "instances": 2,
            "tolerance": 0.5,
            "rows": rows, "problems": problems}


def test_summarise_where_the_counts_saturate_at_the_population():
    summary = exp.summarise(hand_made({1.0: {2: [9, 9], 8: [6, 6], 32: [5, 5]},
                                       2.0: {2: [6, 6], 8: [4, 4], 32: [3, 3]}},
                                      {1.0: 5, 2.0: 3}))
    assert summary["p2_r_monotone_verdict"] == "never rises with n"
    assert summary["p2_r_population_gap"] == 0
    assert summary["p2_r_population_verdict"] == "matches the population"
    assert summary["p2_r_ratio_t10"] == pytest.approx(6 / 5)
    assert summary["p2_r_paper_ratio_t10"] > 1.2
    assert summary["p2_r_censored_runs"] == 0


def test_summarise_where_the_counts_rise_and_miss_the_population():
    summary = exp.summarise(hand_made({1.0: {2: [5, 5], 8: [7, 7], 32: [9, None]}},
                                      {1.0: 3}))
    assert summary["p2_r_monotone_verdict"] == "rises with n somewhere"
    assert summary["p2_r_censored_runs"] == 1
    hand = hand_made({1.0: {2: [4, 4], 8: [5, 5], 32: [6, 6]}}, {1.0: 3})
    summary = exp.summarise(hand)
    assert summary["p2_r_population_verdict"] == "departs from the population"
    assert summary["p2_r_monotone_verdict"] == "rises with n somewhere"


@pytest.mark.parametrize("change, field", [
    ({"temperatures": (1.0,)}, "temperatures"), ({"temperatures": (1.0, 0.5)}, "temperatures"),
    ({"ns": (8,)}, "ns"), ({"rounds": 1}, "rounds"), ({"tolerance": 0.0}, "tolerance"),
    ({"instances": 1}, "instances"),
])
def test_validate_names_the_bad_field(change, field):
    with pytest.raises(ConfigError) as error:
        exp.Config(**change).validate()
    assert error.value.field == field


def test_plot_is_a_figure(values):
    fig = exp.plot(values)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    plt.close(fig)


def test_runs_from_the_command_line(tmp_path):
    options = "--prompts 10 --responses 6 --instances 2 --ns 2,16"
    argv = ["experiment", "sharpening-rounds-needed", *options.split(),
            "--results-dir", str(tmp_path)]
    assert main(argv) == 0
    assert load_record("sharpening-rounds-needed", tmp_path).values["instances"] == 2
