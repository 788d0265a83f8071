"""Coverage on the real model: the per-prompt table by hand, associations that are there when
made and absent when not, and the numbers on the stored records."""

import json
import math

import matplotlib
import numpy as np
import pytest

from srlm_core.experiments import lm_coverage_analysis as lc
from srlm_core.publishing.provenance import REPO_ROOT

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

C, K, P = 2.0, 4, 16


def _records(shortfall_of, edited_from=12):
    """P training prompts with g = (1, 0, 1, 0); prompt p has sampled coverage p / P and pool
    log-likelihoods that put mass p / P on the passing answers.  The single step ends at
    E_1 / E_0 = 0.5 + gap, the iterated arm at 0.5 + gap - shortfall_of(p)."""
    g = np.tile([1, 0, 1, 0], P)
    logp0 = []
    for p in range(P):
        share = (p + 0.5) / P
        logp0 += [np.log(share / 2), np.log((1 - share) / 2)] * 2
    pool = {"prompt_ids": list(range(P)), "split": ["train"] * P, "sizes": [K] * P,
            "g": g.tolist(), "edited": [p >= edited_from for p in range(P) for _ in range(K)],
            "logp0": logp0, "pi0_sampled": {"prompt_ids": [], "pass_rate": []}}

    def arm(alpha, rounds, factor, epoch_factor=1):
        rows = [np.zeros(K * P)]
        for t in range(1, rounds + 1):
            per_answer = np.repeat([factor(p, t) for p in range(P)], K)
            rows.append(C * g * (1 - per_answer))
        return {"alpha": alpha, "rounds": rounds, "reference": "fixed", "labels": "soft",
                "epoch_factor": epoch_factor, "h": [r.tolist() for r in rows]}

    main = {"pool": pool, "arms": {
        "alpha-1": arm(1.0, 1, lambda p, t: 0.1),
        "alpha-0.5": arm(0.5, 4, lambda p, t: (0.55 - shortfall_of(p)) if t == 4 else 0.6)}}
    contrast = {"pool": pool, "arms": {"single-step": arm(0.5, 1, lambda p, t: 0.55,
                                                          epoch_factor=4)}}
    scan = {"scan": [{"id": p, "sampled_pass_rate": p / P} for p in range(P)]}
    return scan, main, contrast


def test_prompt_table_by_hand():
    scan, main, contrast = _records(lambda p: 0.1)
    rows = lc.prompt_table(scan, main, contrast, scale=C)
    assert len(rows) == P and rows[0]["single"] == "single-step"
    assert rows[0]["iterated"] == "alpha-0.5" and rows[0]["rounds"] == 4
    for p, row in enumerate(rows):
        assert row["sampled_coverage"] == p / P
        assert row["pool_coverage"] == pytest.approx((p + 0.5) / P)
        assert row["single_ratio"] == pytest.approx(0.55)
        assert row["floor_gap"] == pytest.approx(0.05)
        assert row["shortfall"] == pytest.approx(0.1)
        assert row["edited"] == (p >= 12)


def test_association_found_where_made_and_not_where_absent():
    made = lc.analyse(*_records(lambda p: 0.3 - 0.02 * p), scale=C, n_boot=400)
    numbers = lc.chapter_numbers(made)
    assert made["sampled_coverage"]["shortfall"]["value"] == pytest.approx(-1.0)
    assert numbers["lmcov_sampled_iter_word"] == "a negative"
    assert numbers["lmcov_sampled_iter_low"] > numbers["lmcov_sampled_iter_high"]
    assert numbers["lmcov_verdict"] == "fails"
    rng = np.random.default_rng(3)
    noise = rng.permutation(np.linspace(0.0, 0.2, P))
    absent = lc.chapter_numbers(lc.analyse(*_records(lambda p: noise[p]), scale=C, n_boot=400))
    assert absent["lmcov_sampled_iter_word"] == "no detectable"


def test_spearman_handles_ties_and_constants():
    assert lc.spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert lc.spearman([0, 0, 1, 1], [1, 2, 3, 4]) == pytest.approx(np.sqrt(0.8))
    assert np.isnan(lc.spearman([1, 1, 1], [1, 2, 3]))


def test_on_the_stored_records():
    load = {name: json.loads((REPO_ROOT / f"data/results/{name}.json").read_text())["values"]
            for name in ("lm-pool", "lm-alpha", "lm-alpha-contrast")}
    analysis = lc.analyse(load["lm-pool"], load["lm-alpha"], load["lm-alpha-contrast"],
                          scale=2.0, n_boot=300)
    numbers = lc.chapter_numbers(analysis)
    assert numbers["lmcov_prompts"] == 24 and numbers["lmcov_alpha"] == 0.5
    assert 0.0 <= numbers["lmcov_sampled_min"] <= numbers["lmcov_sampled_max"] <= 1.0
    assert numbers["lmcov_edited"] + numbers["lmcov_sampled_only"] == 24
    assert numbers["lmcov_verdict"] in ("holds", "fails")
    figure = lc.plot(analysis)
    assert isinstance(figure, plt.Figure)
    plt.close(figure)


def test_detectable_correlation_is_fisher_z_with_the_spearman_variance():
    """With 31 prompts: tanh((1.95996 + 0.84162) sqrt(1.06 / 28)) = 0.500 (to 3 digits); it
    shrinks with more prompts and needs at least four."""
    assert lc.detectable_correlation(31) == pytest.approx(
        math.tanh((1.959964 + 0.841621) * math.sqrt(1.06 / 28)), rel=1e-6)
    assert lc.detectable_correlation(200) < lc.detectable_correlation(31)
    with pytest.raises(ValueError):
        lc.detectable_correlation(3)
