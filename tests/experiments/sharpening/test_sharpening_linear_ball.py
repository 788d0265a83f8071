"""D3: projecting onto the B-ball stops kappa at a floor set by B, from round ceil(T†) on."""

import json
import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from srlm_core import ConfigError
from srlm_core.experiments.sharpening import sharpening_linear_ball as exp

SMALL = exp.Config(radii=(3.0, 6.0), ns=(16, 64), d=3, kappa0=4.0, rounds=3, prompts=16,
                   responses=8, instances=2)


@pytest.fixture(scope="module")
def values():
    return exp.run(SMALL)


def test_horizon_function_solves_the_ball_equation():
    t = exp.horizon_function()(20.0, 2.0, 0.25)
    assert 5.0**t * 2.0 == pytest.approx(20.0)


def test_run_is_json_and_stops_at_the_floor(values):
    assert json.loads(json.dumps(values)) == values
    assert len(values["rows"]) == 2 * 2 * 2 * 4
    for run in values["runs"]:
        assert run["plateau_round"] == math.ceil(run["horizon"])
    summary = exp.summarise(values)
    assert summary["p3_ball_full_runs"] >= 1
    assert summary["p3_ball_hit_verdict"] == "holds"
    assert summary["p3_ball_gap_verdict"] == "holds"
    floor = {b: np.mean([r["floor"] for r in values["runs"] if r["radius"] == b]) for b in (3, 6)}
    assert floor[3] > floor[6] >= 1.0
    assert "p3_ball_floor_B3" not in summary  # radii off the book's grid are not named


def hand_made(kappas, norms, full=True, radius=2.0, n=4):
    rows = [{"radius": radius, "n": n, "instance": 0, "t": t, "norm": norm, "kappa": k,
             "failure_own": 0.5, "switches": 0.0, "full_so_far": full}
            for t, (k, norm) in enumerate(zip(kappas, norms))]
    return {"radii": [radius], "ns": [n], "rounds": len(kappas) - 1, "instances": 1, "d": 2,
            "kappa0": 3.0, "prompts": 4, "responses": 3,
            "tolerance": 1e-9, "rows": rows,
            "runs": [{"radius": radius, "n": n, "instance": 0, "norm0": 1.0, "horizon": 0.4,
                      "plateau_round": 1, "floor": 1.5}]}


def test_summarise_where_the_predictions_hold():
    s = exp.summarise(hand_made([3.0, 1.5, 1.5], [1.0, 2.0, 2.0]))
    assert s["p3_ball_hit_verdict"] == "holds" and s["p3_ball_hits"] == 1
    assert s["p3_ball_gap_verdict"] == "holds" and s["p3_ball_gap"] == 0.0
    on_grid = exp.summarise(hand_made([3.0, 1.5, 1.5], [2.5, 5.0, 5.0], radius=5.0, n=16))
    assert on_grid["p3_ball_floor_B5"] == 1.5 and on_grid["p3_ball_horizon_B5_n16"] == 0.4


def test_summarise_where_the_predictions_fail():
    s = exp.summarise(hand_made([3.0, 2.0, 1.2], [1.0, 1.8, 2.0]))
    assert s["p3_ball_hit_verdict"] == "fails"
    assert s["p3_ball_gap_verdict"] == "fails"
    other = exp.summarise(hand_made([3.0, 2.0, 1.5], [1.0, 2.0, 2.0], full=False))
    assert other["p3_ball_full_runs"] == 0 and other["p3_ball_other_gap"] == pytest.approx(
        100 / 3)


@pytest.mark.parametrize("change, field", [
    ({"radii": ()}, "radii"), ({"ns": (0,)}, "ns"), ({"kappa0": 0.5}, "kappa0"),
    ({"d": 0}, "d"), ({"rounds": 0}, "rounds"), ({"tolerance": 0.0}, "tolerance"),
])
def test_validate_names_the_bad_field(change, field):
    with pytest.raises(ConfigError) as error:
        exp.Config(**change).validate()
    assert error.value.field == field


def test_plot_is_a_figure(values):
    fig = exp.plot(values)
    assert isinstance(fig, Figure) and len(fig.axes) == 2  # one row of two radii
    plt.close(fig)


@pytest.mark.parametrize("name, options", [
    ("sharpening-linear-ball", ["--radii", "3", "--ns", "16", "--d", "3", "--kappa0", "4",
                                "--rounds", "2", "--prompts", "8", "--responses", "6",
                                "--instances", "1"]),
    ("sharpening-linear-exact", ["--dims", "3", "--multiples", "2", "--kappa0", "3",
                                 "--rounds", "2", "--prompts", "8", "--responses", "6",
                                 "--instances", "1"]),
    ("sharpening-linear-rotation", ["--n", "4", "--dims", "2,4", "--decays", "0",
                                    "--ridge-scales", "0", "--kappa0", "3", "--rounds", "1",
                                    "--prompts", "8", "--responses", "6", "--instances", "2"]),
])
def test_the_command_line_runs_each_experiment(name, options, tmp_path):
    from srlm_core.cli import main
    from srlm_core.publishing.results import load_record

    assert main(["experiment", name, *options, "--results-dir", str(tmp_path)]) == 0
    assert load_record(name, tmp_path).values["rows"]
