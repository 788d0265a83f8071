"""The language-model loop experiment: the config names its bad field, the summaries compute
the chapter's numbers and verdict words on hand-made runs whose answers are known, the
figures and tables draw from the values, and (slow) a tiny-model run is deterministic and
gives the same values in one call as in separate calls per arm."""

import json

import matplotlib.pyplot as plt
import pytest

from srlm_core.errors import ConfigError
from srlm_core.experiments import language_model_loop as lm
from srlm_core.publishing.results import load_record


def _row(iteration, pass_rate, lo, hi, kl=0.0, alpha=0.5, **extra):
    return {"iteration": iteration, "pass_rate": pass_rate, "pass_rate_lo": lo,
            "pass_rate_hi": hi, "judge_agreement": 0.4, "alpha_hat": alpha,
            "coef_truth": 0.2, "coef_loglik": -0.1, "consistency": 0.5 + 0.1 * iteration,
            "kl_to_initial": kl, "log_kappa_proxy": 3.0 - iteration,
            "mean_length": 20.0 + iteration, "judge_validity": 0.8, **extra}


def _arm_row(iteration, pass_rate, lo, hi, kl):
    example = {"instruction": "Describe tea.", "constraints": [{"kind": "no_commas"}],
               "candidates": ["tea is good", "tea, a drink", "x" * 200],
               "scores": [4.2, 1.5, 3.0], "passes": [True, False, False],
               "chosen": "tea is good", "rejected": "tea, a drink"}
    return _row(iteration, pass_rate, lo, hi, kl, train={"pairs": 3},
                pair_label_accuracy=2 / 3, pair_label_wrong=1 / 3, example=example)


def _arm(pass_rates, distances):
    """Rows whose sqrt(KL) from pi_0 after round t is distances[t - 1]."""
    return [_arm_row(t, p, p - 0.1, p + 0.1, d ** 2)
            for t, (p, d) in enumerate(zip(pass_rates, distances, strict=True), start=1)]


def _values():
    return {
        "lm_config": {"name": "lm-test", "arms": ["fixed", "moving"], "iterations": 2,
                      "prompts_per_iteration": 4, "candidates": 3},
        "prompts": {"n_train": 10, "n_heldout": 4, "heldout_topics": 2,
                    "examples": [{"instruction": "Describe tea.",
                                  "constraints": ["lowercase", "no_commas"]}]},
        "baseline": _row(0, 0.3, 0.2, 0.4),
        "judge_timing": {},
        "arms": {"fixed": _arm([0.35, 0.4], [1.0, 1.5]), "moving": _arm([0.3, 0.2], [1.0, 3.0])},
        "stage_seconds": {"generate": 10.0, "judge": 5.0, "train": 20.0, "eval_generate": 10.0,
                          "eval_judge": 3.0, "eval_logprobs": 2.0},
        "wall_seconds": 90.0,
    }


def _record(fixed_d=(1.0, 1.5, 1.75), moving_d=(1.0, 3.0, 7.0)):
    """A larger run: alpha-hat_0 = 0.5; with the default distances the fixed reference's
    steps halve (ratio 1/4 over two rounds) and the moving one's double (ratio 4)."""
    return {
        "command": "srlm lm run --config data/lm/configs/large.toml",
        "params": {"judge_max_new_tokens": 96, "judge_samples": 3, "iterations": 3,
                   "prompts_per_iteration": 6, "heldout_prompts": 8, "heldout_samples": 4},
        "provenance": {"wall_time_s": 600.0, "hardware": {"cpu": "a CPU"},
                       "git_commit": "0123456789abcdef"},
        "values": {
            "baseline": _row(0, 0.3, 0.2, 0.4),
            "judge_timing": {"responses": 4, "speed_ratio": 25.0, "generate_validity": 0.25,
                             "spearman": 0.5},
            "arms": {"fixed": _arm([0.35, 0.4, 0.6], fixed_d),
                     "moving": _arm([0.3, 0.2, 0.05], moving_d),
                     "single_step": [_arm_row(3, 0.3, 0.25, 0.45, 1.0)],
                     "oracle": _arm([0.4, 0.5, 0.55], (1.0, 1.2, 1.3))},
        },
    }


def test_config_validate_names_the_bad_field():
    assert lm.Config().validate() == lm.Config()
    assert lm.Config(overrides={"arms": ("fixed",)}).lm_config().arms == ("fixed",)
    with pytest.raises(ConfigError) as err:
        lm.Config(config_file="data/lm/configs/missing.toml").validate()
    assert err.value.field == "config_file"
    with pytest.raises(ConfigError) as err:
        lm.Config(overrides={"iteration": 3}).validate()
    assert err.value.field == "overrides" and "iteration" in str(err.value)
    with pytest.raises(ConfigError) as err:
        lm.Config(overrides={"iterations": 0}).validate()
    assert err.value.field == "overrides" and "iterations" in str(err.value)


def test_summarise_computes_the_shares_of_a_hand_made_run():
    out = lm.summarise(_values())
    assert out == {
        "lm_n_train": 10, "lm_n_heldout": 4, "lm_heldout_topics": 2,
        "lm_small_minutes": 1.5, "lm_small_train_share": 40.0,
        "lm_small_eval_share": 30.0, "lm_example_instruction": "Describe tea.",
        "lm_pairs_round1": 3, "lm_prompts_round1": 4,
        "lm_pair_right": pytest.approx(200 / 3), "lm_pair_wrong": pytest.approx(100 / 3),
    }


def test_kl_steps_are_increments_of_the_square_root():
    rows = [{"kl_to_initial": kl} for kl in (1.0, 4.0, -0.5, 9.0)]
    assert lm.kl_steps(rows) == [1.0, 1.0, -2.0, 3.0]  # a negative estimate counts as 0


@pytest.mark.parametrize(("fixed", "moving", "word"), [
    (0.5, 2.0, "held for both references"),
    (0.5, 0.8, "held only for the fixed reference"),
    (1.5, 2.0, "held only for the moving reference"),
    (1.5, 0.8, "held for neither reference"),
])
def test_direction_word(fixed, moving, word):
    assert lm.direction_word(fixed, moving) == word


def test_summarise_record_when_s1_direction_holds():
    out = lm.summarise_record(_record())
    assert out["lm_rounds_between"] == 2
    assert out["lm_ratio_fixed"] == pytest.approx(0.25)
    assert out["lm_ratio_moving"] == pytest.approx(4.0)
    assert out["lm_pred_fixed"] == pytest.approx(0.25)  # (1 - 0.5)^2
    assert out["lm_pred_moving"] == pytest.approx(2.25)  # (2 - 0.5)^2
    assert out["lm_direction"] == "held for both references"
    assert out["lm_kl_fixed"] == pytest.approx(1.75 ** 2)
    assert out["lm_self_gain"] == pytest.approx(30.0)
    assert out["lm_single_gain"] == pytest.approx(0.0)
    assert out["lm_oracle_gain"] == pytest.approx(25.0)
    assert out["lm_agree0_side"] == "below"
    assert out["lm_large_heldout"] == 32
    assert out["lm_large_commit"] == "0123456789"
    assert out["lm_large_minutes"] == 10.0


def test_summarise_record_when_s1_direction_fails():
    record = _record(fixed_d=(1.0, 3.0, 7.0), moving_d=(1.0, 1.5, 1.75))
    out = lm.summarise_record(record)
    assert out["lm_ratio_fixed"] == pytest.approx(4.0)
    assert out["lm_direction"] == "held for neither reference"


def test_summarise_record_on_the_stored_lm_large_record():
    record = load_record("lm-large")
    out = lm.summarise_record(record.content())
    base = record.values["baseline"]
    assert out["lm_rounds_between"] == record.params["iterations"] - 1
    assert out["lm_pred_fixed"] == (1 - base["alpha_hat"]) ** out["lm_rounds_between"]
    assert out["lm_large_heldout"] == 32
    assert json.loads(json.dumps(out)) == out


@pytest.mark.parametrize(("last", "word"), [
    ((0.6, 0.5, 0.7), "better (intervals disjoint)"),
    ((0.05, 0.0, 0.1), "worse (intervals disjoint)"),
    ((0.45, 0.3, 0.6), "no detectable change (intervals overlap)"),
])
def test_verdict_compares_wilson_intervals(last, word):
    values = {"baseline": _row(0, 0.3, 0.2, 0.4), "arms": {"fixed": [_row(1, *last)]}}
    assert lm.verdict(values, "fixed") == word


def test_tables_draw_from_the_values():
    values, record = _values(), _record()["values"]
    prompts = lm.prompt_table(values).data
    assert prompts.iloc[0].tolist() == ["Describe tea.", "lowercase, no_commas"]
    example = lm.example_table(values).data
    assert example.role.tolist() == ["chosen", "rejected", ""]
    assert len(example.candidate[2]) == 160 and example.candidate[2].endswith("...")
    table = lm.pass_table(record).data
    assert table.arm.tolist() == ["fixed reference", "moving reference", "single step",
                                  "oracle judge"]
    assert table["against the initial model"].tolist() == [
        "better (intervals disjoint)", "worse (intervals disjoint)",
        "no detectable change (intervals overlap)", "better (intervals disjoint)"]


def test_curves_and_plots():
    values, record = _values(), _record()["values"]
    rows = lm.curves(values, record)
    assert len(rows) == len(lm.METRICS) * (2 * 3 + 3 * 4 + 2)  # pi_0 is row 0 of every arm
    fig = lm.plot_pass(values, record)
    assert isinstance(fig, plt.Figure)
    assert [ax.get_title() for ax in fig.axes] == list(lm.RUNS)
    plt.close(fig)
    fig = lm.plot_diagnostics(values, record)
    assert isinstance(fig, plt.Figure)
    assert len([ax for ax in fig.axes if ax.get_title()]) == len(lm.METRICS) - 1
    plt.close(fig)


TINY = {"arms": ["fixed", "moving"], "iterations": 2, "prompts_per_iteration": 2,
        "candidates": 2, "heldout_prompts": 2, "heldout_samples": 2, "max_new_tokens": 4,
        "batch_size": 2, "timing_candidates": 0}


@pytest.mark.slow
def test_tiny_run_is_deterministic_and_resumable(tmp_path):
    config = lm.Config("data/lm/configs/smoke.toml", TINY)
    once = lm.run(config)
    lm.run(config, tmp_path, arms=[])
    lm.run(config, tmp_path, arms=["fixed"])
    split = lm.run(config, tmp_path)

    def strip(values):
        return {k: v for k, v in values.items() if k not in ("stage_seconds", "wall_seconds")}

    assert strip(once) == strip(split)
    assert json.loads(json.dumps(once)) == once
    assert [r["iteration"] for r in split["arms"]["moving"]] == [1, 2]
    assert set(split["stage_seconds"]) >= {"train", "eval_generate"}
    assert lm.summarise(split)["lm_prompts_round1"] == 2
