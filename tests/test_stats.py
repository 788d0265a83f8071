"""The summaries of srlm_core.stats: nominal coverage where the design's unit is respected,
and the pooled fit's undercoverage on autocorrelated trajectories."""

import itertools
import math

import numpy as np
import pytest
from scipy import stats as sps

from srlm_core.stats import (
    binomial_count_range,
    bootstrap_interval,
    cluster_bootstrap,
    crossed_bootstrap,
    equivalence_test,
    fit_line,
    fit_log_decay,
    fit_slope,
    mean_interval,
    minimum_detectable_difference,
    sign_flip_test,
    slope_across_units,
    unit_slopes,
)

SLOPE = -0.5


def trajectories(rng, units=8, rounds=10, rho=0.8, slope_sd=0.3):
    """``units`` trajectories y_t = a_u + b_u t + e_t: AR(1) noise e_t (coefficient rho), a
    random intercept a_u and a random slope b_u of mean SLOPE per unit (each seed's run has
    its own path): rows (t, y, unit), t-major like the experiments'."""
    noise = np.empty((rounds, units))
    noise[0] = rng.standard_normal(units) / np.sqrt(1 - rho**2)
    for t in range(1, rounds):
        noise[t] = rho * noise[t - 1] + rng.standard_normal(units)
    t = np.arange(rounds)[:, None]
    slopes = SLOPE + slope_sd * rng.standard_normal(units)
    y = rng.standard_normal(units) + slopes * t + noise
    return np.repeat(np.arange(rounds), units), y.ravel(), np.tile(np.arange(units), rounds)


def coverage(fit, replications=1000, seed=0):
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(replications):
        f = fit(*trajectories(rng))
        hits += f.lo <= SLOPE <= f.hi
    return hits / replications


def test_slope_across_units_has_nominal_coverage_on_autocorrelated_trajectories():
    # 1000 replications: the binomial 99.9% range around 0.95 is about [0.927, 0.971]
    assert 0.925 <= coverage(slope_across_units) <= 0.975


def test_the_pooled_interval_undercovers_the_same_trajectories():
    assert coverage(lambda t, y, u: fit_slope(t, y)) < 0.85


def test_slope_across_units_summarises_per_unit_slopes():
    t = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2], float)
    u = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
    y = np.array([1, 0, -1, 2, 0, -2, 0, -3, -6], float)  # slopes -1, -2, -3
    assert unit_slopes(t, y, u) == pytest.approx([-1, -2, -3])
    fit = slope_across_units(t, y, u)
    half = sps.t.ppf(0.975, 2) * 1.0 / np.sqrt(3)  # sd of (-1, -2, -3) is 1
    assert (fit.slope, fit.lo, fit.hi, fit.intercept) == pytest.approx(
        (-2, -2 - half, -2 + half, 1.0))
    with pytest.raises(ValueError, match="two units"):
        slope_across_units(t[:3], y[:3], u[:3])


def test_fit_log_decay_keeps_the_rounds_above_the_floor_and_fits_per_unit():
    t = np.repeat(np.arange(5), 2)
    units = np.tile(np.arange(2), 5)
    dist = np.exp(np.where(units == 0, -0.5, -0.7) * t)
    dist[t == 4] = 1e-3  # at the floor: dropped
    fit = fit_log_decay(t, dist, floor=0.01, units=units, margin=4.0)
    assert fit.slope == pytest.approx(-0.6)
    with pytest.raises(ValueError, match="fewer than two"):
        fit_log_decay(t, dist, floor=1.0, units=units)


def test_fit_line_is_exact_on_a_line_and_has_no_interval():
    line = fit_line([0, 1, 2, 3], [1, 3, 5, 7])
    assert (line.slope, line.intercept) == pytest.approx((2, 1))
    assert not hasattr(line, "lo")


def test_bootstrap_interval_over_units_matches_the_t_interval_for_a_normal_mean():
    x = np.random.default_rng(1).normal(2.0, 1.0, size=200)
    boot, t = bootstrap_interval(x, seed=0), mean_interval(x)
    assert boot.mean == pytest.approx(t.mean)
    assert boot.lo == pytest.approx(t.lo, abs=0.03) and boot.hi == pytest.approx(t.hi, abs=0.03)
    assert bootstrap_interval(x, seed=0) == boot  # seeded
    assert bootstrap_interval([1.0, 1.0, 1.0]) == mean_interval([1.0, 1.0, 1.0])


def test_minimum_detectable_difference_is_detected_with_the_stated_power():
    rng = np.random.default_rng(2)
    units, sd = 16, 1.0
    mdd = minimum_detectable_difference(sd, units)
    x = rng.normal(mdd, sd, size=(4000, units))
    power = (sps.ttest_1samp(x, 0.0, axis=1).pvalue < 0.05).mean()
    assert 0.77 <= power <= 0.84  # 0.8 up to the normal approximation and 4000 draws
    assert minimum_detectable_difference(sd, 4 * units) < mdd / 1.9


def test_equivalence_test_accepts_a_tight_null_and_rejects_a_shift_or_a_small_sample():
    rng = np.random.default_rng(3)
    assert equivalence_test(rng.normal(0, 0.1, 64), margin=0.1).equivalent
    assert not equivalence_test(rng.normal(0.3, 0.1, 64), margin=0.1).equivalent
    assert not equivalence_test(rng.normal(0, 1.0, 4), margin=0.1).equivalent


def test_binomial_count_range_is_the_expected_miss_baseline():
    r = binomial_count_range(32, 0.95)
    assert r.expected == pytest.approx(30.4)
    assert (r.lo, r.hi) == (28, 32)
    assert sps.binom.cdf(r.hi, 32, 0.95) - sps.binom.cdf(r.lo - 1, 32, 0.95) >= 0.95


def _ratio(rows):
    return rows[:, 0].sum() / rows[:, 1].sum()


def test_cluster_bootstrap_reproduces_the_judge_studys_prompt_interval():
    """The numbers the judge study's former ``prompt_interval`` gave (recorded before the
    switch): a ratio of sums over 5 prompts (15 + 30 + ... = 77 over 8 = 9.625) and a mean
    with a NaN prompt dropped (5 units), at 999 resamples.  Bugs caught: other draws (seed 1
    moves hi to 15.84), other percentiles (5 and 95 give (5.44, 15.0)), or the NaN row kept
    (6 units)."""
    rows = [(10.0, 1.0), (30.0, 2.0), (20.0, 1.0), (5.0, 1.0), (12.0, 3.0)]
    got = cluster_bootstrap(rows, _ratio, 999)
    assert (got.mean, got.lo, got.hi, got.units) == (9.625, 4.888888888888889,
                                                     15.833333333333334, 5)
    got = cluster_bootstrap([0.2, math.nan, 0.9, 0.4, 0.7, 0.1], np.mean, 999, seed=3)
    assert (got.mean, got.lo, got.hi, got.units) == pytest.approx((0.46, 0.2, 0.74, 5),
                                                                  abs=1e-15)


def test_cluster_bootstrap_draws_and_levels_by_hand():
    """The interval rebuilt from the stated draws: the statistic of the units
    ``default_rng(seed).integers(0, n, (resamples, n))[k]``, percentiles 5 and 95 at
    confidence 0.9; no units left gives NaN and 0 units."""
    x = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0])
    draws = np.random.default_rng(7).integers(0, 7, (500, 7))
    boot = x[draws].max(axis=1) - x[draws].min(axis=1)
    got = cluster_bootstrap(x, np.ptp, resamples=500, seed=7, confidence=0.9)
    assert (got.mean, got.units) == (8.0, 7)
    assert (got.lo, got.hi) == tuple(np.percentile(boot, [5, 95]))
    empty = cluster_bootstrap([math.nan, math.nan], np.mean, 99)
    assert math.isnan(empty.mean) and math.isnan(empty.lo) and empty.units == 0


def test_sign_flip_test_is_exact_on_enumerable_cases():
    """d = (1, 2, 3): of the 8 sign flips only (+, +, +) reaches the observed mean 2 and only
    (-, -, -) its mirror, so the exact two-sided p is 2/8 (the one-sided p is 1/8, the t-test
    gives 0.074).  d = (1, -2, 3, 0.5): p counted over its 16 flips here by enumeration.
    All-zero differences: p = 1; NaN dropped; one unit: 1; none: NaN."""
    assert sign_flip_test([1.0, 2.0, 3.0]) == pytest.approx(2 / 8)
    d = np.array([1.0, -2.0, 3.0, 0.5])
    flips = [np.dot(signs, d) for signs in itertools.product([1, -1], repeat=4)]
    greater = np.mean([f >= d.sum() - 1e-12 for f in flips])
    less = np.mean([f <= d.sum() + 1e-12 for f in flips])
    assert sign_flip_test(d) == pytest.approx(min(1.0, 2 * min(greater, less)))
    assert sign_flip_test([0.0, 0.0, 0.0]) == 1.0
    assert sign_flip_test([1.0, math.nan, 2.0, 3.0]) == pytest.approx(2 / 8)
    assert sign_flip_test([0.4]) == 1.0
    assert math.isnan(sign_flip_test([]))


def test_sign_flip_test_by_random_flips_is_near_the_exact_p():
    """n = 12 (4096 flips): 999 random flips give a p within 0.05 of the exact one (their
    Monte Carlo sd is below 0.016), seeded."""
    d = np.random.default_rng(4).normal(0.5, 1.0, 12)
    exact = sign_flip_test(d, resamples=9999)
    assert 0.0 < exact < 1.0
    assert abs(sign_flip_test(d, resamples=999, seed=1) - exact) < 0.05
    assert sign_flip_test(d, resamples=999, seed=1) == sign_flip_test(d, resamples=999, seed=1)


def test_crossed_bootstrap_carries_the_spread_of_both_units():
    """Rows that differ by a constant widen the interval beyond the columns' spread alone;
    a constant matrix has a degenerate interval; one row is a bootstrap over columns."""
    columns = np.linspace(0.0, 1.0, 12)
    one = crossed_bootstrap(columns[None, :], resamples=2000)
    assert one.mean == pytest.approx(0.5) and one.lo < 0.5 < one.hi
    three = crossed_bootstrap(columns[None, :] + np.array([[-1.0], [0.0], [1.0]]),
                                    resamples=2000)
    assert three.mean == pytest.approx(0.5)
    assert three.hi - three.lo > 2 * (one.hi - one.lo)
    flat = crossed_bootstrap(np.ones((3, 4)), resamples=100)
    assert (flat.lo, flat.mean, flat.hi) == (1.0, 1.0, 1.0)
    with pytest.raises(ValueError):
        crossed_bootstrap(np.ones(4))
