"""The seed-level analysis of the controlled signal share on synthetic log-ratios whose answer
is known: cross-fitted P1 and S1's ordering hold when every seed follows the partial step and
fail when a share contracts at the wrong rate; the identity check catches a changed run."""

import numpy as np
import pytest

from srlm_core.experiments import controlled_alpha_seeds_analysis as seeds
from tests.experiments.test_controlled_alpha_analysis import C, _arm, _pool


def _seed_records(gamma=0.5, rho_025=None, rho_05=None, count=3):
    pool = _pool(np.random.default_rng(0))
    records = []
    for s in range(count):
        g = gamma + 0.01 * s  # the seeds differ a little
        records.append({"pool": pool, "arms": {
            "alpha-1": _arm(pool, 1.0, 2, lambda t, g=g: (1 - g) ** t, noise=0.02, seed=10 + s),
            "alpha-0.5": _arm(pool, 0.5, 4, lambda t, g=g: (rho_05 or 1 - g * 0.5) ** t,
                              noise=0.02, seed=20 + s),
            "alpha-0.25": _arm(pool, 0.25, 4, lambda t, g=g: (rho_025 or 1 - g * 0.25) ** t,
                               noise=0.02, seed=30 + s)}})
    return records


def test_cross_fitted_p1_and_the_ordering_hold_on_the_recursion():
    out = seeds.analyse(_seed_records(), scale=C, resamples=300)
    assert out["seeds"] == 3 and out["train_prompts"] == 12
    assert out["gamma"]["value"] == pytest.approx(0.51, abs=0.02)
    assert out["gamma_folds"]["even"] == pytest.approx(out["gamma_folds"]["odd"], abs=0.02)
    for name, alpha in (("alpha-0.5", 0.5), ("alpha-0.25", 0.25)):
        arm = out["arms"][name]
        assert arm["holds"], name
        assert arm["rho"]["value"] == pytest.approx(1 - 0.51 * alpha, abs=0.02)
        assert arm["coordinate"]["value"] == pytest.approx(-(1 - 0.51 * alpha) ** 4, abs=0.02)
        assert arm["coordinate_gap"]["lo"] <= 0 <= arm["coordinate_gap"]["hi"]
        assert arm["orthogonal"]["value"] < 0.05  # noise only
        assert len(arm["per_seed"]) == 3
    dose = out["dose_response"]
    assert dose["word"] == "ordered as S1 predicts"
    assert dose["difference"]["value"] == pytest.approx(0.51 * 0.25, abs=0.02)
    assert 0 < dose["detectable"] < dose["difference"]["value"]
    numbers = seeds.summarise(out)
    assert numbers["seeds_a05_verdict"] == "holds" and numbers["seeds_a025_verdict"] == "holds"
    assert numbers["seeds_a05_word"] == "consistent with"
    assert seeds.seed_table(out).shape == (3, 3)


def test_a_share_at_the_wrong_rate_fails_and_a_reversed_order_is_named():
    # alpha = 0.25 contracts at 0.6 per round, faster than alpha = 0.5's 0.75
    out = seeds.analyse(_seed_records(rho_025=0.6), scale=C, resamples=300)
    assert not out["arms"]["alpha-0.25"]["holds"]
    assert out["arms"]["alpha-0.25"]["gap"]["hi"] < 0
    assert out["arms"]["alpha-0.5"]["holds"]
    assert out["dose_response"]["word"] == "reversed"
    assert seeds.summarise(out)["seeds_a025_word"] == "faster than"


def test_an_unresolved_order_states_what_the_design_detects():
    difference = {"value": 0.01, "lo": -0.02, "hi": 0.04}
    assert seeds.dose_word(difference, 0.05) == (
        "not resolved (the interval contains 0; the design detects 0.050)")


def test_the_records_must_run_the_same_arms_on_the_same_prompts():
    records = _seed_records(count=2)
    del records[1]["arms"]["alpha-0.25"]
    with pytest.raises(ValueError, match="same arms"):
        seeds.analyse(records, scale=C, resamples=10)


def test_replicate_gap_is_zero_for_a_reproduced_arm_only():
    first, second = _seed_records(count=2)
    assert seeds.replicate_gap(first, first, "alpha-1") == 0.0
    assert seeds.replicate_gap(first, second, "alpha-1") > 0.01


def test_plot_draws_one_panel_per_test_share():
    import matplotlib.pyplot as plt

    fig = seeds.plot(seeds.analyse(_seed_records(), scale=C, resamples=50))
    assert len(fig.axes) == 2
    plt.close(fig)
