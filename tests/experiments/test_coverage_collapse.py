import numpy as np
import pytest
import torch

from srlm_core import ConfigError
from srlm_core.experiments import coverage_collapse as cc
from srlm_core.experiments.coverage import tabular_problem
from srlm_core.model.pair_counts import PairCounts, expected_pair_counts


def test_config_validates_and_names_the_field():
    cc.Config().validate()
    with pytest.raises(ConfigError, match="margin"):
        cc.Config(margin=0.0).validate()
    with pytest.raises(ConfigError, match="mixes"):
        cc.Config(mixes=(1.0,)).validate()


def test_strongly_connected_win_graphs():
    chain = np.array([[0, 1, 1], [0, 0, 1], [0, 0, 0]], bool)  # 0 > 1 > 2: separable
    cycle = np.array([[0, 1, 0], [0, 0, 1], [1, 0, 0]], bool)  # 0 > 1 > 2 > 0
    assert cc.strongly_connected(np.stack([chain, cycle])).tolist() == [False, True]


def test_round_diagnostics_on_hand_made_counts():
    # one seed, two prompts, K = 3, pairs (0,1), (0,2), (1,2); n = 10 with 4 ties
    counts = torch.tensor([[[2.0, 0.0, 1.0], [1.0, 1.0, 1.0]]])
    wins = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]])
    out = cc.round_diagnostics(PairCounts(10, counts, wins), K=3)
    assert out["ties"] == [pytest.approx(0.4)]
    assert out["informed"] == [2]
    # prompt 1: 0 beats 2, 1 beats 2, 1 beats 0... 2 beats nobody: not connected
    assert out["exists"] == [0]


def test_mixture_sampling_puts_the_reference_back_into_the_pairs():
    problem = tabular_problem(2, 3, 8.0, 0.9)
    sharp = problem.theta_ref.clone()
    sharp[0::3] += 20.0  # the policy sits on response 0 of every prompt
    weight, _ = expected_pair_counts(problem, sharp[None], 1.0)
    mixed, _ = expected_pair_counts(problem, sharp[None], 1.0, mix=0.5)
    assert float(weight.sum()) < 1e-6  # almost every pair is a tie
    assert float(mixed.sum()) > 0.3


def hand_made(base_diff, ridge_diff, mix_diff, ties=0.95, seeds=16):
    rng = np.random.default_rng(0)

    def arm(ridge, mix, T, share):
        success = np.clip(np.round(16 * (share + 0.01 * rng.standard_normal(seeds))), 0, 16)
        rounds = [{"success": success.tolist(), "mass": [0.9] * seeds,
                   "ties": [ties] * seeds, "informed": [16] * seeds, "exists": [4] * seeds}
                  for _ in range(T)]
        return {"ridge": ridge, "mix": mix, "rounds": T, "n_round": 100, "per_round": rounds}

    arms = []
    for ridge, mix, diff in ((1e-4, 0.0, base_diff), (1.0, 0.0, ridge_diff),
                             (1e-4, 0.5, mix_diff)):
        arms += [arm(ridge, mix, 1, 0.95), arm(ridge, mix, 2, 0.95 + diff)]
    return {"contexts": 16, "seeds": seeds, "margin": 0.1, "tie_level": 0.9, "alpha": 1.0,
            "kappa": 8.0, "budget": 16.0, "arms": arms}


def test_summarise_verdicts_hold_on_a_collapse_that_the_fixes_remove():
    out = cc.summarise(hand_made(-0.7, 0.0, -0.02))
    assert (out["clp_p1"], out["clp_p2"], out["clp_p3"]) == ("holds", "holds", "holds")


def test_summarise_verdicts_fail_when_nothing_collapses_and_the_fixes_lose():
    out = cc.summarise(hand_made(0.0, -0.5, -0.3))
    assert (out["clp_p1"], out["clp_p2"], out["clp_p3"]) == ("fails", "fails", "fails")
    # a collapse without ties is not the mechanism
    assert cc.summarise(hand_made(-0.7, 0.0, 0.0, ties=0.5))["clp_p1"] == "fails"


def test_small_run_reproduces_the_collapse_and_closes_its_figure():
    import matplotlib.pyplot as plt

    config = cc.Config(rounds=(1, 2), ridges=(1e-4,), mixes=(0.0, 0.5), seeds=8)
    values = cc.run(config)
    rows = {(r["mix"], r["rounds"]): r for r in cc.table(values)}
    assert rows[(0.0, 2)]["diff"] < -0.3 < rows[(0.5, 2)]["diff"]
    assert rows[(0.0, 2)]["ties_later"] > rows[(0.5, 2)]["ties_later"]
    plt.close(cc.plot(values))
