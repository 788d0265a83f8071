"""S3 experiment: both condition numbers of random policies around the target."""

import math

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from srlm_core.errors import ConfigError
from srlm_core.experiments.condition_number_draws import (
    Config,
    plot,
    problem_medians,
    run,
    summarise,
    tightness,
)

SMALL = Config(problems=2, draws=25, contexts=8)


def test_run_is_deterministic_and_respects_the_s3_bounds():
    values = run(SMALL)
    assert values == run(SMALL)
    assert len(values["rows"]) == 50
    for row in values["rows"]:
        assert 1.0 <= row["kappa_sigma"] <= row["kappa"] * (1 + 1e-9)  # kappa_Sigma <= kappa
        assert math.log(row["kappa"]) <= row["span"] + 1e-9 <= 2 * row["distance"] + 2e-9
    summary = summarise(values)
    assert summary["s3_span_ok"] == summary["s3_twonorm_ok"] == "50 of 50"
    assert summary["s3_ratio_max"] <= 1.0
    assert summary["s3_ks_le_k"] == "holds for every draw"
    assert (summary["n_draw_problems"], summary["n_draws"]) == (2, 25)
    # the two problems are different: different draws
    assert values["rows"][0]["kappa"] != values["rows"][25]["kappa"]


def test_the_target_itself_has_both_condition_numbers_one():
    values = run(Config(problems=2, draws=3, r_min=0.0, r_max=0.0))
    for row in values["rows"]:
        assert row["kappa"] == pytest.approx(1.0, abs=1e-12)
        assert row["span"] == pytest.approx(0.0, abs=1e-12)
        assert row["kappa_sigma"] == pytest.approx(1.0, abs=1e-10)


def hand_made(rows):
    return {"problems": 2, "draws": 1, "r_min": 1.0, "r_max": 1.0, "rows": rows}


def test_summarise_counts_violations_and_reads_kappa_sigma_at_the_largest_kappa():
    rows = [
        {"problem": 0, "distance": 1.0, "kappa": math.e, "kappa_sigma": 2.0, "span": 1.5},
        {"problem": 1, "distance": 1.0, "kappa": math.e**3, "kappa_sigma": 4.0, "span": 2.5},
    ]
    summary = summarise(hand_made(rows))
    assert summary["s3_span_ok"] == "1 of 2"  # log kappa = 3 > span 2.5
    assert summary["s3_twonorm_ok"] == "1 of 2"  # span 2.5 > 2 * distance
    assert summary["s3_kappa_max"] == pytest.approx(math.e**3)
    assert summary["s3_kappa_sigma_at_max"] == 4.0
    assert summary["s3_orders"] == "less than an order of magnitude"  # e^3 / 4 = 5
    assert summary["s3_ratio_max"] == pytest.approx(2.0 / math.e)
    assert summary["s3_ks_le_k"] == "holds for every draw"
    # per problem medians (one draw each), then their mean over problems
    assert list(problem_medians(hand_made(rows))) == pytest.approx(
        [math.log(2.0), math.log(4.0) / 3])
    assert summary["s3_sq_ratio_median"] == pytest.approx(
        (math.log(2.0) + math.log(4.0) / 3) / 2)


def test_verdicts_where_the_bound_fails_and_where_it_is_far_from_tight():
    rows = [{"problem": p, "distance": 1.0, "kappa": k, "kappa_sigma": ks, "span": 5.0}
            for p, k, ks in ((0, 2.0, 3.0), (1, 4.0, 2.0))]
    assert summarise(hand_made(rows))["s3_ks_le_k"] == "fails for 1 draw"
    far = [{"problem": p, "distance": 10.0, "kappa": 1e4, "kappa_sigma": ks, "span": 10.0}
           for p, ks in ((0, 2.0), (1, 2.2), (2, 2.1))]
    summary = summarise(hand_made(far))
    assert summary["s3_tightness"] == "far from tight"
    assert summary["s3_orders"] == "3 orders of magnitude"  # 1e4 / 2.2
    assert tightness(0.92, 0.97) == "close to tight"
    assert tightness(0.4, 0.7) == "loose"


@pytest.mark.parametrize(("field", "value"), [("draws", 0), ("K", 1), ("r_max", 0.05),
                                             ("problems", 1)])
def test_validate_names_the_bad_field(field, value):
    with pytest.raises(ConfigError, match=f"^{field}:"):
        run(Config(**{field: value}))


def test_plot_returns_a_figure():
    fig = plot(run(Config(problems=2, draws=10, contexts=8)))
    assert isinstance(fig, Figure)
    plt.close(fig)
