"""The statistics of the coverage sweep's values (:mod:`srlm_core.experiments.coverage`):
the stored success strings read back, bootstrap intervals over seeds, the half-success
crossings and their exponent, the featured success per unit of coverage, and the iterating
table against one step at equal budget.
"""

from __future__ import annotations

import math

import numpy as np

from srlm_core.stats import mean_interval, minimum_detectable_difference
from srlm_core.theory import coverage_law

#: Bootstrap resamples of the seeds behind every interval of
#: :func:`~srlm_core.experiments.coverage.summarise`.
N_BOOT = 1000
LEVEL = 0.95


def decode_counts(text: str) -> np.ndarray:
    """The per-seed counts of :func:`~srlm_core.experiments.coverage.encode_counts`."""
    return np.array([int(k) for k in text.split()], dtype=float)


def decode_bits(text: str) -> np.ndarray:
    """The (seeds, prompts) 0/1 array of :func:`~srlm_core.experiments.coverage.encode_bits`."""
    rows = text.split()
    return np.array([[c == "1" for c in row] for row in rows], dtype=float).reshape(
        len(rows), len(rows[0]) if rows else 0)



def _boot_weights(seeds: int, seed: int = 0) -> np.ndarray:
    """(N_BOOT, seeds) multiplicities of a bootstrap over seeds (the same for every cell)."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(seeds, np.full(seeds, 1.0 / seeds), size=N_BOOT).astype(float)


def _percentiles(samples: np.ndarray) -> tuple[float, float]:
    """The central LEVEL interval of bootstrap samples (NaN when under half are finite)."""
    finite = samples[np.isfinite(samples)]
    if finite.size < len(samples) * 0.5:
        return math.nan, math.nan
    lo, hi = np.percentile(finite, [50 * (1 - LEVEL), 50 * (1 + LEVEL)])
    return float(lo), float(hi)


def crossing(x: np.ndarray, y: np.ndarray) -> float:
    """The first ``x`` at which ``y`` reaches 1/2, interpolated linearly in ``log x`` (NaN when
    it never does; ``x[0]`` when it starts there)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    above = np.nonzero(y >= 0.5)[0]
    if above.size == 0:
        return math.nan
    i = int(above[0])
    if i == 0:
        return float(x[0])
    lx0, lx1 = np.log(x[i - 1]), np.log(x[i])
    share = (0.5 - y[i - 1]) / (y[i] - y[i - 1])
    return float(np.exp(lx0 + share * (lx1 - lx0)))


def tabular_curves(values: dict) -> list[dict]:
    r"""Per :math:`\kappa_0`: the mean success over seeds at every ratio with its 95% interval,
    the bound, and the crossing :math:`m_{1/2}/\kappa_0` with its bootstrap interval."""
    tab = values["tabular"]
    weights = _boot_weights(tab["seeds"])
    out = []
    for kappa in tab["kappas"]:
        cells = sorted((c for c in tab["cells"] if c["kappa"] == kappa), key=lambda c: c["ratio"])
        shares = np.array([decode_counts(c["successes"]) for c in cells]) / tab["contexts"]
        x = np.array([c["m"] / kappa for c in cells])
        boot = (weights @ shares.T) / tab["seeds"]  # (B, ratios)
        intervals = [mean_interval(row) for row in shares]
        cross = crossing(x, shares.mean(1))
        cross_boot = np.array([crossing(x, row) for row in boot])
        lo, hi = _percentiles(cross_boot)
        out.append({"kappa": kappa, "x": x.tolist(), "mean": shares.mean(1).tolist(),
                    "lo": [iv.lo for iv in intervals], "hi": [iv.hi for iv in intervals],
                    "bound": [c["bound"] for c in cells], "crossing": cross,
                    "crossing_lo": lo, "crossing_hi": hi, "boot": cross_boot})
    return out


def crossing_exponent(curves: list[dict]) -> dict:
    r"""The exponent :math:`b` of :math:`m_{1/2} \propto \kappa_0^b` (least squares on the
    logs) with a bootstrap interval over seeds; :math:`b = 1` is the coverage form."""
    kappas = np.log([c["kappa"] for c in curves])

    def slope(m_half: np.ndarray) -> float:
        y = np.log(m_half)
        if not np.all(np.isfinite(y)):
            return math.nan
        return float(np.polyfit(kappas, y, 1)[0])

    point = slope(np.array([c["crossing"] * c["kappa"] for c in curves]))
    boot = np.array([slope(np.array([c["boot"][b] * c["kappa"] for c in curves]))
                     for b in range(N_BOOT)])
    lo, hi = _percentiles(boot)
    return {"value": point, "lo": lo, "hi": hi}


def featured_rows(values: dict, scale: str = "kappa0") -> dict:
    r"""The featured measurements as flat arrays: per (start, :math:`n`, seed, eligible
    prompt) the seed, the problem instance, :math:`\log_2(n\rho(x)/\kappa(x))` with
    :math:`\kappa` = ``scale`` (``kappa0`` or ``kappa_phi``) and success (0/1)."""
    seeds, instances, x, success = [], [], [], []
    for start in values["featured"]["starts"]:
        if not start["contexts"]:
            continue
        coverage = np.log2(np.asarray(start["rho"]) / np.asarray(start[scale]))
        for n, text in zip(values["featured"]["n"], start["success"], strict=True):
            grid = decode_bits(text)  # (seeds, contexts)
            seeds.append(np.repeat(np.arange(grid.shape[0]), grid.shape[1]))
            instances.append(np.full(grid.size, start.get("instance", 0)))
            x.append(np.tile(np.log2(n) + coverage, grid.shape[0]))
            success.append(grid.ravel())
    if not seeds:
        return {"seed": np.zeros(0, int), "instance": np.zeros(0, int), "x": np.zeros(0),
                "success": np.zeros(0)}
    return {"seed": np.concatenate(seeds), "instance": np.concatenate(instances),
            "x": np.concatenate(x),
            "success": np.concatenate(success).astype(float)}


def featured_units(values: dict) -> int:
    """The number of featured problem instances (the bootstrap's units)."""
    return 1 + max((s.get("instance", 0) for s in values["featured"]["starts"]), default=0)


def featured_curve(values: dict, scale: str = "kappa0", min_count: int = 64) -> dict:
    r"""Success against :math:`n\rho/\kappa` in unit bins of :math:`\log_2` (bins with at least
    ``min_count`` measurements), with bootstrap intervals over problem instances (the unit of
    independence: a resample draws whole instances with all their seeds and prompts), and the
    crossing of 1/2 with its interval."""
    rows = featured_rows(values, scale)
    units = featured_units(values)
    if not rows["x"].size:
        return {"x": [], "mean": [], "lo": [], "hi": [], "count": [], "crossing": math.nan,
                "crossing_lo": math.nan, "crossing_hi": math.nan, "boot": np.zeros((N_BOOT, 0))}
    bins = np.round(rows["x"]).astype(int)
    edges = np.arange(bins.min(), bins.max() + 1)
    sums = np.zeros((len(edges), units))
    counts = np.zeros((len(edges), units))
    xsum = np.zeros(len(edges))
    np.add.at(sums, (bins - edges[0], rows["instance"]), rows["success"])
    np.add.at(counts, (bins - edges[0], rows["instance"]), 1.0)
    np.add.at(xsum, bins - edges[0], rows["x"])
    keep = counts.sum(1) >= min_count
    sums, counts, xsum = sums[keep], counts[keep], xsum[keep]
    total = counts.sum(1)
    x = np.exp2(xsum / total)
    mean = sums.sum(1) / total
    weights = _boot_weights(units)
    boot = (weights @ sums.T) / np.maximum(weights @ counts.T, 1e-300)  # (B, bins)
    lo, hi = np.percentile(boot, [50 * (1 - LEVEL), 50 * (1 + LEVEL)], axis=0)
    cross = crossing(x, mean)
    cross_lo, cross_hi = _percentiles(np.array([crossing(x, row) for row in boot]))
    return {"x": x.tolist(), "mean": mean.tolist(), "lo": lo.tolist(), "hi": hi.tolist(),
            "count": total.astype(int).tolist(), "crossing": cross,
            "crossing_lo": cross_lo, "crossing_hi": cross_hi, "boot": boot}


def featured_low_coverage(values: dict, below: float = 1 / 16) -> dict:
    r"""Success of the featured step pooled over the measurements with
    :math:`n\rho(x)/\kappa_0(x) \le` ``below``, with a bootstrap interval over problem
    instances, and the
    tabular coverage bound at that ratio, :math:`1-(1-1/\kappa_0)^{2m}\to 1-e^{-2\,\text{below}}`
    for large :math:`\kappa_0`."""
    rows = featured_rows(values, "kappa0")
    mask = rows["x"] <= math.log2(below)
    units = featured_units(values)
    sums = np.bincount(rows["instance"][mask], rows["success"][mask], minlength=units)
    counts = np.bincount(rows["instance"][mask], minlength=units).astype(float)
    weights = _boot_weights(units)
    boot = (weights @ sums) / np.maximum(weights @ counts, 1e-300)
    lo, hi = np.percentile(boot, [50 * (1 - LEVEL), 50 * (1 + LEVEL)])
    return {"value": float(sums.sum() / max(counts.sum(), 1.0)), "lo": float(lo),
            "hi": float(hi), "count": int(counts.sum()), "below": below,
            "bound": 1.0 - math.exp(-2.0 * below)}


def iterative_table(values: dict) -> list[dict]:
    r"""Per (:math:`\alpha`, :math:`\kappa_0`, budget, :math:`T`): mean success over seeds with
    its 95% interval, the paired difference to one step at the same budget with its
    bootstrap interval over seeds and its minimum detectable difference
    (:func:`srlm_core.stats.minimum_detectable_difference`), and the population prediction."""
    it = values["iterative"]
    weights = _boot_weights(it["seeds"])
    one = {(c["alpha"], c["kappa"], c["budget"]): decode_counts(c["successes"]) / it["contexts"]
           for c in it["cells"] if c["rounds"] == 1}
    rows = []
    for c in it["cells"]:
        s = decode_counts(c["successes"]) / it["contexts"]
        diff = s - one[(c["alpha"], c["kappa"], c["budget"])]
        iv = mean_interval(s)
        boot = weights @ diff / it["seeds"]
        lo, hi = np.percentile(boot, [50 * (1 - LEVEL), 50 * (1 + LEVEL)])
        spread = float(diff.std(ddof=1)) if diff.size > 1 else 0.0
        rows.append({"alpha": c["alpha"], "kappa": c["kappa"], "budget": c["budget"],
                     "rounds": c["rounds"], "mean": iv.mean, "lo": iv.lo, "hi": iv.hi,
                     "diff": float(diff.mean()), "diff_lo": float(lo), "diff_hi": float(hi),
                     "diff_mdd": (minimum_detectable_difference(spread, diff.size)
                                  if diff.size > 1 else math.nan),
                     "population": c["population"]})
    return rows


def budget_to_half(values: dict) -> list[dict]:
    r"""Per (:math:`\alpha`, :math:`\kappa_0`, :math:`T`): the smallest total budget (pairs per
    prompt over :math:`\kappa_0`) at which the mean success reaches 1/2, interpolated on the
    budget grid (NaN: never within it), and the success at the largest budget."""
    table = iterative_table(values)
    out = []
    keys = sorted({(r["alpha"], r["kappa"], r["rounds"]) for r in table},
                  key=lambda k: (-k[0], k[1], k[2]))
    for alpha, kappa, T in keys:
        rows = sorted((r for r in table if (r["alpha"], r["kappa"], r["rounds"])
                       == (alpha, kappa, T)), key=lambda r: r["budget"])
        x = np.array([r["budget"] for r in rows])
        out.append({"alpha": alpha, "kappa": kappa, "rounds": T,
                    "budget_half": crossing(x, np.array([r["mean"] for r in rows])),
                    "last": rows[-1]})
    return out


def one_step_mass(values: dict, row: dict) -> float:
    """The population :math:`\\pi_1(y^\\star)` of one step for an iterating table row."""
    return coverage_law.population_mass(row["alpha"], 1, row["kappa"], values["target"])
