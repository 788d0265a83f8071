"""The temperature-sweep table of the paper's loop on SmolLM2
(:mod:`srlm_core.experiments.sharpening.likelihood_self_reward_figures`) from a hand-made
summary."""

from srlm_core.experiments.sharpening.likelihood_self_reward_figures import sweep_table


def test_sweep_table_lists_the_temperatures_and_the_other_pair_counts():
    summary = {"share_level": 0.9, "rounds": 3,
               "tau_table": [{"tau": 0.7, "log_kappa0": 1.0, "rounds": 2, "final_share": 0.95},
                             {"tau": 1.0, "log_kappa0": 2.0, "rounds": None,
                              "final_share": 0.5}],
               "pairs_table": [{"pairs": 1, "log_kappa0": 2.0, "rounds": None,
                                "final_share": 0.4},
                               {"pairs": 2, "log_kappa0": 2.0, "rounds": None,
                                "final_share": 0.5}]}
    table = sweep_table(summary, tau=1.0, pairs=2).data
    assert table["τ"].tolist() == [0.7, 1.0, 1.0]
    assert table["pairs per prompt"].tolist() == [2, 2, 1]
    assert table["rounds to share ≥ 0.9"].tolist() == ["2", "> 3", "> 3"]
