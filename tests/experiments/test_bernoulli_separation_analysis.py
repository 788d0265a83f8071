import numpy as np

from srlm_core.experiments import bernoulli_separation_analysis as bs


def tournament(order, K):
    """Hard labels where answer order[i] beats order[j] for i < j (transitive)."""
    labels = np.full((K, K), 0.5)
    for i, a in enumerate(order):
        for b in order[i + 1:]:
            labels[a, b], labels[b, a] = 1.0, 0.0
    return labels


def test_transitive_labels_are_separable_and_a_cycle_is_not():
    assert bs.separable(tournament([2, 0, 1, 3], 4))
    cycle = tournament([0, 1, 2], 3)
    cycle[0, 2], cycle[2, 0] = 0.0, 1.0  # 0 > 1 > 2 > 0
    assert not bs.separable(cycle)
    # a cycle among three answers that all beat a fourth: still separable
    four = tournament([0, 1, 2, 3], 4)
    four[0, 2], four[2, 0] = 0.0, 1.0
    assert bs.separable(four)


def hand_made(ratio, spread_b, spread_s, sep):
    return {"prompts": 3, "K": [6],
            "bernoulli": {"ratio": ratio, "coordinate": [-1.0] + [0.0] * (len(ratio) - 1),
                          "orthogonal": [0.0] + [1.0] * (len(ratio) - 1),
                          "spread": spread_b, "separable": sep},
            "soft": {"ratio": ratio, "coordinate": ratio, "orthogonal": ratio,
                     "spread": spread_s}}


def test_summarise_words_hold_on_a_rising_over_sharpened_arm():
    out = bs.summarise(hand_made([1.0, 1.05, 1.3, 1.6], [0, 1.2, 1.6, 2.0], [0, 0.5, 0.9, 1.0],
                                 [0.5, 0.6, 0.8]))
    assert out["bsep_shape"] == "rises"
    assert out["bsep_floor"].startswith("That is not")
    assert out["bsep_coord_side"] == "short of the target"  # hand-made coordinate 0
    assert out["bsep_oversharpens"] == "over-sharpens"
    assert out["bsep_sep_trend"] == "grows"


def test_summarise_words_fail_on_a_contracting_arm():
    out = bs.summarise(hand_made([1.0, 0.6, 0.5, 0.4], [0, 0.5, 0.8, 0.9], [0, 0.5, 0.9, 1.0],
                                 [0.5, 0.4, 0.3]))
    assert out["bsep_shape"] == "falls"
    assert out["bsep_floor"].startswith("The record does not")
    assert out["bsep_oversharpens"] == "does not over-sharpen"
    assert out["bsep_sep_trend"] == "shrinks"
