"""The summaries of srlm_core.stats: nominal coverage where the design's unit is respected,
and the pooled fit's undercoverage on autocorrelated trajectories."""

import numpy as np
import pytest
from scipy import stats as sps

from srlm_core.stats import (
    binomial_count_range,
    bootstrap_interval,
    equivalence_test,
    fit_line,
    fit_log_decay,
    fit_slope,
    mean_interval,
    minimum_detectable_difference,
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
