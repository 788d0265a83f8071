"""Margin collapse: planted near-ties under the finite-sample loop and the population."""

import json

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from srlm_core import ConfigError
from srlm_core.cli import main
from srlm_core.experiments.sharpening import sharpening_margins as margins
from srlm_core.model.sharpening import observables

SMALL = margins.Config(gaps=(0.0, 0.5), prompts=12, responses=6, rounds=2, instances=3)


@pytest.fixture(scope="module")
def values():
    return margins.run(SMALL)


def test_planted_policy_has_the_planted_margin():
    rng = np.random.default_rng(0)
    for gap in (0.0, 0.3):
        policy = margins.planted_policy(0.5 * rng.normal(size=(5, 7)), gap, 1.0)
        assert observables.log_margin(policy) == pytest.approx(np.full(5, gap), abs=1e-12)
        assert np.allclose(policy.sum(axis=-1), 1.0)


def test_base_margin_is_signed():
    probs = np.array([[0.5, 0.3, 0.2], [0.2, 0.5, 0.3]])
    margin = margins.base_margin(probs, np.array([0, 0]))
    assert margin == pytest.approx([np.log(0.5 / 0.3), np.log(0.2 / 0.5)])


def test_run_is_json_and_the_population_follows_the_closed_form(values):
    assert json.loads(json.dumps(values)) == values
    assert len(values["rows"]) == 3 * 2 * 3  # instances, gaps, rounds
    summary = margins.summarise(values)
    assert summary["p5_pop_match"] == "follows the closed form to rounding error"
    assert summary["p5_pop_tie_own"] == "1 at every round"
    start = [r for r in values["rows"] if r["t"] == 0]
    assert all(r["gamma"] == pytest.approx(r["gap"], abs=1e-12) for r in start)
    assert all(r["shrunk"] == 0 for r in start)


def hand_made(gamma, own_tie, untied_switch, switches, pop_offset=0.0, pop_own=1.0):
    """Three instances, gaps 0 and 0.5, rounds 0 and 1; per instance a small jitter."""
    rows = []
    for i, jitter in enumerate((-0.01, 0.0, 0.01)):
        for gap, switch in zip((0.0, 0.5), switches):
            for t in (0, 1):
                rows.append({
                    "instance": i, "gap": gap, "t": t,
                    "gamma": gap if t == 0 else gamma + jitter,
                    "mode_switches": 0.0 if t == 0 else switch + jitter,
                    "failure_base": 1.0 if t == 0 else switch + jitter,
                    "failure_own": 1.0 if t == 0 else (own_tie + jitter if gap == 0 else 0.0),
                    "switches_untied": untied_switch + jitter, "c": 0.1 + 0.1 * t,
                    "shrunk": 0.3 * t,
                    "pop_gamma": 2 ** t * gap + pop_offset, "pop_gamma_closed": 2 ** t * gap,
                    "pop_failure_own": pop_own if gap == 0 else 0.0})
    return {"config": {**SMALL.__dict__, "gaps": [0.0, 0.5], "rounds": 1, "instances": 3},
            "rows": rows}


def test_summarise_where_the_predictions_hold():
    s = margins.summarise(hand_made(gamma=0.05, own_tie=0.1, untied_switch=0.5,
                                    switches=(0.5, 0.1)))
    assert s["p5_ratio_g050"] == pytest.approx(0.1)
    assert s["p5_factor_g050"] == pytest.approx(10.0)
    assert s["p5_shrunk_g050"] == pytest.approx(0.3)
    assert (s["p5_c_at_start"], s["p5_c_ratio"]) == (1.0, 1.0)
    assert (s["p5_pop_match"], s["p5_pop_tie_own"]) == (
        "follows the closed form to rounding error", "1 at every round")
    assert (s["p5_collapse"], s["p5_tie_verdict"], s["p5_coin_verdict"],
            s["p5_switch_trend"]) == ("collapses", "breaks ties", "a coin flip",
                                      "fall with the gap")


def test_summarise_where_the_predictions_fail():
    s = margins.summarise(hand_made(gamma=0.5, own_tie=0.9, untied_switch=0.8,
                                    switches=(0.1, 0.3), pop_offset=0.1, pop_own=0.5))
    assert (s["p5_pop_match"], s["p5_pop_tie_own"]) == (
        "departs from the closed form", "below 1 at some round")
    assert (s["p5_collapse"], s["p5_tie_verdict"], s["p5_coin_verdict"],
            s["p5_switch_trend"]) == ("does not collapse", "keeps ties",
                                      "not shown to be a coin flip",
                                      "do not fall with the gap at every step")


@pytest.mark.parametrize("change, field", [
    ({"gaps": (0.1, 0.2)}, "gaps"), ({"gaps": (0.5, 0.0)}, "gaps"), ({"rounds": 0}, "rounds"),
    ({"pairs": 0}, "pairs"), ({"instances": 1}, "instances"), ({"responses": 2}, "responses"),
    ({"beta": 0.0}, "beta"), ({"lead": 0.0}, "lead"), ({"coin_margin": 0.0}, "coin_margin"),
])
def test_validate_names_the_bad_field(change, field):
    with pytest.raises(ConfigError) as error:
        margins.Config(**change).validate()
    assert error.value.field == field


def test_plot_is_a_figure(values):
    fig = margins.plot(values)
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    plt.close(fig)


def test_the_command_line_runs_it(tmp_path):
    argv = ["experiment", "sharpening-margins", "--gaps", "0,0.5", "--prompts", "8",
            "--responses", "5", "--rounds", "2", "--instances", "2", "--results-dir",
            str(tmp_path)]
    assert main(argv) == 0
    record = json.loads((tmp_path / "sharpening-margins.json").read_text())
    assert "rows" in json.dumps(record)
