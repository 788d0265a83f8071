"""S3 experiment: the condition number heals along the iteration."""

import math

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from srlm_core.errors import ConfigError
from srlm_core.experiments.healing import Config, plot, rounds_to_heal, run, span_bound, summarise

SMALL = Config(iters=3, n=300, seeds=3, starts=(1.0, 4.0))
TINY = Config(iters=2, n=100, seeds=2, starts=(2.0,))


@pytest.fixture(scope="module")
def small():
    return run(SMALL)


def test_run_is_deterministic():
    assert run(TINY) == run(TINY)


def test_the_population_bounds_hold(small):
    assert {(row["e0"], row["regime"]) for row in small["rows"]} == {
        (e0, regime) for e0 in (1.0, 4.0) for regime in ("population", "n = 300")}
    summary = summarise(small)
    assert summary["s3_heal_holds"] == "holds"
    assert summary["n_heal"] == 300 and summary["n_heal_iters"] == 3
    # the span of the population run contracts exactly by 1 - alpha per round
    spans = [row["span"] for row in small["rows"]
             if row["e0"] == 4.0 and row["regime"] == "population"]
    assert spans == pytest.approx(list(span_bound(small, 4.0)), rel=1e-6)


def hand_made(rate: float, kappa_over_span: float = 1.0) -> dict:
    """Population runs with log kappa_t = s_0 rate^t (times 0.99 at odd t, so that the fitted
    slope has an interval), kappa_Sigma = kappa / 2; finite-n runs at kappa = e^(0.1 seed)."""
    rows, iters, span0 = [], 6, {"1.0": 2.0, "6.0": 12.0}
    for e0 in (1.0, 6.0):
        for t in range(iters + 1):
            log_kappa = span0[str(e0)] * rate**t * kappa_over_span * (1 - 0.01 * (t % 2))
            rows.append({"e0": e0, "regime": "population", "t": t, "seed": 0,
                         "kappa": math.exp(log_kappa), "kappa_sigma": math.exp(log_kappa) / 2,
                         "span": span0[str(e0)] * 0.5**t})
            rows += [{"e0": e0, "regime": "n = 100", "t": t, "seed": s,
                      "kappa": math.exp(0.1 * s), "kappa_sigma": 1.0, "span": 0.0}
                     for s in (1, 2, 3)]
    return {"alpha": 0.5, "iters": iters, "n": 100, "epsilon": 0.1, "starts": [1.0, 6.0],
            "span0": span0, "rows": rows}


def test_summarise_verdicts_where_the_prediction_holds():
    summary = summarise(hand_made(rate=0.5))
    assert summary["s3_heal_holds"] == "holds"
    assert summary["s3_heal_inside"] == "inside"
    assert summary["s3_heal_lo"] < summary["s3_heal_pred"] == math.log(0.5) < summary["s3_heal_hi"]
    assert summary["s3_kappa0_poor"] == pytest.approx(math.exp(12.0))
    assert summary["s3_kappas0_poor"] == pytest.approx(math.exp(12.0) / 2)
    assert summary["s3_final_logkappa_6"] == pytest.approx(0.2)  # mean of 0.1, 0.2, 0.3
    assert summary["s3_final_logkappa_1_lo"] < 0.2 < summary["s3_final_logkappa_1_hi"]


def test_summarise_verdicts_where_the_prediction_fails():
    summary = summarise(hand_made(rate=0.25, kappa_over_span=2.0))
    assert summary["s3_heal_holds"] == "fails"  # log kappa_0 above the span bound
    assert summary["s3_heal_inside"] == "outside"  # slope log(1/4), not log(1/2)
    assert summary["s3_heal_slope"] == pytest.approx(math.log(0.25), abs=0.05)


def test_rounds_to_heal_is_the_closed_form():
    expected = math.log(math.log(1.1) / (2 * 6.0)) / math.log(0.5)
    assert rounds_to_heal(0.5, 6.0, 0.1) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("field", "value"),
                         [("alpha", 1.0), ("iters", 1), ("starts", ()), ("epsilon", 0.0)])
def test_validate_names_the_bad_field(field, value):
    with pytest.raises(ConfigError, match=f"^{field}:"):
        run(Config(**{field: value}))


def test_plot_returns_a_figure(small):
    fig = plot(small)
    assert isinstance(fig, Figure)
    plt.close(fig)
