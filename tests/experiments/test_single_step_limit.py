"""single_step_limit (S2, one update against n): values, summary verdicts, config checks."""

import math

import matplotlib
import numpy as np
import pytest
from scipy import stats

from srlm_core import ConfigError
from srlm_core.experiments import single_step_limit as ssl

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from srlm_core.model.policy import ProblemConfig
from srlm_core.options import build

SMALL = ssl.Config(starts=(1.0, 2.0), n_min=200, n_max=400, instances=2, seeds=4, large_n=400,
                   slope_start=2.0, problem=ProblemConfig(d=4, K=4, contexts=8))


@pytest.fixture(scope="module")
def values():
    return ssl.run(SMALL)


def test_defaults_are_the_chapter_run():
    config = ssl.Config().validate()
    assert config.grid() == [250 * 2**k for k in range(8)]
    assert config.starts == (0.5, 1.0, 2.0, 4.0)
    assert config.instances >= 8 and config.seeds == 16
    assert config.alpha == 0.5 and config.large_n == 1000 and config.slope_start == 2.0


def test_run_is_deterministic_and_consistent(values):
    assert values == ssl.run(SMALL)  # seeded: the same config gives the same numbers
    assert [(c["instance"], c["e0"], c["n"]) for c in values["cells"]] == [
        (i, e0, n) for i in range(2) for e0 in (1.0, 2.0) for n in (200, 400)]
    for cell in values["cells"]:
        assert all(len(cell[k]) == 4 for k in ("kl", "variance_part", "sq_dist_ratio",
                                                "deviation"))
        assert min(cell["kl"]) > 0 and min(cell["variance_part"]) > 0
    floors = {(row["instance"], row["e0"]): row["floor"] for row in values["predictions"]}
    for i in range(2):
        # theta_0 = theta* + e0 u with one direction u per problem: the floor scales as e0^2
        assert math.isclose(floors[i, 2.0] / floors[i, 1.0], 4.0, rel_tol=1e-12)
    # the instances are different problems (features, w*, direction of theta_0)
    assert floors[0, 1.0] != floors[1, 1.0]
    for row in values["predictions"]:
        assert 0 < row["floor"] and 0 < row["exact_floor"] and row["variance"] > 0


def test_summarise_on_the_run(values):
    summary = ssl.summarise(values)
    assert summary["s2_cover_all"].endswith(" of 4")
    assert summary["s2_cover_large"].endswith(" of 2")
    assert summary["s2_instances"] == 2 and summary["s2_seeds"] == 4
    assert summary["s2_d"] == 4 and summary["s2_starts"] == "1, 2"
    # the variance slope of the slope start: fitted within each problem on the seed means of
    # log n -> log variance part, then averaged with a t interval over the two problems
    slopes = []
    for i in range(2):
        cells = [c for c in values["cells"] if c["instance"] == i and c["e0"] == 2.0]
        slopes.append(np.polyfit([math.log(c["n"]) for c in cells],
                                 [math.log(np.mean(c["variance_part"])) for c in cells], 1)[0])
    half = stats.t.ppf(0.975, 1) * np.std(slopes, ddof=1) / math.sqrt(2)
    assert summary["s2_slope"] == pytest.approx(np.mean(slopes), rel=1e-12)
    assert (summary["s2_slope_lo"], summary["s2_slope_hi"]) == pytest.approx(
        (np.mean(slopes) - half, np.mean(slopes) + half), rel=1e-9)
    assert summary["s2_max_dev"] == max(max(c["deviation"]) for c in values["cells"])


INSTANCE_SCALE = (0.98, 1.0, 1.02)  # per-problem spread of the measured mean around its truth


def hand_made(ratio_small, ratio_large, slopes=(-1.01, -1.0, -0.99), floor_scale=(1.0,) * 3):
    """One start on three problems with floor 0.1 and variance 10: predicted KL 0.2 at
    n = 100, 0.11 at 1000; measured = predicted x ratio x a per-problem factor; variance parts
    2 n**slope (per problem) times fixed seed factors."""
    factors = (0.9, 1.0, 1.1)
    cells = []
    for i, (scale, slope) in enumerate(zip(INSTANCE_SCALE, slopes)):
        for n, ratio, predicted in ((100, ratio_small, 0.2), (1000, ratio_large, 0.11)):
            cells.append({"instance": i, "e0": 1.0, "n": n,
                          "kl": [predicted * ratio * scale * f for f in factors],
                          "variance_part": [2.0 * n**slope * f for f in factors],
                          "sq_dist_ratio": [0.25, 0.26, 0.27], "deviation": [0.1, 0.3, 0.2]})
    return {
        "alpha": 0.5, "starts": [1.0], "ns": [100, 1000], "instances": 3, "seeds": 3,
        "large_n": 1000, "slope_start": 1.0, "slope_margin": 0.1,
        "predictions": [{"instance": i, "e0": 1.0, "floor": 0.1 * floor_scale[i],
                         "variance": 10.0, "exact_floor": 0.1, "variance_at_limit": 10.0,
                         "param_variance": 4.0} for i in range(3)],
        "cells": cells,
    }


def test_summarise_counts_covered_cells_where_the_prediction_holds():
    summary = ssl.summarise(hand_made(1.0, 1.0))
    assert summary["s2_cover_all"] == "2 of 2"
    assert summary["s2_cover_large"] == summary["s2_cover_refined_large"] == "1 of 1"
    assert summary["s2_cover_all_verdict"] == "consistent with"
    assert summary["s2_cover_all_expected"] == pytest.approx(1.9)
    assert summary["s2_miss_where"] == "there are no misses there"
    assert summary["s2_worst_rel_small_n"] == pytest.approx(0.0, abs=1e-9)
    assert summary["s2_worst_rel_large_n"] == pytest.approx(0.0, abs=1e-9)
    # per-problem slopes -1.01, -1, -0.99: mean -1, equivalent to -1 within 0.1 (TOST)
    assert summary["s2_slope"] == pytest.approx(-1.0, abs=1e-12)
    assert summary["s2_slope_contains"] == "contains"
    assert summary["s2_slope_verdict"] == "equivalent to" and summary["s2_slope_p"] < 0.05
    assert summary["s2_max_dev"] == 0.3 and summary["s2_quad_worst"] == 0.0
    # every problem's squared distance ratio is 0.26, against 0.254 predicted: a degenerate
    # interval that misses; one start alone is within the binomial range (0 to 1) of 95%
    assert summary["s2_ratio_cover"] == "0 of 1"
    assert summary["s2_ratio_cover_verdict"] == "consistent with"


def test_summarise_counts_misses_where_the_prediction_fails():
    summary = ssl.summarise(hand_made(1.5, 2.0, slopes=(-0.5, -0.6, -0.55),
                                      floor_scale=(1.2, 1.0, 1.0)))
    assert summary["s2_cover_all"] == "0 of 2"
    assert summary["s2_cover_large"] == "0 of 1"
    assert summary["s2_cover_all_verdict"] == "below"
    assert summary["s2_miss_where"] == ("the misses there are at e\u2080 = 1, where the "
                                        "prediction sits below the measured KL")
    assert summary["s2_small_n_side"] == "larger"
    # the first problem predicts 0.22 and 0.13 (floor 0.12): its ratios are lower
    small = np.mean([0.2 * 1.5 * 0.98 / 0.22, 1.5, 1.5 * 1.02])
    large = np.mean([0.11 * 2.0 * 0.98 / 0.13, 2.0, 2.0 * 1.02])
    assert summary["s2_worst_rel_small_n"] == pytest.approx((small - 1) * 100)
    assert summary["s2_worst_rel_large_n"] == pytest.approx((large - 1) * 100)
    assert summary["s2_slope_contains"] == "excludes"
    assert summary["s2_slope_verdict"] == "not shown equivalent to"
    # one problem's quadratic floor is 1.2 times the exact one
    assert summary["s2_quad_worst"] == pytest.approx(20.0)
    assert summary["s2_quad_side"] == "overstates"


@pytest.mark.parametrize("covered, cells, verdict", [
    (32, 32, "consistent with"), (28, 32, "consistent with"), (27, 32, "below"),
    (20, 32, "below")])
def test_count_verdict_uses_the_binomial_baseline(covered, cells, verdict):
    """An exact 95% interval covers Binomial(32, 0.95) cells: central 95% range 28 to 32."""
    result = ssl.count_verdict(covered, cells)
    assert result["count"] == f"{covered} of {cells}"
    assert result["expected"] == pytest.approx(30.4)
    assert result["range"] == "28\u201332"
    assert result["verdict"] == verdict


def test_miss_text_names_the_side_per_start():
    misses = [{"e0": 0.5, "ratio": 1.05}, {"e0": 4.0, "ratio": 0.97},
              {"e0": 4.0, "ratio": 0.98}, {"e0": 2.0, "ratio": 0.9}, {"e0": 2.0, "ratio": 1.1}]
    assert ssl.miss_text(misses) == (
        "the misses there are at e\u2080 = 0.5, where the prediction sits below the measured "
        "KL and at e\u2080 = 2, where the prediction sits on both sides of the measured KL "
        "and at e\u2080 = 4, where the prediction sits above the measured KL")


def test_table_and_fits(values):
    fits = ssl.variance_fits(values)
    assert [fit["e0"] for fit in fits] == [1.0, 2.0]
    table = ssl.table(values)
    assert len(table) == 2
    hand = ssl.variance_fits(hand_made(1.0, 1.0, floor_scale=(0.9, 1.0, 1.1)))[0]
    assert hand["ratio"] == pytest.approx(0.26)
    # the interval over problems of identical means collapses
    assert hand["ratio_lo"] == pytest.approx(0.26) and hand["ratio_hi"] == pytest.approx(0.26)
    assert hand["ratio_predicted"] == pytest.approx(0.25 + 4.0 / 1000)
    assert (hand["floor_ratio_min"], hand["floor_ratio_max"]) == pytest.approx((0.9, 1.1))


@pytest.mark.parametrize(
    "changes, field",
    [({"n_min": 0}, "n_min"), ({"n_max": 100}, "n_max"), ({"n_max": 300}, "n_max"),
     ({"starts": ()}, "starts"), ({"starts": (0.0, 1.0), "slope_start": 1.0}, "starts"),
     ({"slope_start": 3.0}, "slope_start"), ({"slope_margin": 0.0}, "slope_margin"),
     ({"seeds": 0}, "seeds"), ({"instances": 1}, "instances"), ({"large_n": 0}, "large_n"),
     ({"alpha": 0.0}, "alpha")],
)
def test_bad_config(changes, field):
    with pytest.raises(ConfigError, match=field) as err:
        build(ssl.Config, changes).validate()
    assert err.value.field == field


def test_plot_draws_from_values(values):
    fig = ssl.plot(values)
    assert isinstance(fig, plt.Figure) and len(fig.axes) == 3
    # the middle panel: one thin line per problem and start, plus the means
    assert len(fig.axes[1].lines) >= 2 * 2
    plt.close(fig)
    assert plt.get_fignums() == []
