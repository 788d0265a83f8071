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
    assert numbers["seeds_dose_power_word"] == "within"  # the design detects 0.13
    assert numbers["seeds_a05_orthogonal_share"] < 0.05  # noise only
    assert numbers["seeds_a05_ratio_last"] == pytest.approx((1 - 0.51 * 0.5) ** 4, abs=0.02)
    assert seeds.seed_table(out).shape == (3, 3)
    out["dose_response"]["detectable"] = 1.0  # a design too small for the predicted 0.13
    assert seeds.summarise(out)["seeds_dose_power_word"] == "below"


def test_a_share_at_the_wrong_rate_fails_and_a_reversed_order_is_named():
    # alpha = 0.25 contracts at 0.6 per round, faster than alpha = 0.5's 0.75
    out = seeds.analyse(_seed_records(rho_025=0.6), scale=C, resamples=300)
    assert not out["arms"]["alpha-0.25"]["holds"]
    assert out["arms"]["alpha-0.25"]["gap"]["hi"] < 0
    assert out["arms"]["alpha-0.5"]["holds"]
    assert out["dose_response"]["word"] == "reversed"
    numbers = seeds.summarise(out)
    assert numbers["seeds_a025_word"] == "faster than"
    # a_T = -0.6^4 = -0.13 against the predicted -(1 - 0.51/4)^4 = -0.58: the error along the
    # target closed faster than predicted
    assert out["arms"]["alpha-0.25"]["coordinate_gap"]["lo"] > 0
    assert numbers["seeds_a025_coordinate_word"] == "ahead of"
    assert numbers["seeds_a05_coordinate_word"] == "on"


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


def test_convergence_cost_by_hand():
    # gamma = 0.5 in 5 epochs: 0.9 needs log(0.1)/log(0.5) = 3.32 times the epochs
    cost = seeds.convergence_cost(0.5, 5, 10.0)
    assert cost["factor"] == pytest.approx(3.3219, abs=1e-4)
    assert cost["epochs"] == 17 and cost["minutes"] == pytest.approx(33.219, abs=1e-3)
    assert seeds.convergence_cost(0.9, 5, 10.0)["factor"] == pytest.approx(1.0)
