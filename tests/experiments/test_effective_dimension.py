"""S5 experiment: at fixed d_eff the balanced-ridge DPO error does not grow with d; the
lambda -> 0 error does."""

import pytest
import sympy as sp
import torch

from srlm_core.cli import main
from srlm_core.experiments.effective_dimension import Config, predicted_risk, run, sandwich_risk
from srlm_core.publishing.results import load_record
from srlm_core.theory import effective_dimension as s5

SMALL = {"n": 512, "contexts": 256, "seeds": 6, "seed": 0}
#: stated tolerance: relative change of the balanced-ridge error when d grows 16x
FLAT_RTOL = 0.05


def rows_at(d: int) -> dict:
    """One dimension at a time: the sweep draws the same pairs for every d."""
    return {row["arm"]: row for row in run(Config(d_min=d, d_max=d, **SMALL))["rows"]}


def test_balanced_ridge_is_flat_in_d_and_lambda_min_grows():
    small, large = rows_at(16), rows_at(256)
    assert small["balanced"]["kl_target"] == large["balanced"]["kl_target"]  # same difficulty
    assert large["balanced"]["d_eff"] / small["balanced"]["d_eff"] < 1.2  # d_eff nearly fixed
    change = large["balanced"]["error_mean"] / small["balanced"]["error_mean"] - 1
    assert abs(change) < FLAT_RTOL
    assert large["lam_min"]["error_mean"] > 4 * small["lam_min"]["error_mean"]
    assert small["lam_min"]["mle_share"] == 1.0  # d = 16: the unregularised estimate exists
    for row in (*small.values(), *large.values()):
        assert row["grad_max"] < 1e-8  # both solvers converged


def test_prediction_is_the_sum_of_the_sympy_direction_risks():
    risk = s5.second_order_risk()
    mu, w = sp.symbols("mu w", positive=True)
    direction = sp.lambdify((mu, w, s5.lam, s5.n), risk.bias + risk.variance)
    nu = torch.tensor([0.5, 0.1, 0.01], dtype=torch.float64)
    w_star = torch.tensor([1.5, 0.0, -0.3], dtype=torch.float64)
    expected = sum(direction(float(a), float(b), 0.02, 100) for a, b in zip(nu, w_star))
    assert abs(predicted_risk(nu, w_star, 0.02, 100) - expected) < 1e-15


def test_sweep_command_writes_a_valid_record(tmp_path, capsys):
    args = ["sweep", "effective-dimension", "--d-min", "8", "--d-max", "16", "--contexts", "16",
            "--n", "64", "--seeds", "2", "--results-dir", str(tmp_path)]
    assert main(args) == 0
    record = load_record("effective-dimension", tmp_path)
    assert [row["d"] for row in record.values["rows"]] == [8, 8, 16, 16]
    assert record.command.startswith("srlm sweep effective-dimension --p 2.0 --d-min 8")


def test_bad_options_stop_with_one_line(capsys):
    assert main(["sweep", "effective-dimension", "--d-max", "8192"]) == 2
    assert capsys.readouterr().err.strip() == (
        "srlm sweep: error: --d-max: must be in [d_min, contexts], got 8192"
    )
    assert main(["sweep", "effective-dimension", "--contexts", "100"]) == 2
    assert "--contexts: must be a power of two" in capsys.readouterr().err


@pytest.mark.slow
def test_sandwich_prediction_matches_the_measured_balanced_error():
    """The plain second-order prediction is ~20% high; linearising at the population ridge
    solution (sandwich) brings it within 12% of a 200-seed mean."""
    config = Config(d_min=16, d_max=16, n=1024, seeds=200, seed=1)
    row = {r["arm"]: r for r in run(config)["rows"]}["balanced"]
    refined = sandwich_risk(config, 16, row["lam"])
    assert abs(row["error_mean"] / refined - 1) < 0.12
    assert abs(row["error_mean"] / refined - 1) < abs(row["error_mean"] / row["prediction"] - 1)
