"""Summaries across seeds: means with Student-t 95% intervals, and fitted log-linear slopes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Interval:
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
    return SlopeFit(res.slope, res.slope - half, res.slope + half, res.intercept)
