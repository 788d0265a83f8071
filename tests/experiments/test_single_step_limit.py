"""single_step_limit (S2, one update against n): values, summary verdicts, config checks."""

import math

import matplotlib
import pytest

from srlm_core import ConfigError
from srlm_core.experiments import single_step_limit as ssl

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SMALL = ssl.Config(starts=(1.0, 2.0), n_min=200, n_max=400, seeds=4, d=4, K=4, contexts=8,
                   large_n=400, slope_start=2.0)


@pytest.fixture(scope="module")
def values():
    return ssl.run(SMALL)


def test_defaults_are_the_chapter_run():
    config = ssl.Config().validate()
    assert config.grid() == [250 * 2**k for k in range(8)]
    assert config.starts == (0.5, 1.0, 2.0, 4.0) and config.seeds == 32
    assert config.alpha == 0.5 and config.large_n == 1000 and config.slope_start == 2.0


def test_run_is_deterministic_and_consistent(values):
    assert values == ssl.run(SMALL)  # seeded: the same config gives the same numbers
    assert [(c["e0"], c["n"]) for c in values["cells"]] == [(1.0, 200), (1.0, 400),
                                                             (2.0, 200), (2.0, 400)]
    for cell in values["cells"]:
        assert all(len(cell[k]) == 4 for k in ("kl", "variance_part", "sq_dist_ratio",
                                                "deviation"))
        assert min(cell["kl"]) > 0 and min(cell["variance_part"]) > 0
    # theta_0 = theta* + e0 u with one direction u: the quadratic floor scales as e0^2 exactly
    floors = {row["e0"]: row["floor"] for row in values["predictions"]}
    assert math.isclose(floors[2.0] / floors[1.0], 4.0, rel_tol=1e-12)
    # every term of the prediction is positive
    for row in values["predictions"]:
        assert 0 < row["floor"] and 0 < row["exact_floor"] and row["variance"] > 0


def test_summarise_on_the_run(values, ols_slope_interval):
    summary = ssl.summarise(values)
    assert set(summary) == {
        "s2_cover_all", "s2_cover_large", "s2_cover_refined_large", "s2_worst_rel_small_n",
        "s2_worst_rel_large_n", "s2_max_dev", "s2_slope", "s2_slope_lo", "s2_slope_hi",
        "s2_quad_worst"}
    assert summary["s2_cover_all"].endswith(" of 4")
    assert summary["s2_cover_large"].endswith(" of 2")
    # the variance slope of the slope start: log variance part on log n over all seeds
    cells = [c for c in values["cells"] if c["e0"] == values["slope_start"]]
    x = [math.log(c["n"]) for c in cells for _ in c["variance_part"]]
    y = [math.log(v) for c in cells for v in c["variance_part"]]
    assert (summary["s2_slope"], summary["s2_slope_lo"], summary["s2_slope_hi"]) == (
        pytest.approx(ols_slope_interval(x, y), rel=1e-9))
    assert summary["s2_max_dev"] == max(max(c["deviation"]) for c in values["cells"])


def hand_made(kl_small, kl_large):
    """One start with floor 0.1 and variance 10: predicted KL 0.2 at n = 100, 0.11 at 1000;
    variance parts exactly c / n times fixed seed factors (slope exactly -1)."""
    factors = (0.9, 1.0, 1.1)
    return {
        "alpha": 0.5, "starts": [1.0], "ns": [100, 1000], "seeds": 3, "large_n": 1000,
        "slope_start": 1.0,
        "predictions": [{"e0": 1.0, "floor": 0.1, "variance": 10.0, "exact_floor": 0.1,
                         "variance_at_limit": 10.0, "param_variance": 4.0}],
        "cells": [{"e0": 1.0, "n": n, "kl": kl, "variance_part": [2.0 * f / n for f in factors],
                   "sq_dist_ratio": [0.25, 0.26, 0.27], "deviation": [0.1, 0.3, 0.2]}
                  for n, kl in ((100, kl_small), (1000, kl_large))],
    }


def test_summarise_counts_covered_cells_where_the_prediction_holds():
    summary = ssl.summarise(hand_made([0.19, 0.2, 0.21], [0.10, 0.11, 0.12]))
    assert summary["s2_cover_all"] == "2 of 2"
    assert summary["s2_cover_large"] == summary["s2_cover_refined_large"] == "1 of 1"
    assert summary["s2_worst_rel_small_n"] == pytest.approx(0.0, abs=1e-9)
    assert summary["s2_worst_rel_large_n"] == pytest.approx(0.0, abs=1e-9)
    assert summary["s2_slope"] == pytest.approx(-1.0, abs=1e-12)
    assert summary["s2_max_dev"] == 0.3 and summary["s2_quad_worst"] == 0.0


def test_summarise_counts_misses_where_the_prediction_fails():
    summary = ssl.summarise(hand_made([0.29, 0.3, 0.31], [0.21, 0.22, 0.23]))
    assert summary["s2_cover_all"] == "0 of 2"
    assert summary["s2_cover_large"] == "0 of 1"
    assert summary["s2_worst_rel_small_n"] == pytest.approx(50.0)
    assert summary["s2_worst_rel_large_n"] == pytest.approx(100.0)


def test_table_and_fits(values):
    fits = ssl.variance_fits(values)
    assert [fit["e0"] for fit in fits] == [1.0, 2.0]
    table = ssl.table(values)
    assert len(table) == 2 and "quadratic floor / exact floor" in table.columns
    hand = ssl.variance_fits(hand_made([0.2] * 3, [0.11] * 3))[0]
    assert hand["ratio"] == pytest.approx(0.26)
    assert hand["ratio_predicted"] == pytest.approx(0.25 + 4.0 / 1000)
    assert hand["floor_ratio"] == 1.0


@pytest.mark.parametrize(
    "changes, field",
    [({"n_min": 0}, "n_min"), ({"n_max": 100}, "n_max"), ({"starts": ()}, "starts"),
     ({"starts": (0.0, 1.0), "slope_start": 1.0}, "starts"), ({"slope_start": 3.0}, "slope_start"),
     ({"seeds": 0}, "seeds"), ({"large_n": 0}, "large_n"), ({"alpha": 0.0}, "alpha")],
)
def test_bad_config(changes, field):
    with pytest.raises(ConfigError, match=field) as err:
        ssl.Config(**changes).validate()
    assert err.value.field == field


def test_plot_draws_from_values(values):
    fig = ssl.plot(values)
    assert isinstance(fig, plt.Figure) and len(fig.axes) == 2
    plt.close(fig)
    assert plt.get_fignums() == []
