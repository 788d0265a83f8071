import math

from srlm_core.lm.pairs import build_pairs, conversational

P = [{"instruction": f"q{i}"} for i in range(4)]


def test_best_against_worst_with_margin():
    cands = [["a", "b", "c"], ["d", "e", "f"], ["g", "h", "i"], ["j", "k", "l"]]
    scores = [[2.0, 4.5, 1.0], [3.0, 3.1, 3.0], [math.nan, 2.0, math.nan], [5.0, 1.0, 5.0]]
    pairs = build_pairs(P, cands, scores, min_margin=0.5)
    assert [(p["chosen"], p["rejected"]) for p in pairs] == [("b", "c"), ("j", "k")]
    assert pairs[0]["margin"] == 3.5
    assert len(build_pairs(P, cands, scores, min_margin=0.05)) == 3  # the 3.1 vs 3.0 pair joins


def test_identical_texts_are_not_a_pair():
    assert build_pairs(P[:1], [["same", "same"]], [[1.0, 4.0]], 0.1) == []


def test_conversational_format():
    (row,) = conversational(build_pairs(P[:1], [["a", "b"]], [[1.0, 4.0]], 0.1))
    assert row["prompt"] == [{"role": "user", "content": "q0"}]
    assert row["chosen"][0]["content"] == "b" and row["rejected"][0]["content"] == "a"
