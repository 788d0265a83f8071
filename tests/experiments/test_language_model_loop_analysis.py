"""The language-model loop's statistics over prompts
(:mod:`srlm_core.experiments.language_model_loop_analysis`) on hand-made answers whose
intervals, tests and consistency are known."""

import math

import numpy as np
import pytest

from srlm_core.experiments.language_model_loop_analysis import (
    alpha_interval,
    alpha_power,
    change_word,
    consistency_by_prompt,
    consistency_change,
    log_kappa_sampled,
    median_best_logp,
    paired_comparison,
    per_prompt,
    rate_interval,
)
from srlm_core.lm.evaluation import summary
from srlm_core.stats import minimum_detectable_difference
from tests.experiments.test_language_model_loop import BASE, BETTER, _answers


def test_consistency_by_prompt_counts_each_prompts_pairs():
    """Prompt 0: scores 3, 2, 1 and log-ratios 1, 2, 3: every pair reversed (0); prompt 1:
    scores 1, 2 and log-ratios 1, 2: consistent (1); prompt 2: equal log-ratios (NaN)."""
    answers = {"prompt": [0, 0, 0, 1, 1, 2, 2], "score": [3, 2, 1, 1, 2, 1, 2],
               "logp": [1, 2, 3, 1, 2, 5, 5], "logp_initial": [0] * 7}
    out = consistency_by_prompt(answers)
    assert out[:2].tolist() == [0.0, 1.0] and math.isnan(out[2])
    flipped = {**answers, "score": [1, 2, 3, 2, 1, 1, 2]}
    change = consistency_change(answers, flipped)  # prompt 0: +1, prompt 1: -1
    assert change["prompts"] == 2 and change["difference"] == pytest.approx(0.0)


def test_log_kappa_sampled_bounds_the_condition_number_from_the_samples():
    """Two prompts whose best sampled answers have probability 1/2 and 1/4: the sampled
    kappa is (2 + 4)/2 = 3, and the median best log-probability is log(3/8)."""
    answers = {"prompt": [0, 0, 1, 1], "logp": np.log([0.5, 0.1, 0.25, 0.2]).tolist()}
    assert log_kappa_sampled(answers) == pytest.approx(math.log(3.0))
    assert median_best_logp(answers) == pytest.approx(np.mean(np.log([0.5, 0.25])))


def test_alpha_power_scales_prompts_with_the_squared_half_width():
    out = alpha_power({"lo": -0.3, "hi": 0.5}, prompts=25, seconds_per_prompt=36.0)
    assert out["half_width"] == pytest.approx(0.4) and out["prompts"] == 400
    assert out["hours"] == pytest.approx(4.0)
    assert alpha_power({"lo": 0.0, "hi": 0.2}, 25, 1.0)["prompts"] == 25


def test_rates_and_paired_comparison_are_over_prompts():
    """Per-prompt pass rates of BETTER minus BASE: 1/4, 1/4, 1/4, 1/4, 1/4, 1/4 -> mean 1/4
    with zero spread: every resample gives 1/4 and every sign flip but the identity and its
    mirror is smaller in size, so the exact two-sided p is 2/64."""
    better, base = _answers(BETTER), _answers(BASE)
    assert per_prompt(base).tolist() == [0.25, 0.0, 0.5, 0.25, 0.25, 0.25]
    rate = rate_interval(base)
    assert rate["value"] == pytest.approx(1.5 / 6) and rate["prompts"] == 6
    assert rate["lo"] < rate["value"] < rate["hi"]
    c = paired_comparison(better, base)
    assert c["difference"] == pytest.approx(0.25) and (c["lo"], c["hi"]) == (0.25, 0.25)
    assert c["p_value"] == pytest.approx(2 / 64)
    assert c["detectable"] == 0.0 and c["prompts"] == 6
    d = per_prompt(_answers(BASE[::-1])) - per_prompt(base)
    c = paired_comparison(_answers(BASE[::-1]), base)
    assert c["difference"] == pytest.approx(0.0, abs=1e-12)
    assert c["detectable"] == pytest.approx(minimum_detectable_difference(d.std(ddof=1), 6))
    kl = per_prompt(_answers(BASE, shift=2.0), "log_ratio")
    assert kl.tolist() == pytest.approx(per_prompt(_answers(BASE, shift=2.0), "logp") + 20)


@pytest.mark.parametrize(("difference", "p", "word"), [
    (0.1, 0.01, "higher"), (-0.1, 0.01, "lower"),
    (0.1, 0.2, "no detectable change (the design detects 12 points)"),
])
def test_change_word(difference, p, word):
    assert change_word({"difference": difference, "p_value": p, "detectable": 0.12}) == word


def test_alpha_interval_keeps_the_sign():
    """A judge scoring the checker's verdict has a positive share, one scoring its opposite a
    negative one; the bootstrap over prompts brackets the point estimate."""
    answers = _answers(BETTER, shift=1.0)
    up = alpha_interval(answers)
    down = alpha_interval(_answers(BETTER, shift=1.0, score_sign=-1.0))
    assert up["value"] == pytest.approx(summary(answers)["alpha_hat"], abs=1e-12)
    assert up["value"] > 0.5 and down["value"] < -0.5
    assert up["lo"] <= up["value"] <= up["hi"] and down["lo"] <= down["value"] <= down["hi"]
