"""The analysis of the paper's loop: the recursion fit, the geometric fit, the share and
kappa-hat of a hand-built round, and the verdict of an ordering."""

import math

import numpy as np
import pytest

from srlm_core.experiments.sharpening import likelihood_self_reward_analysis as analysis


def test_recursion_fit_is_an_envelope_and_recovers_an_exact_recursion():
    a, b = 1.5, 0.8
    curves = []
    for k0 in (400.0, 60.0, 9.0):
        k = [k0]
        for _ in range(4):
            k.append(a + b * math.sqrt(k[-1]))
        curves.append(k)
    fit = analysis.fit_recursion(curves)
    assert fit["a"] == pytest.approx(a, abs=1e-6) and fit["b"] == pytest.approx(b, abs=1e-6)
    root = math.sqrt(b * b + 4 * a)
    assert fit["kappa_inf"] == pytest.approx(((b + root) / 2) ** 2)
    assert fit["q"] == pytest.approx(b / (b + root))
    noisy = [[k * (1 + 0.1 * np.sin(i + j)) for j, k in enumerate(c)]
             for i, c in enumerate(curves)]
    fit = analysis.fit_recursion(noisy)
    for c in noisy:
        for x, y in zip(c, c[1:]):
            assert y <= fit["a"] + fit["b"] * math.sqrt(x) + 1e-6


def test_geometric_fit():
    kappa = [1.3 + 0.4 ** t * (50 - 1.3) for t in range(5)]
    fit = analysis.geometric_fit(kappa)
    assert fit["q"] == pytest.approx(0.4, abs=0.02) and fit["r2"] > 0.99
    assert analysis.geometric_fit([50, 60, 40, 55, 45])["r2"] < 0.9


def _values(greedy_logp, base_logp):
    prompts = [{"split": s, "kind": "count", "answer": "1", "instruction": str(i), "id": i}
               for i, s in enumerate(["train", "train", "heldout"])]
    def ev(lp, blp):
        return {"greedy_logp": lp, "base_logp": blp, "beam_best_logp": [lp[0] + 0.1],
                "beam_second_logp": [lp[0] - 1.0], "agree_base": [True] * 3,
                "greedy_correct": [True, False, True], "greedy_len": [2, 4, 3],
                "greedy_finished": [True] * 3, "heldout_sampled_correct": [0.5],
                "heldout_sampled_len": [3.0]}
    return {"prompts": prompts, "arms": {"iterate-s0": {"rounds": [
        {"eval": ev(greedy_logp, base_logp)}]}}}


def test_round_rows_by_hand():
    lp = [math.log(0.6), math.log(0.25), math.log(0.5)]
    rows = analysis.round_rows(_values(lp, lp), "iterate-s0", "train")[0]
    assert rows["share"] == 0.5  # 0.6 > 1/2, 0.25 not
    assert rows["kappa"] == pytest.approx((1 / 0.6 + 4) / 2)
    assert rows["f_base"] == 0.5 and rows["greedy_acc"] == 0.5 and rows["length"] == 3
    assert rows["kappa_beam"] == pytest.approx(1 / (0.6 * math.exp(0.1)))
    assert rows["gamma_hat"] == pytest.approx(1.1)
    held = analysis.round_rows(_values(lp, lp), "iterate-s0", "heldout")[0]
    assert held["share"] == 0.0  # exactly 1/2 is not above 1/2
    assert held["sampled_acc"] == 0.5


@pytest.mark.parametrize("points, increasing, word", [
    ([(1.0, 2, 1.0), (2.0, 3, 1.0)], True, "holds"),
    ([(1.0, 3, 1.0), (2.0, 2, 1.0)], True, "fails"),
    ([(1.0, None, 0.4), (2.0, None, 0.2)], True, "holds"),
    ([(1.0, None, 0.2), (2.0, None, 0.2)], True, "not decided"),
    ([(2.0, 3, 1.0), (4.0, 1, 1.0)], False, "holds"),
])
def test_order_verdict(points, increasing, word):
    assert analysis._order_verdict(points, 3, "x", increasing).startswith(word)


def test_an_order_of_censored_arms_says_it_rests_on_the_final_share():
    censored = analysis._order_verdict([(1.0, None, 0.4), (2.0, None, 0.2)], 3, "x", True)
    assert censored.endswith("judged on the final share: no arm reached the level within 3 rounds)")
    reached = analysis._order_verdict([(1.0, 2, 1.0), (2.0, 3, 1.0)], 3, "x", True)
    assert "final share" not in reached


def test_seed_interval_resamples_seeds_and_prompts():
    """Two seeds on the two training prompts: 1/pi = (2, 4) and (2, 1/0.6); the
    share with pi > 1/2 is 0 (exactly 1/2 is not above) and 1/2 on the two seeds."""
    values = _values([math.log(0.5), math.log(0.25), 0.0], [0.0] * 3)
    second = _values([math.log(0.5), math.log(0.6), 0.0], [0.0] * 3)["arms"]["iterate-s0"]
    values["arms"]["iterate-s1"] = second
    arms = ["iterate-s0", "iterate-s1"]
    kappa = analysis.seed_prompt_matrix(values, arms, "train", 0)
    assert kappa.ravel().tolist() == pytest.approx([2.0, 4.0, 2.0, 1 / 0.6])
    mean, lo, hi = analysis.seed_interval(values, arms, "train", 0)
    assert mean == pytest.approx(kappa.mean()) and lo < mean < hi
    assert analysis.seed_prompt_matrix(values, arms, "train", 0, "share").tolist() == [
        [0.0, 0.0], [0.0, 1.0]]
