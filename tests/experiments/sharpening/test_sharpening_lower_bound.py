"""Theorem 4.1 on its hard instance: the experiment's values, verdicts and checks."""

import json

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from srlm_core import ConfigError
from srlm_core.cli import main
from srlm_core.experiments.sharpening import sharpening_lower_bound as X
from srlm_core.publishing.results import load_record

SMALL = X.Config(d=4, kappa_budget=6.0, budgets=(64, 256), rounds=2, draws=4, fixed_at=64,
                 fixed_draws=3)


@pytest.fixture(scope="module")
def values():
    return X.run(SMALL)


def test_instances_follow_the_budget():
    c = X.Config()
    for budget in c.budgets:
        inst = c.instance(budget)
        assert inst.epsilon == pytest.approx(0.5 * np.sqrt(32 * 16 / budget))
        assert inst.kappa0 <= 16
        # one more response would break the condition-number budget
        assert (1 - inst.epsilon) + inst.epsilon * (inst.M + 1) / 2 > 16


def test_small_run_is_deterministic_plain_data(values):
    assert json.loads(json.dumps(values)) == values
    assert X.run(SMALL) == values
    for arm in X.ARMS:
        base = np.array(values[f"{arm}_base"])
        assert base.shape == (2, 4)
        # failures live on the informative prompts only: at most epsilon
        assert np.all(base <= np.array(values["epsilon"])[:, None] + 1e-12)
    # the tabular update is never confidently wrong: its two events coincide
    assert values["tabular_own"] == values["tabular_base"]
    fixed = values["fixed"]
    assert fixed["epsilon"] == SMALL.instance(64).epsilon and fixed["M"] == SMALL.instance(64).M
    assert np.array(fixed["erm_base"]).shape == (2, 3)
    assert fixed["coverage"] == pytest.approx(4 * fixed["M"] / fixed["epsilon"])
    assert fixed["closed"][1] < fixed["closed"][0] <= fixed["epsilon"]


def test_one_round_learners_fail_only_where_the_bump_went_unseen():
    inst = SMALL.instance(64)
    unseen = []
    for seed in range(6):
        row = X.one_draw(SMALL, inst, 64, np.random.default_rng(seed))
        # beta is small: one pair showing a bump lifts it above 1/2 for both learners, so they
        # fail only where the bump went unseen (the tabular update exactly there)
        assert row["erm"][0] <= inst.epsilon * row["unseen"] + 1e-12
        assert row["tabular"][0] == pytest.approx(inst.epsilon * row["unseen"])
        unseen.append(row["unseen"])
    assert 0 < max(unseen) and min(unseen) < 1  # both cases occur


def hand_made(erm_base, loop_base=None, erm_own=None, shape=(0.1, 0.05), c0=0.1):
    budgets = [100, 400]
    draws = len(erm_base[0])
    loop_base = loop_base if loop_base is not None else erm_base
    erm_own = erm_own if erm_own is not None else [[0.0] * draws] * 2
    return {"budgets": budgets, "epsilon": [0.2, 0.1], "M": [10, 20], "kappa0": [2, 2],
            "log_size": [1, 1], "shape": list(shape), "unseen_closed": [0.5, 0.5],
            "unseen": [[0.5] * draws, [0.5] * draws],
            "erm_base": erm_base, "erm_own": erm_own, "tabular_base": erm_base,
            "tabular_own": erm_base, "erm_loop_base": loop_base, "erm_loop_own": erm_own,
            "tabular_loop_base": erm_base, "tabular_loop_own": erm_base,
            "d": 4, "kappa_budget": 2, "scale": 0.5, "beta": 0.1, "rounds": 2, "draws": draws,
            "c0": c0,
            "slope_margin": 0.15, "loop_margin": 0.05, "own_ratio": 0.1,
            "fixed": {"budget": 100, "epsilon": 0.2, "M": 10, "kappa0": 2, "coverage": 200.0,
                      "shape": list(shape), "closed": [0.1, 0.001],
                      "erm_base": [[0.1, 0.1], [0.0, 0.0]],
                      "tabular_base": [[0.09, 0.11], [0.0, 0.002]]}}


def test_summarise_verdicts_both_ways():
    # F_base = eps * 0.6: 0.12 at N = 100 and 0.06 at 400, slope -1/2 like the shape
    held = X.summarise(hand_made([[0.11, 0.13], [0.05, 0.07]]))
    assert held["p1_bound_verdict"] == "holds" and held["p1_slope_verdict"] == "holds"
    assert held["p1_slope"] == pytest.approx(-0.5) and held["p1_slope_pred"] == pytest.approx(-0.5)
    assert held["p1_loop_verdict"] == "holds" and held["p1_own_verdict"] == "holds"
    assert held["p1_unseen_cover"] == 2 and held["p1_tab_own_equal"] == 0
    # the fixed instance falls under 0.1 x shape at N = 400, twice its coverage budget
    assert held["p1_fixed_verdict"] == "drops below" and held["p1_fixed_first_below"] == 400
    assert held["p1_fixed_first_below_ratio"] == 2.0 and held["p1_fixed_tab_cover"] == 2
    stays = hand_made([[0.11, 0.13], [0.05, 0.07]])
    stays["fixed"]["erm_base"] = [[0.1, 0.1], [0.05, 0.05]]
    summary = X.summarise(stays)
    assert summary["p1_fixed_verdict"] == "stays above"
    assert summary["p1_fixed_first_below"] == "none"
    # too small against the shape, too steep, a loop that beats one round, confident-free ERM
    failed = X.summarise(hand_made([[0.011, 0.013], [0.0005, 0.0007]],
                                   loop_base=[[0.0, 0.0], [0.0, 0.0]],
                                   erm_own=[[0.012, 0.012], [0.0006, 0.0006]]))
    assert failed["p1_bound_verdict"] == "fails" and failed["p1_slope_verdict"] == "fails"
    assert failed["p1_min_ratio"] == 0 and failed["p1_min_ratio_arm"] == "erm loop"
    assert failed["p1_loop_verdict"] == "fails" and failed["p1_loop_worst_arm"] == "erm loop"
    assert failed["p1_own_verdict"] == "fails" and failed["p1_own_max_ratio"] == pytest.approx(1)


@pytest.mark.parametrize("change, field", [
    ({"budgets": (64, 65)}, "budgets"), ({"budgets": (8, 64)}, "budgets"),
    ({"kappa_budget": 2.0}, "kappa_budget"), ({"draws": 1}, "draws"), ({"beta": 0.0}, "beta"),
    ({"c0": 0.0}, "c0"), ({"rounds": 0}, "rounds"), ({"fixed_at": 100}, "fixed_at"),
    ({"fixed_draws": 1}, "fixed_draws"),
])
def test_validate_names_the_bad_field(change, field):
    with pytest.raises(ConfigError) as error:
        X.Config(**change).validate()
    assert error.value.field == field


def test_plots_are_figures(values):
    for draw in (X.plot, X.plot_fixed):
        fig = draw(values)
        assert isinstance(fig, Figure)
        plt.close(fig)


def test_the_command_line_runs_it(tmp_path):
    argv = ["experiment", "sharpening-lower-bound", "--d", "4", "--kappa-budget", "6",
            "--budgets", "64,256", "--rounds", "2", "--draws", "2", "--fixed-at", "64",
            "--fixed-draws", "2", "--results-dir", str(tmp_path)]
    assert main(argv) == 0
    assert load_record("sharpening-lower-bound", tmp_path).values["budgets"] == [64, 256]
