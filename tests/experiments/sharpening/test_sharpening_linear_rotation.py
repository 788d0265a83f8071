"""D2: with n < d the exact update rotates; the error against d for each spectrum."""

import json

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from srlm_core import ConfigError
from srlm_core.experiments.sharpening import sharpening_linear_rotation as exp

SMALL = exp.Config(n=8, dims=(4, 8, 32), decays=(0.0, 0.5), rounds=2, prompts=16, responses=8,
                   instances=3, kappa0=3.0)


@pytest.fixture(scope="module")
def values():
    return exp.run(SMALL)


def test_run_is_json_and_the_span_decides_the_error(values):
    assert json.loads(json.dumps(values)) == values
    rows = values["rows"]
    assert len(rows) == 2 * 3 * 2 * 3
    for r in rows:
        if r["rank"] == r["d"] and r["ridge_scale"] == 0:
            assert r["error"] < 1e-12
        assert r["d_eff"] <= min(r["d"], values["n"]) + 1e-9  # tr Sigma <= 1 and lambda = 1/n
    summary = exp.summarise(values)
    assert summary["p3_rot_ridge_verdict"] == "holds"
    assert summary["p3_rot_err_iso_d32"] > summary["p3_rot_err_a050_d32"]


def test_effective_dimension_of_isotropic_features():
    phi = np.eye(4)[None]  # four unit features
    assert exp.effective_dimension(phi, 0.25) == pytest.approx(4 * 0.25 / 0.5)


def cell(decay, d, errors, scale=0.0, closed=0.5):
    return [{"decay": decay, "d": d, "ridge_scale": scale, "instance": i, "error": e,
             "rank": 1, "closed_form": closed if d > 2 else 0.0, "d_eff": 1.0, "kappa": 1.0,
             "failure_own": 0.0, "failure_base": 0.0, "switches": 0.0}
            for i, e in enumerate(errors)]


def hand_made(iso_hi, flat_hi, ridge_hi):
    rows = (cell(0.0, 1, [0.0, 0.01, 0.0]) + cell(0.0, 2, [0.1, 0.1, 0.12])
            + cell(0.0, 8, iso_hi)
            + cell(0.5, 1, [0.0] * 3) + cell(0.5, 2, [0.01, 0.012, 0.011])
            + cell(0.5, 8, flat_hi))
    rows += [dict(r, ridge_scale=1.0, error=r["error"] + ridge_hi) for r in rows]
    return {"n": 2, "dims": [1, 2, 8], "decays": [0.0, 0.5], "ridge_scales": [0.0, 1.0],
            "beta": 1.0, "kappa0": 3.0, "rounds": 2, "prompts": 4, "responses": 3,
            "instances": 3, "margins": {"closed_form": 0.2, "rise": 0.2, "flat": 0.05},
            "rows": rows}


def test_summarise_where_the_predictions_hold():
    s = exp.summarise(hand_made([0.5, 0.49, 0.51], [0.011, 0.012, 0.010], 0.01))
    assert s["p3_rot_closed_verdict"] == "holds"
    assert s["p3_rot_rise_verdict"] == "holds"
    assert s["p3_rot_flat_verdict"] == "holds"
    assert s["p3_rot_order_verdict"] == "holds"
    assert s["p3_rot_ridge_verdict"] == "holds" and s["p3_rot_ridge_worse"] == 6


def test_summarise_where_the_predictions_fail():
    s = exp.summarise(hand_made([0.15, 0.2, 0.25], [0.3, 0.35, 0.4], -0.005))
    assert s["p3_rot_closed_verdict"] == "fails"  # 0.2 against 0.5
    assert s["p3_rot_rise_verdict"] == "fails"
    assert s["p3_rot_flat_verdict"] == "fails"
    assert s["p3_rot_order_verdict"] == "fails"  # a = 0.5 above isotropic at d = 8
    assert s["p3_rot_ridge_verdict"] == "fails"


@pytest.mark.parametrize("change, field", [
    ({"dims": (8,)}, "dims"), ({"dims": (8, 4)}, "dims"), ({"n": 5}, "dims"),
    ({"decays": (0.5,)}, "decays"), ({"ridge_scales": (1.0,)}, "ridge_scales"),
    ({"kappa0": 100.0}, "kappa0"), ({"beta": 0.0}, "beta"), ({"instances": 1}, "instances"),
    ({"flat_margin": 0.0}, "flat_margin"),
])
def test_validate_names_the_bad_field(change, field):
    with pytest.raises(ConfigError) as error:
        exp.Config(**change).validate()
    assert error.value.field == field


def test_plot_is_a_figure(values):
    fig = exp.plot(values)
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    plt.close(fig)
