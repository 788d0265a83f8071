"""The loss swap: every update against the population, paired over instances."""

import json

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from srlm_core import ConfigError
from srlm_core.cli import main
from srlm_core.experiments.sharpening import sharpening_loss_swap as swap
from srlm_core.model.sharpening import loss_variants

SMALL = swap.Config(pairs_grid=(2, 8), prompts=10, responses=6, rounds=2, instances=3)
ARMS = (swap.POPULATION, *loss_variants.UPDATES)


@pytest.fixture(scope="module")
def values():
    return swap.run(SMALL)


def test_mean_contraction():
    assert swap.mean_contraction([5.0, 3.0, 2.0]) == pytest.approx(0.5)


def test_run_is_json_and_squared_equals_soft_logistic(values):
    assert json.loads(json.dumps(values)) == values
    assert len(values["rows"]) == 3 * 2 * len(ARMS) * 3  # instances, n, arms, rounds
    summary = swap.summarise(values)
    assert summary["p5_identity"] == "the same policy"
    start = {r["kappa"] for r in values["rows"] if r["t"] == 0 and r["instance"] == 0}
    assert len(start) == 1  # every arm starts from the same pi_0


def hand_made(q, identity_gap=0.0, switches=None):
    """Instances with kappa_0 = 3 and one round: kappa_1 = 1 + 2 q (per arm and n, jittered)."""
    rows = []
    switches = switches or {}
    for i, jitter in enumerate((0.98, 1.0, 1.02)):
        for n in (4, 16):
            for arm in ARMS:
                ratio = q[arm][n] * (1.0 if arm == swap.POPULATION else jitter)
                for t, kappa in enumerate((3.0, 1.0 + 2.0 * ratio)):
                    rows.append({"instance": i, "pairs": n, "update": arm, "t": t,
                                 "kappa": kappa, "failure_own": 0.0, "failure_base": 0.0,
                                 "mode_switches": switches.get(arm, 0.2) * jitter * t})
    config = {**SMALL.__dict__, "pairs_grid": [4, 16], "rounds": 1, "instances": 3}
    return {"config": config, "rows": rows,
            "identity": [{"instance": 0, "pairs": 4, "max_log_gap": identity_gap}]}


def test_summarise_where_the_predictions_hold():
    q = {swap.POPULATION: {4: 0.5, 16: 0.5}, "squared": {4: 0.8, 16: 0.55},
         "logistic_soft": {4: 0.8, 16: 0.55}, "squared_ridge": {4: 0.8, 16: 0.55},
         "logistic_bt": {4: 0.4, 16: 0.4}}
    s = swap.summarise(hand_made(q, switches={"logistic_bt": 0.6}))
    assert s["p5_q_squared_n4"] == pytest.approx(0.8, rel=1e-3)
    assert (s["p5_identity"], s["p5_sq_pop_n4_verdict"], s["p5_shrink_verdict"],
            s["p5_bt_sqr_n4_verdict"], s["p5_switch_n4_verdict"]) == (
        "the same policy", "slower", "shrinks", "faster", "more")


def test_summarise_where_the_predictions_fail():
    q = {swap.POPULATION: {4: 0.5, 16: 0.5}, "squared": {4: 0.5, 16: 0.7},
         "logistic_soft": {4: 0.5, 16: 0.7}, "squared_ridge": {4: 0.5, 16: 0.7},
         "logistic_bt": {4: 0.8, 16: 0.8}}
    s = swap.summarise(hand_made(q, identity_gap=1e-3, switches={"logistic_bt": 0.05}))
    assert (s["p5_identity"], s["p5_sq_pop_n4_verdict"], s["p5_shrink_verdict"],
            s["p5_bt_sqr_n4_verdict"], s["p5_switch_n4_verdict"]) == (
        "different policies", "alike", "grows", "slower", "fewer")


@pytest.mark.parametrize("change, field", [
    ({"updates": ("squared",)}, "updates"), ({"pairs_grid": (4,)}, "pairs_grid"),
    ({"pairs_grid": (8, 4)}, "pairs_grid"), ({"rounds": 0}, "rounds"),
    ({"instances": 1}, "instances"), ({"ridge": 0.0}, "ridge"), ({"beta": -1.0}, "beta"),
])
def test_validate_names_the_bad_field(change, field):
    with pytest.raises(ConfigError) as error:
        swap.Config(**change).validate()
    assert error.value.field == field


def test_plot_is_a_figure(values):
    fig = swap.plot(values)
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    plt.close(fig)


def test_the_command_line_runs_it(tmp_path):
    argv = ["experiment", "sharpening-loss-swap", "--pairs-grid", "2,4", "--prompts", "6",
            "--responses", "5", "--rounds", "2", "--instances", "2", "--results-dir",
            str(tmp_path)]
    assert main(argv) == 0
    record = json.loads((tmp_path / "sharpening-loss-swap.json").read_text())
    assert "identity" in json.dumps(record)
