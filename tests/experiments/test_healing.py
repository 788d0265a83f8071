"""S3 experiment: the condition number heals along the iteration."""

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from srlm_core.errors import ConfigError
from srlm_core.experiments.healing import (
    Config,
    forgetting,
    plot,
    rounds_to_heal,
    run,
    span_bound,
    summarise,
)
from srlm_core.options import build

SMALL = Config(iters=3, n=300, instances=2, seeds=2, starts=(1.0, 4.0))
TINY = Config(iters=2, n=100, instances=2, seeds=1, starts=(2.0,))


@pytest.fixture(scope="module")
def small():
    return run(SMALL)


@pytest.mark.slow
def test_run_is_deterministic_and_draws_instances():
    values = run(TINY)
    assert values == run(TINY)
    sim = Config().simulation(6.0, 2000, 3)
    assert (sim.seed, sim.seeds, sim.n, sim.engine, sim.init_dist) == (3, 4, 2000, "counts", 6.0)
    # two instances are two problems: different initial spans
    assert values["span0"]["2.0"][0] != values["span0"]["2.0"][1]


def test_the_population_bounds_hold(small):
    assert {(row["e0"], row["regime"], row["instance"]) for row in small["rows"]} == {
        (e0, regime, i) for e0 in (1.0, 4.0) for regime in ("population", "n = 300")
        for i in (0, 1)}
    summary = summarise(small)
    assert summary["s3_heal_holds"] == "holds"
    assert summary["n_heal"] == 300 and summary["n_heal_iters"] == 3
    assert (summary["n_heal_instances"], summary["n_heal_seeds"]) == (2, 2)
    # the span of each population run contracts exactly by 1 - alpha per round
    for i in (0, 1):
        spans = [row["span"] for row in small["rows"] if row["e0"] == 4.0
                 and row["regime"] == "population" and row["instance"] == i]
        assert spans == pytest.approx(list(span_bound(small, 4.0, i)), rel=1e-6)


def hand_made(rates, kappa_over_span: float = 1.0, final=((0.1, 0.2), (0.1, 0.2))) -> dict:
    """Population runs with log kappa_t = s_0 rate_i^t on instance i, kappa_Sigma = kappa / 2;
    finite-n runs (two seeds) at log kappa = final[start][instance] + 0.01 seed."""
    rows, iters, span0 = [], 6, {"1.0": [2.0] * len(rates), "6.0": [12.0] * len(rates)}
    for j, e0 in enumerate((1.0, 6.0)):
        for i, rate in enumerate(rates):
            for t in range(iters + 1):
                log_kappa = span0[str(e0)][i] * rate**t * kappa_over_span
                rows.append({"e0": e0, "regime": "population", "instance": i, "t": t,
                             "seed": 0, "kappa": math.exp(log_kappa),
                             "kappa_sigma": math.exp(log_kappa) / 2,
                             "span": span0[str(e0)][i] * 0.5**t})
                rows += [{"e0": e0, "regime": "n = 100", "instance": i, "t": t, "seed": s,
                          "kappa": math.exp(final[j][i] + 0.01 * s), "kappa_sigma": 1.0,
                          "span": 0.0} for s in (0, 2)]
    return {"alpha": 0.5, "iters": iters, "n": 100, "epsilon": 0.1, "instances": len(rates),
            "seeds": 2, "forget_margin": 0.25, "starts": [1.0, 6.0], "span0": span0,
            "rows": rows}


def test_summarise_verdicts_where_the_prediction_holds():
    summary = summarise(hand_made(rates=(0.45, 0.49)))
    assert summary["s3_heal_holds"] == "holds"
    # per instance the deterministic slope is log(rate) exactly; the interval is over instances
    slopes = [math.log(0.45), math.log(0.49)]
    assert summary["s3_heal_slope"] == pytest.approx(np.mean(slopes))
    assert (summary["s3_heal_slope_min"], summary["s3_heal_slope_max"]) == pytest.approx(slopes)
    assert summary["s3_heal_inside"] == "inside"
    assert summary["s3_heal_side"] == "steeper than the predicted rate in every instance"
    assert summary["s3_kappa0_poor"] == pytest.approx(math.exp(12.0))
    assert summary["s3_kappas0_poor"] == pytest.approx(math.exp(12.0) / 2)
    assert summary["s3_final_logkappa_6"] == pytest.approx(0.16)  # mean of 0.11 and 0.21
    assert summary["s3_forget_diff"] == pytest.approx(0.0)
    assert summary["s3_forgotten"] == "the start is forgotten"


def test_summarise_verdicts_where_the_prediction_fails():
    summary = summarise(hand_made(rates=(0.25, 0.26), kappa_over_span=2.0,
                                  final=((0.1, 0.2), (0.5, 0.62))))
    assert summary["s3_heal_holds"] == "fails"  # log kappa_0 above the span bound
    assert summary["s3_heal_inside"] == "outside"  # slopes near log(1/4), not log(1/2)
    assert summary["s3_heal_side"] == "steeper than the predicted rate in every instance"
    assert summary["s3_heal_pace"] == "faster than"
    assert summary["s3_forget_diff"] == pytest.approx(0.41)
    assert summary["s3_forgotten"] == "the start is still visible"
    slower = summarise(hand_made(rates=(0.6, 0.61)))
    assert (slower["s3_heal_pace"], slower["s3_heal_inside"]) == ("slower than", "outside")
    mixed = summarise(hand_made(rates=(0.45, 0.6)))
    assert mixed["s3_heal_side"] == "on both sides of the predicted rate across instances"
    assert mixed["s3_heal_pace"] == "sometimes faster and sometimes slower than"


def test_forgetting_words():
    assert forgetting([0.01, -0.01, 0.0, 0.005], level=1.0, margin=0.25) == (
        "the start is forgotten")
    assert forgetting([0.5, 0.6, 0.55], level=1.0, margin=0.25) == "the start is still visible"
    # a noisy null is not read as an absence
    assert forgetting([0.5, -0.5, 0.4, -0.45], level=1.0, margin=0.25) == (
        "the design cannot tell whether the start is forgotten")


def test_rounds_to_heal_is_the_closed_form():
    expected = math.log(math.log(1.1) / (2 * 6.0)) / math.log(0.5)
    assert rounds_to_heal(0.5, 6.0, 0.1) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("field", "value"),
                         [("alpha", 1.0), ("iters", 1), ("starts", ()), ("epsilon", 0.0),
                          ("instances", 1), ("seeds", 0), ("forget_margin", 0.0),
                          ("engine", "fast")])
def test_validate_names_the_bad_field(field, value):
    with pytest.raises(ConfigError, match=f"^{field}:"):
        run(build(Config, {field: value}))


def test_plot_returns_a_figure(small):
    fig = plot(small)
    assert isinstance(fig, Figure)
    plt.close(fig)
