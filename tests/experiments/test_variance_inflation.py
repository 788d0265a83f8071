"""S3 experiment: the one-step variance constant V is squeezed by kappa_Sigma of the start."""

import math

import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.figure import Figure

from srlm_core.errors import ConfigError
from srlm_core.experiments.variance_inflation import Config, bounds, plot, run, summarise
from srlm_core.model import one_step_prediction as osp
from srlm_core.model.policy import make_problem, random_unit_vectors

SMALL = Config(starts=6, contexts=8)


def test_run_is_deterministic_and_every_start_lies_between_the_bounds():
    values = run(SMALL)
    assert values == run(SMALL)
    lower, upper = bounds(values)
    for row, lo, hi in zip(values["rows"], lower, upper):
        assert lo <= row["V"] * (1 + 1e-9) and row["V"] <= hi * (1 + 1e-9)
        assert 0.0 < row["s_min"] <= 0.25
    assert summarise(values)["s3_inside"] == "6 of 6"


def test_V_equals_the_one_step_prediction_of_s2():
    values = run(SMALL)
    p = make_problem(d=8, K=8, contexts=8, seed=0)
    radius = torch.linspace(0.5, 8.0, 6, dtype=torch.float64)[:, None]
    theta0 = p.theta_star + radius * random_unit_vectors((6, 8), torch.Generator().manual_seed(7))
    for row, start in zip(values["rows"], theta0):
        predicted = osp.predict_one_step(p, start, 0.5).variance
        assert row["V"] == pytest.approx(predicted, rel=1e-10)


def test_summarise_on_hand_made_values():
    ks = [1.0, 4.0, 16.0]
    rows = [{"distance": 1.0, "V": 2 * math.sqrt(k), "kappa": k**2, "kappa_sigma": k,
             "s_min": 0.25} for k in ks]
    values = {"d": 8, "beta": 1.0, "rows": rows}
    summary = summarise(values)
    # V = 2 sqrt(kappa_Sigma): between kappa_Sigma and 8 kappa_Sigma only for kappa_Sigma <= 4
    assert summary["s3_inside"] == "2 of 3"
    assert summary["s3_vslope_ks"] == pytest.approx(0.5)
    assert summary["s3_vslope_k"] == pytest.approx(0.25)
    assert summary["s3_v_over_ks_min"] == pytest.approx(0.5)
    assert summary["s3_v_over_ks_max"] == pytest.approx(2.0)
    assert summary["s3_v_range"] == pytest.approx(4.0)
    assert summary["s3_k_range"] == pytest.approx(256.0)


@pytest.mark.parametrize(("field", "value"), [("starts", 2), ("alpha", 0.0), ("r_max", 0.1)])
def test_validate_names_the_bad_field(field, value):
    with pytest.raises(ConfigError, match=f"^{field}:"):
        run(Config(**{field: value}))


def test_plot_returns_a_figure():
    fig = plot(run(SMALL))
    assert isinstance(fig, Figure)
    plt.close(fig)
