"""The language-model loop experiment: the config names its bad field, the summaries compute
the chapter's numbers and verdict words on hand-made runs whose answers are known (the
equal-budget check, the pre-registered verdicts), the figures and tables draw from the values,
and (slow) a tiny-model run is deterministic and gives the same values in one call as in
separate calls per arm."""

import json
import math

import matplotlib.pyplot as plt
import numpy as np
import pytest

from srlm_core.errors import ConfigError
from srlm_core.experiments import language_model_loop as lm
from srlm_core.lm.evaluation import summary
from srlm_core.publishing.results import load_record


def _answers(passed_per_prompt, shift=0.0, score_sign=1.0, drift=0.0):
    """Per-answer lists: prompt i has the verdicts passed_per_prompt[i]; the judge scores
    score_sign * verdict (+ a small index term), log pi_t - log pi_0 = drift + shift *
    (verdict - 1/2) + a small index term, so the signal share's sign follows score_sign."""
    prompt, passed = [], []
    for i, verdicts in enumerate(passed_per_prompt):
        prompt += [i] * len(verdicts)
        passed += list(verdicts)
    n = len(passed)
    noise = np.linspace(-0.1, 0.1, n)
    answers = {
        "prompt": prompt, "passed": passed, "finished": [True] * n,
        "compliance": [float(p) for p in passed], "length": [10 + (i % 3) for i in range(n)],
        "score": (score_sign * np.array(passed, float) + noise[::-1] * 0.3).tolist(),
        "validity": [0.6] * n,
        "logp": (-20 + drift + shift * (np.array(passed, float) - 0.5) + noise).tolist(),
        "logp_initial": [-20.0] * n, "logp_previous": [-20.0] * n,
    }
    return answers


def _evaluation(passed_per_prompt, iteration=0, shift=0.0, drift=0.0, train=None):
    answers = _answers(passed_per_prompt, shift, drift=drift)
    if iteration == 0:  # pi_0 itself: no implicit reward, no previous round
        answers.update(logp_initial=list(answers["logp"]), logp_previous=None)
    row = {**summary(answers), "answers": answers, "iteration": iteration}
    if train is not None:
        example = {"instruction": "Describe tea.", "constraints": [{"kind": "no_commas"}],
                   "candidates": ["tea is good", "tea, a drink", "x" * 200],
                   "finished": [True, True, False],
                   "scores": [4.2, 1.5, 3.0], "passes": [True, False, False],
                   "chosen": "tea is good", "rejected": "tea, a drink"}
        row.update(train=train, pair_label_right=2 / 3, pair_label_wrong=1 / 3,
                   candidate_finished_share=0.75, candidate_pass_rate=0.4,
                   rank_consistency=0.5 if iteration > 1 else None, example=example)
    return row


BASE = [[1, 0, 0, 0], [0, 0, 0, 0], [1, 1, 0, 0], [0, 0, 0, 1], [1, 0, 0, 0], [0, 1, 0, 0]]
BETTER = [[1, 1, 0, 0], [1, 0, 0, 0], [1, 1, 1, 0], [0, 0, 1, 1], [1, 1, 0, 0], [1, 1, 0, 0]]


def _values(fixed=BETTER, moving=BASE, drift_moving=1.0, pairs=(4, 4, 8), steps=(1, 1, 2)):
    """fixed and moving: the verdicts after round two; the moving arm's log-ratio is
    drift_moving nats above the fixed arm's pattern (KL gap 1 + 0.5 (1/4 - 1/2) = 0.875 by
    default)."""
    train = [{"pairs": p, "steps": s} for p, s in zip(pairs, steps, strict=True)]
    return {
        "lm_config": {"name": "lm-test", "arms": ["fixed", "moving", "single_step"],
                      "iterations": 2, "prompts_per_iteration": 6, "pairs_per_iteration": 4,
                      "candidates": 3, "heldout_prompts": 6, "heldout_samples": 4,
                      "max_new_tokens": 128, "prompts_file": "data/lm/prompts.json"},
        "baseline": _evaluation(BASE),
        "arms": {
            "fixed": [_evaluation(BASE, 1, 0.5, train=train[0]),
                      _evaluation(fixed, 2, 1.0, train=train[0])],
            "moving": [_evaluation(BASE, 1, 0.5, train=train[1]),
                       _evaluation(moving, 2, 0.5, drift_moving, train=train[1])],
            "single_step": [_evaluation(BASE, 2, 0.5, train=train[2])],
        },
        "stage_seconds": {"generate": 10.0, "judge": 5.0, "train": 20.0, "eval_generate": 10.0,
                          "eval_judge": 3.0, "eval_logprobs": 2.0},
        "precision": "float32", "wall_seconds": 90.0,
    }


def _record(**kwargs):
    values = _values(**kwargs)
    return {
        "command": "srlm lm run --config data/lm/configs/large.toml",
        "params": values["lm_config"],
        "provenance": {"wall_time_s": 600.0, "hardware": {"cpu": "a CPU"},
                       "git_commit": "0123456789abcdef"},
        "values": {k: values[k] for k in ("baseline", "arms", "precision", "stage_seconds")},
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


def _prompts_file(tmp_path):
    """A prompt file of 10 training and 6 held-out prompts in 2 held-out topics."""
    prompt = {"instruction": "Describe tea.", "constraints": [{"kind": "lowercase"},
                                                              {"kind": "no_commas"}]}
    path = tmp_path / "prompts.json"
    path.write_text(json.dumps({"train": [prompt] * 10, "heldout": [prompt] * 6,
                                "heldout_topics": 2}))
    return str(path)


def test_round_one_computes_the_shares_of_a_hand_made_run(tmp_path):
    values = _values()
    out = lm.round_one(values, {**values["lm_config"], "prompts_file": _prompts_file(tmp_path)})
    assert out == {
        "lm_n_train": 10, "lm_n_heldout": 6, "lm_heldout_topics": 2,
        "lm_example_instruction": "Describe tea.",
        "lm_pairs_round1": 4, "lm_prompts_round1": 6,
        "lm_pair_right": pytest.approx(200 / 3), "lm_pair_wrong": pytest.approx(100 / 3),
        "lm_candidate_finished": 75.0,
    }


def test_budget_check_names_unequal_budgets():
    assert lm.budget_check(_values()) == {"pairs": 4, "steps": 1, "equal": True}
    assert not lm.budget_check(_values(pairs=(4, 3, 8)))["equal"]
    assert not lm.budget_check(_values(pairs=(4, 4, 7)))["equal"]
    assert not lm.budget_check(_values(steps=(1, 1, 1)))["equal"]


def test_summarise_record_compares_arms_and_computes_the_verdicts():
    out = lm.summarise_record(_record())
    assert out["lm_large_budget"] == "equal" and out["lm_large_answers"] == 24
    assert out["lm_fixed_diff"] == pytest.approx(25.0) and out["lm_fixed_word"] == "higher"
    assert out["lm_moving_diff"] == pytest.approx(0.0, abs=1e-12)
    assert out["lm_moving_word"].startswith("no detectable change")
    assert out["lm_fm_diff"] == pytest.approx(25.0)
    assert out["lm_alpha_side"] == "positive"
    assert out["lm_signal_verdict"] == "holds"  # positive share and a gain
    # 6 evaluations of 6 prompts took 15 s: 15/36 s per prompt
    assert out["lm_alpha_hours_needed"] == pytest.approx(
        out["lm_alpha_prompts_needed"] * 15 / 36 / 3600)
    assert out["lm_consist_prompts"] <= 6 and out["lm_log_kappa0"] > 0
    assert out["lm_kl_gap"] == pytest.approx(0.875) and out["lm_drift_verdict"] == "holds"
    assert lm.summarise_record(_record(drift_moving=-2.0))["lm_drift_verdict"] == "fails"
    assert out["lm_large_commit"] == "0123456789" and out["lm_large_minutes"] == 10.0
    assert out["lm_large_precision"] == "float32"
    assert json.loads(json.dumps(out)) == out


@pytest.mark.parametrize(("side", "word", "verdict"), [
    ("positive", "higher", "holds"), ("positive", "lower", "fails"),
    ("negative", "lower", "holds"), ("negative", "higher", "fails"),
    ("positive", "no detectable change (the design detects 7 points)",
     "is not resolved: no detectable change (the design detects 7 points)"),
    ("indistinguishable from zero", "higher",
     "cannot be tested (the interval of the signal share contains 0)"),
    ("indistinguishable from zero", "lower",
     "cannot be tested (the interval of the signal share contains 0)"),
])
def test_signal_verdict(side, word, verdict):
    base = {"lm_kl_gap_lo": -0.1, "lm_kl_gap_hi": 0.2, "lm_consist_lo": -0.05,
            "lm_consist_hi": 0.1, "lm_consist_detectable": 0.15}
    out = lm.verdicts({**base, "lm_alpha_side": side, "lm_fixed_word": word})
    assert out["lm_signal_verdict"] == verdict
    assert out["lm_drift_verdict"] == "is not resolved (interval contains 0)"
    assert out["lm_consistency_verdict"] == ("is not resolved (interval contains 0; the design "
                                             "detects 0.15)")


@pytest.mark.parametrize(("lo", "hi", "verdict"), [(0.01, 0.2, "holds"), (-0.2, -0.01, "fails")])
def test_consistency_verdict_needs_the_interval_to_exclude_zero(lo, hi, verdict):
    numbers = {"lm_alpha_side": "positive", "lm_fixed_word": "higher", "lm_kl_gap_lo": 0.1,
               "lm_kl_gap_hi": 0.2, "lm_consist_lo": lo, "lm_consist_hi": hi,
               "lm_consist_detectable": 0.1}
    assert lm.verdicts(numbers)["lm_consistency_verdict"] == verdict


def test_summarise_record_on_the_stored_lm_large_record():
    record = load_record("lm-large")
    out = lm.summarise_record(record.content())
    assert out["lm_large_budget"] == "equal"
    assert out["lm_large_precision"] == "bf16"  # written before the precision key, in bf16
    assert out["lm_large_answers"] >= 200
    assert json.loads(json.dumps(out)) == out
    for arm, rows in record.values["arms"].items():
        for row in rows:
            assert len(row["answers"]["passed"]) == out["lm_large_answers"], arm


def test_tables_and_plots_draw_from_the_values(tmp_path):
    values = _values()
    prompts = lm.prompt_table(_prompts_file(tmp_path)).data
    assert prompts.iloc[0].tolist() == ["Describe tea.", "lowercase, no_commas"]
    example = lm.example_table(values).data
    assert example.role.tolist() == ["chosen", "rejected", ""]
    assert len(example.candidate[2]) == 160 and example.candidate[2].endswith("...")
    rows = lm.table_rows(values)
    assert [(r["arm"], r["round"]) for r in rows] == [
        ("initial", 0), ("fixed", 1), ("fixed", 2), ("moving", 1), ("moving", 2),
        ("single_step", 2)]
    assert math.isnan(rows[0]["alpha_hat"])  # undefined at t = 0
    table = lm.pass_table(values).data
    assert table.arm.tolist()[0] == "initial" and table["α̂ [95%]"][0] == "undefined"
    for fig in (lm.plot_pass(values), lm.plot_diagnostics(values)):
        assert isinstance(fig, plt.Figure)
        plt.close(fig)


TINY = {"arms": ["fixed", "moving"], "iterations": 2, "prompts_per_iteration": 2,
        "pairs_per_iteration": 2, "candidates": 2, "heldout_prompts": 2, "heldout_samples": 2,
        "max_new_tokens": 4, "batch_size": 2}


@pytest.mark.slow
def test_tiny_run_is_deterministic_and_resumable(tmp_path):
    config = lm.Config("data/lm/configs/smoke.toml", TINY)
    once = lm.run(config)
    lm.run(config, tmp_path, arms=[])
    lm.run(config, tmp_path, arms=["fixed"])
    split = lm.run(config, tmp_path)

    def strip(values):
        return {k: v for k, v in values.items() if k not in ("stage_seconds", "wall_seconds")}

    assert json.dumps(strip(once), sort_keys=True) == json.dumps(strip(split), sort_keys=True)
    assert [r["iteration"] for r in split["arms"]["moving"]] == [1, 2]
    assert set(split["stage_seconds"]) >= {"train", "eval_generate"}
    assert lm.round_one(split, split["lm_config"])["lm_prompts_round1"] == 2
