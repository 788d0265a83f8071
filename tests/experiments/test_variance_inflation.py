"""S3 experiment: the one-step variance constant V is squeezed by kappa_Sigma of the start."""

import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.figure import Figure

from srlm_core.errors import ConfigError
from srlm_core.experiments.variance_inflation import (
    Config,
    bounds,
    exponent_shape,
    orders_of_magnitude,
    plot,
    run,
    summarise,
)
from srlm_core.model import one_step_prediction as osp
from srlm_core.model.policy import make_problem, random_unit_vectors

SMALL = Config(problems=2, starts=6, contexts=8)


def test_run_is_deterministic_and_every_start_lies_between_the_bounds():
    values = run(SMALL)
    assert values == run(SMALL)
    lower, upper = bounds(values)
    for row, lo, hi in zip(values["rows"], lower, upper):
        assert lo <= row["V"] * (1 + 1e-9) and row["V"] <= hi * (1 + 1e-9)
        assert 0.0 < row["s_min"] <= 0.25
    summary = summarise(values)
    assert summary["s3_inside"] == "12 of 12"
    assert summary["s3_bounds_verdict"] == "hold for every start"
    assert (summary["n_inflation_problems"], summary["n_inflation_starts"]) == (2, 6)
    assert [row["problem"] for row in values["rows"]] == [0] * 6 + [1] * 6


def test_V_equals_the_one_step_prediction_of_s2():
    values = run(SMALL)
    p = make_problem(d=8, K=8, contexts=8, seed=0)
    radius = torch.linspace(0.5, 8.0, 6, dtype=torch.float64)[:, None]
    theta0 = p.theta_star + radius * random_unit_vectors((6, 8), torch.Generator().manual_seed(7))
    for row, start in zip(values["rows"][:6], theta0):
        predicted = osp.predict_one_step(p, start, 0.5).variance
        assert row["V"] == pytest.approx(predicted, rel=1e-10)


def test_summarise_on_hand_made_values():
    ks = [1.0, 4.0, 16.0]
    # problem 0: V = 2 kappa_Sigma^0.5, problem 1: V = 2 kappa_Sigma^0.6 (kappa = kappa_Sigma^2)
    rows = [{"problem": p, "distance": 1.0, "V": 2 * k**b, "kappa": k**2, "kappa_sigma": k,
             "s_min": 0.25} for p, b in ((0, 0.5), (1, 0.6)) for k in ks]
    values = {"d": 8, "beta": 1.0, "problems": 2, "rows": rows}
    summary = summarise(values)
    # V between kappa_Sigma and 8 kappa_Sigma fails at kappa_Sigma = 16 in both problems
    assert summary["s3_inside"] == "4 of 6"
    assert summary["s3_bounds_verdict"] == "fail for 2 starts"
    # slopes fitted per problem, averaged over problems (the unit), not pooled over rows
    assert summary["s3_vslope_ks"] == pytest.approx(0.55)
    assert summary["s3_vslope_ks_lo"] < 0.5 and summary["s3_vslope_ks_hi"] > 0.6
    assert summary["s3_vslope_k"] == pytest.approx(0.275)
    assert summary["s3_vslope_cmp"] == "not distinguishable from"  # two problems, wide t
    assert summary["s3_v_over_ks_min"] == pytest.approx(0.5)
    assert summary["s3_v_over_ks_max"] == pytest.approx(2.0)
    assert summary["s3_v_range"] == pytest.approx(16**0.6)
    assert summary["s3_k_range"] == pytest.approx(256.0)
    assert summary["s3_overstate"] == "one order of magnitude"  # 256 / 5.3


def test_verdict_words():
    assert exponent_shape(0.6, 0.7) == "sublinearly"
    assert exponent_shape(1.1, 1.3) == "superlinearly"
    assert exponent_shape(0.9, 1.1) == "about linearly"
    assert orders_of_magnitude(5.0) == "less than an order of magnitude"
    assert orders_of_magnitude(50.0) == "one order of magnitude"
    assert orders_of_magnitude(2.0e4) == "4 orders of magnitude"
    rows = [{"problem": p, "distance": 1.0, "V": k**b, "kappa": k**0.5, "kappa_sigma": k,
             "s_min": 0.25} for p, b in ((0, 0.5), (1, 0.51), (2, 0.49)) for k in (1.0, 4.0)]
    # against kappa = kappa_Sigma^0.5 the exponent doubles: larger, and clearly so
    summary = summarise({"d": 8, "beta": 1.0, "problems": 3, "rows": rows})
    assert summary["s3_vslope_cmp"] == "larger than"


@pytest.mark.parametrize(("field", "value"), [("starts", 2), ("alpha", 0.0), ("r_max", 0.1),
                                             ("problems", 1)])
def test_validate_names_the_bad_field(field, value):
    with pytest.raises(ConfigError, match=f"^{field}:"):
        run(Config(**{field: value}))


def test_plot_returns_a_figure():
    fig = plot(run(SMALL))
    assert isinstance(fig, Figure)
    plt.close(fig)
