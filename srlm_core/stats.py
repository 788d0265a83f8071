r"""Summaries that follow the design: the unit of independence is the seed or the problem
instance, never the row.

* :func:`mean_interval` and :func:`bootstrap_interval` summarise one number per unit;
  :func:`cluster_bootstrap` resamples whole units (the rows of an array, one per unit) for
  any statistic of the resampled rows, e.g. a ratio of sums or a regression refitted from
  per-unit sums; :func:`crossed_bootstrap` resamples two crossed units at once (training
  seeds and prompts);
* :func:`sign_flip_test` is the paired test over units: one difference per unit (an arm
  minus its baseline on the same prompt), its p-value from random sign flips;
* :func:`slope_across_units` fits a slope within each unit and summarises the per-unit slopes
  across units (a trajectory's rounds are autocorrelated, so its points are not independent);
  :func:`fit_slope` is the pooled least-squares fit, valid only for independent points, and
  :func:`fit_line` the interval-free fit of a deterministic curve;
* :func:`minimum_detectable_difference` and :func:`equivalence_test` replace reading a null
  as an absence; :func:`binomial_count_range` is the expected-miss baseline of a coverage
  count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Interval:
    """A mean and its confidence interval [lo, hi]."""

    mean: float
    lo: float
    hi: float


def mean_interval(values, confidence: float = 0.95) -> Interval:
    """Mean over independent units with a Student-t confidence interval (degenerate for one)."""
    x = np.asarray(values, dtype=float)
    mean = float(x.mean())
    if x.size < 2:
        return Interval(mean, mean, mean)
    half = stats.t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
    return Interval(mean, mean - float(half), mean + float(half))


def bootstrap_interval(values, statistic=np.mean, confidence: float = 0.95,
                       resamples: int = 9999, seed: int = 0) -> Interval:
    """Percentile bootstrap over units (``scipy.stats.bootstrap``, resampling the rows of
    ``values``, one row per unit); ``statistic(rows, axis=0)`` is the summary.  Degenerate
    for fewer than two units or when every unit agrees."""
    x = np.asarray(values, dtype=float)
    point = float(statistic(x, axis=0))
    if len(x) < 2 or np.all(x == x[0]):
        return Interval(point, point, point)
    res = stats.bootstrap((x,), statistic, confidence_level=confidence, n_resamples=resamples,
                          method="percentile", rng=np.random.default_rng(seed))
    ci = res.confidence_interval
    return Interval(point, float(ci.low), float(ci.high))


@dataclass(frozen=True)
class ClusterInterval(Interval):
    """An :class:`Interval` from resampling whole units, with the number of units used."""

    units: int


def _percentile_levels(confidence: float) -> tuple[float, float]:
    """The percentiles (in %) of a central ``confidence`` interval, rounded so that 0.95
    gives exactly 2.5 and 97.5 (not 2.5000000000000022)."""
    tail = round(100 * (1 - confidence) / 2, 10)
    return tail, round(100 - tail, 10)


def cluster_bootstrap(rows, statistic, resamples: int = 9999, seed: int = 0,
                      confidence: float = 0.95) -> ClusterInterval:
    """``statistic(rows)`` and its percentile bootstrap interval, resampling whole units.

    ``rows`` holds one entry per unit (a prompt, a seed): a vector, or an array with one row
    per unit; rows with a NaN are dropped first and ``statistic`` gets the resampled array.
    Draw k takes the units
    ``np.random.default_rng(seed).integers(0, n, (resamples, n))[k]``; the interval is the
    :math:`(1 - c)/2` and :math:`1 - (1 - c)/2` percentiles of the draws' statistics
    (``np.percentile``, linear; a NaN draw makes it NaN).  No units left: all NaN,
    ``units`` 0."""
    numeric = np.asarray(rows, dtype=float)
    if numeric.ndim == 0:
        raise ValueError("cluster_bootstrap needs one entry per unit, not a scalar")
    units = numeric[~np.isnan(numeric).reshape(len(numeric), -1).any(axis=1)]
    n = len(units)
    if n == 0:
        return ClusterInterval(np.nan, np.nan, np.nan, 0)
    point = float(statistic(units))
    draws = np.random.default_rng(seed).integers(0, n, (resamples, n))
    boot = np.array([statistic(units[d]) for d in draws], dtype=float)
    lo, hi = np.percentile(boot, _percentile_levels(confidence))
    return ClusterInterval(point, float(lo), float(hi), n)


def crossed_bootstrap(matrix, resamples: int = 9999, seed: int = 0,
                      confidence: float = 0.95) -> Interval:
    """The mean of ``matrix`` (rows: one unit, e.g. training seeds; columns: a crossed unit,
    e.g. prompts) and its percentile interval from resampling rows and columns independently
    (draw k: rows ``rng.integers(0, r, (resamples, r))[k]`` then columns
    ``rng.integers(0, c, (resamples, c))[k]``, ``rng = np.random.default_rng(seed)``), so
    that the interval carries the spread of both units.  One row is the bootstrap over
    columns alone."""
    x = np.asarray(matrix, dtype=float)
    if x.ndim != 2 or x.size == 0:
        raise ValueError("crossed_bootstrap needs a non-empty (rows, columns) matrix")
    rows, cols = crossed_draws(*x.shape, resamples=resamples, seed=seed)
    boot = np.array([x[np.ix_(a, b)].mean() for a, b in zip(rows, cols, strict=True)])
    lo, hi = np.percentile(boot, _percentile_levels(confidence))
    return Interval(float(x.mean()), float(lo), float(hi))


def crossed_draws(rows: int, columns: int, resamples: int = 9999,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Index draws of the crossed bootstrap: ``(resamples, rows)`` row indices, then
    ``(resamples, columns)`` column indices, each with replacement from one
    ``np.random.default_rng(seed)`` (the draws :func:`crossed_bootstrap` averages over)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, rows, (resamples, rows)), rng.integers(0, columns, (resamples, columns))


def sign_flip_test(differences, resamples: int = 9999, seed: int = 0) -> float:
    r"""Two-sided p-value of the paired test that the mean unit difference is zero: under
    the null each unit's difference :math:`d_u` is as likely as :math:`-d_u`, so the
    observed mean is compared with the means of :math:`(\pm d_u)` over random sign flips
    (``scipy.stats.permutation_test`` with ``permutation_type="samples"``; exact, over all
    :math:`2^n` flips, when :math:`2^n \le` ``resamples``).  NaN differences are dropped;
    NaN without a unit, 1 with one (its two flips are as extreme as each other)."""
    d = np.asarray(differences, dtype=float)
    d = d[~np.isnan(d)]
    if d.size == 0:
        return float("nan")
    if d.size == 1:
        return 1.0
    res = stats.permutation_test((d,), np.mean, permutation_type="samples", vectorized=True,
                                 n_resamples=resamples, alternative="two-sided",
                                 rng=np.random.default_rng(seed))
    return float(res.pvalue)


@dataclass(frozen=True)
class SlopeFit:
    """A fitted slope, its confidence interval [lo, hi] and the intercept."""

    slope: float
    lo: float
    hi: float
    intercept: float


@dataclass(frozen=True)
class Line:
    """The slope and intercept of a deterministic curve: no interval."""

    slope: float
    intercept: float


def fit_line(x, y) -> Line:
    """Least-squares line through a deterministic curve (e.g. a population run)."""
    slope, intercept = np.polyfit(np.asarray(x, float), np.asarray(y, float), 1)
    return Line(float(slope), float(intercept))


def fit_slope(x, y, confidence: float = 0.95) -> SlopeFit:
    """Pooled least-squares slope with a t-based interval (``scipy.stats.linregress``).

    Valid only when the points are independent; for trajectories (several points per seed)
    use :func:`slope_across_units`."""
    res = stats.linregress(np.asarray(x, float), np.asarray(y, float))
    dof = len(x) - 2
    half = stats.t.ppf(0.5 + confidence / 2, dof) * res.stderr if dof > 0 else 0.0
    slope, half = float(res.slope), float(half)
    return SlopeFit(slope, slope - half, slope + half, float(res.intercept))


def unit_slopes(x, y, units) -> np.ndarray:
    """The least-squares slope of y on x within each unit (sorted by unit label)."""
    x, y, units = np.asarray(x, float), np.asarray(y, float), np.asarray(units)
    return np.array([np.polyfit(x[units == u], y[units == u], 1)[0] for u in np.unique(units)])


def slope_across_units(x, y, units, confidence: float = 0.95) -> SlopeFit:
    r"""A slope fitted within each unit (seed or problem instance), summarised across units:
    the mean per-unit slope with a Student-t interval over units, and the mean intercept.

    Each unit's rounds form one autocorrelated trajectory, so the units, not the points, are
    the independent observations; with nested designs pass the outer unit (the instance)."""
    x, y, units = np.asarray(x, float), np.asarray(y, float), np.asarray(units)
    labels = np.unique(units)
    if labels.size < 2:
        raise ValueError("a slope across units needs at least two units")
    fits = np.array([np.polyfit(x[units == u], y[units == u], 1) for u in labels])
    ci = mean_interval(fits[:, 0], confidence)
    return SlopeFit(ci.mean, ci.lo, ci.hi, float(fits[:, 1].mean()))


def fit_log_decay(t, dist, floor: float, units, margin: float = 4.0,
                  confidence: float = 0.95) -> SlopeFit:
    """Slope of log dist against t over the self-correction phase only, across ``units``
    (:func:`slope_across_units`): the iterations whose mean error (over all units) stays
    above ``margin * floor``, where ``floor`` is the statistical error level (e.g. the error
    of the same procedure started at the target)."""
    t, dist, units = np.asarray(t, float), np.asarray(dist, float), np.asarray(units)
    keep = [s for s in np.unique(t) if dist[t == s].mean() > margin * floor]
    if len(keep) < 2:
        raise ValueError("fewer than two iterations above the floor: nothing to fit")
    mask = np.isin(t, keep)
    return slope_across_units(t[mask], np.log(dist[mask]), units[mask], confidence)


def minimum_detectable_difference(sd: float, units: int, alpha: float = 0.05,
                                  power: float = 0.8) -> float:
    r"""The smallest true mean difference a two-sided one-sample (or paired) t-test over
    ``units`` independent units with standard deviation ``sd`` detects with probability
    ``power`` at level ``alpha``: :math:`(t_{1-\alpha/2} + t_{\mathrm{power}})\,s/\sqrt{m}`
    with :math:`m-1` degrees of freedom (the normal-approximation formula with t quantiles)."""
    if units < 2:
        raise ValueError("a detectable difference needs at least two units")
    dof = units - 1
    return float((stats.t.ppf(1 - alpha / 2, dof) + stats.t.ppf(power, dof))
                 * sd / np.sqrt(units))


@dataclass(frozen=True)
class Equivalence:
    """Two one-sided tests (TOST) of :math:`|\\mu| < \\text{margin}` over units."""

    p_value: float
    equivalent: bool
    margin: float


def equivalence_test(values, margin: float, alpha: float = 0.05) -> Equivalence:
    r"""TOST over independent units: the mean of ``values`` lies inside
    :math:`(-\text{margin}, \text{margin})` when both one-sided t-tests reject at ``alpha``
    (p = the larger of the two one-sided p-values)."""
    x = np.asarray(values, dtype=float)
    lower = stats.ttest_1samp(x, -margin, alternative="greater").pvalue
    upper = stats.ttest_1samp(x, margin, alternative="less").pvalue
    p = float(max(lower, upper))
    return Equivalence(p, p < alpha, float(margin))


@dataclass(frozen=True)
class CountRange:
    """The expected count of ``trials`` Bernoulli(p) events and its central range [lo, hi]."""

    expected: float
    lo: int
    hi: int


def binomial_count_range(trials: int, p: float, confidence: float = 0.95) -> CountRange:
    """The baseline of a coverage count: how many of ``trials`` independent cells a method
    with exact level ``p`` covers, expected and central ``confidence`` range (binomial)."""
    lo, hi = stats.binom.interval(confidence, trials, p)
    return CountRange(trials * p, int(lo), int(hi))
