"""Summaries across seeds: means with Student-t 95% intervals, and fitted log-linear slopes."""

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
    """Mean over seeds with a Student-t confidence interval (degenerate for one seed)."""
    x = np.asarray(values, dtype=float)
    mean = float(x.mean())
    if x.size < 2:
        return Interval(mean, mean, mean)
    half = stats.t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
    return Interval(mean, mean - float(half), mean + float(half))


@dataclass(frozen=True)
class SlopeFit:
    """A fitted slope, its confidence interval [lo, hi] and the intercept."""

    slope: float
    lo: float
    hi: float
    intercept: float


def fit_slope(x, y, confidence: float = 0.95) -> SlopeFit:
    """Least-squares slope of y on x with a t-based confidence interval (scipy.stats.linregress).

    x and y may hold repeated x values (one point per seed)."""
    res = stats.linregress(np.asarray(x, float), np.asarray(y, float))
    dof = len(x) - 2
    half = stats.t.ppf(0.5 + confidence / 2, dof) * res.stderr if dof > 0 else 0.0
    slope, half = float(res.slope), float(half)
    return SlopeFit(slope, slope - half, slope + half, float(res.intercept))


def fit_log_decay(t, dist, floor: float, margin: float = 4.0) -> SlopeFit:
    """Slope of log dist against t over the self-correction phase only: the iterations whose
    mean error (over seeds) stays above ``margin * floor``, where ``floor`` is the
    statistical error level (e.g. the error of the same procedure started at the target)."""
    t, dist = np.asarray(t, float), np.asarray(dist, float)
    steps = np.unique(t)
    keep = [s for s in steps if dist[t == s].mean() > margin * floor]
    mask = np.isin(t, keep)
    if len(keep) < 2:
        raise ValueError("fewer than two iterations above the floor: nothing to fit")
    return fit_slope(t[mask], np.log(dist[mask]))
