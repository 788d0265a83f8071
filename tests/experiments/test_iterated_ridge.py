"""S5 with iteration: the fixed point's bias lambda / (alpha mu + lambda), the stationary error
against its prediction and the bound, and the verdicts chosen from the numbers."""

import copy
import json

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from srlm_core import ConfigError
from srlm_core.experiments import iterated_ridge as ir
from srlm_core.model.policy import ProblemConfig
from srlm_core.options import build

SMALL = ir.Config(problem=ProblemConfig(d=4, K=4, contexts=8), instances=2, seeds=4, rounds=6,
                  burn_in=2, n=4000, alphas=(0.5, 1.0), lam=0.01)


@pytest.fixture(scope="module")
def values():
    return ir.run(SMALL)


@pytest.mark.slow
def test_fixed_point_bias_matches_the_effective_ridge(values):
    json.dumps(values)
    assert len(values["cells"]) == SMALL.instances * len(SMALL.alphas)
    for cell in values["cells"]:
        mu, factor = np.asarray(cell["mu"]), np.asarray(cell["factor"])
        keep = np.abs(cell["w"]) >= ir.MIN_WEIGHT * SMALL.problem.signal
        predicted = SMALL.lam / (cell["alpha"] * mu + SMALL.lam)
        np.testing.assert_allclose(factor[keep], predicted[keep], atol=ir.BIAS_TOL)
        assert cell["bias"] + cell["variance"] <= cell["bound"]
        assert len(cell["error_seeds"]) == SMALL.seeds


@pytest.mark.slow
def test_summary_on_the_run(values):
    out = ir.summarise(values, SMALL)
    assert out["ir_bias_verdict"] == "holds"
    assert out["ir_bias_dev_one"] > 10 * out["ir_bias_dev"]  # the one-step ridge is off
    assert out["ir_cells"] == 4 and out["ir_instances"] == 2
    assert out["ir_alphas"] == "0.5, 1"
    assert out["ir_ratio_text"].count("[") == 2 and out["ir_ratio_text"].endswith("α = 1")
    # at alpha = 1 the iterated prediction is the one-step one
    frame = ir.table(values)
    at_one = frame[frame["alpha"] == 1.0]
    np.testing.assert_allclose(at_one["one_step"], at_one["prediction"], rtol=1e-12)
    assert 0 < out["ir_lam_ratio"] < 1 and out["ir_cost_pct"] > 0


def _hand_made(error_scale: float = 1.0, factor_shift: float = 0.0, bound_scale: float = 2.0):
    cells = []
    for instance in range(3):
        for alpha in (0.25, 1.0):
            mu = np.array([0.001, 0.01, 0.1])
            prediction = 0.002 + 0.001 * instance
            cells.append({
                "instance": instance, "alpha": alpha, "fixed_rounds": 10, "mu": mu.tolist(),
                "w": [0.5, 0.5, 0.5],
                "factor": (0.01 / (alpha * mu + 0.01) + factor_shift).tolist(),
                "error_seeds": [prediction * error_scale * s for s in (0.9, 1.1)],
                "bias": prediction / 2, "variance": prediction / 2,
                "bound": bound_scale * prediction, "one_step": prediction / 2,
            })
    return {"cells": cells, "lam": 0.01, "signal": 1.0, "balanced": {}, "equations": {}}


CONFIG = ir.Config(alphas=(0.25, 1.0), instances=3)


def test_verdicts_hold_on_values_that_meet_the_predictions():
    out = ir.summarise(_hand_made(), CONFIG)
    assert out["ir_bias_verdict"] == "holds" and out["ir_bias_dev"] < 1e-12
    assert out["ir_risk_verdict"] == "holds" and out["ir_risk_fail"] == "none"
    assert out["ir_ratio_text"] == ("1.000 [1.000, 1.000] at α = 0.25; "
                                    "1.000 [1.000, 1.000] at α = 1")
    assert out["ir_bound_verdict"] == "holds" and out["ir_under_bound"] == 6
    assert out["ir_bound_slack"] == pytest.approx(2.0)
    assert out["ir_one_step_lo"] == pytest.approx(2.0)
    assert "ir_lam_ratio" not in out


def test_verdicts_fail_where_the_predictions_fail():
    out = ir.summarise(_hand_made(error_scale=1.5, factor_shift=0.05, bound_scale=1.2), CONFIG)
    assert out["ir_bias_verdict"] == "fails" and out["ir_bias_dev"] == pytest.approx(0.05)
    assert out["ir_risk_verdict"] == "fails" and out["ir_risk_fail"] == "0.25, 1"
    assert out["ir_bound_verdict"] == "fails" and out["ir_under_bound"] == 0


def test_sampled_round_approaches_the_population_round():
    config = ir.Config(problem=ProblemConfig(d=3, K=3, contexts=4), n=2_000_000, instances=2)
    features, w_star = ir.problem_tensors(config, 0)
    features, w_star = features[None], w_star[None]
    alpha = torch.tensor([[0.5]], dtype=torch.float64)
    u_fix, rounds = ir.population_fixed_point(features, w_star, alpha, config)
    assert rounds < config.max_rounds
    generator = torch.Generator().manual_seed(0)
    u_next = ir.sample_round(features, w_star, alpha, u_fix, config, generator)
    assert float((u_next - u_fix).abs().max()) < 0.05


@pytest.mark.slow
def test_plot_and_table(values):
    frame = ir.table(values)
    assert list(frame["alpha"]) == [0.5, 1.0, 0.5, 1.0]
    fig = ir.plot(copy.deepcopy(values))
    assert len(fig.axes) == 2
    plt.close(fig)


@pytest.mark.parametrize("field, change", [
    ("alphas", {"alphas": (0.0, 0.5)}), ("burn_in", {"burn_in": 20}), ("lam", {"lam": 0.0}),
    ("instances", {"instances": 1}), ("decay", {"decay": -1.0}), ("K", {"K": 1}),
])
def test_invalid_fields_are_named(field, change):
    with pytest.raises(ConfigError) as err:
        build(ir.Config, change).validate()
    assert err.value.field == field
