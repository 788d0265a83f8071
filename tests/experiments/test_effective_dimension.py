"""S5 experiment: at fixed d_eff the balanced-ridge DPO error does not grow with d; the
lambda -> 0 error does."""

import math

import matplotlib.pyplot as plt
import pytest
import sympy as sp
import torch

from srlm_core.cli import main
from srlm_core.experiments.effective_dimension import (
    Config,
    plot,
    predicted_risk,
    ratio_span,
    relative_gap,
    run,
    sandwich_risk,
    summarise,
    table,
)
from srlm_core.publishing.results import load_record
from srlm_core.theory import polynomial_spectrum

SMALL = {"n": 512, "contexts": 256, "seeds": 6, "seed": 0}
#: stated tolerance: relative change of the balanced-ridge error when d grows 16x
FLAT_RTOL = 0.05


def rows_at(d: int) -> dict:
    """One dimension at a time: the sweep draws the same pairs for every d."""
    return {row["arm"]: row for row in run(Config(d_min=d, d_max=d, **SMALL))["rows"]}


@pytest.mark.slow
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
    risk = polynomial_spectrum.second_order_risk()
    mu, w = sp.symbols("mu w", positive=True)
    direction = sp.lambdify((mu, w, polynomial_spectrum.lam, polynomial_spectrum.n),
                            risk.bias + risk.variance)
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
    assert record.command.startswith("srlm run effective-dimension --p 2.0 --d-min 8")


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


# --- the chapter's analysis of a record: summarise, plot, table, relative_gap --------------

DIMS = (16, 32, 64, 128)


def hand_made_values() -> dict:
    """A record-shaped dict: the balanced error grows by 0.9%, 1% and 1.1% per doubling in the
    three seeds (1% in the mean rows); near lambda = 0 the unregularised estimate exists up to
    d = 32 and then stops existing."""
    rows, errors = [], {}
    flat = {16: (0.1, 1.0), 32: (0.3, 1.0), 64: (5.0, 0.5), 128: (2.0, 0.0)}
    for k, d in enumerate(DIMS):
        scale = 1 + 0.01 * k
        errors[f"{d}/balanced"] = [1.0 * (1 + 0.009 * k), 2.0 * scale, 3.0 * (1 + 0.011 * k)]
        errors[f"{d}/lam_min"] = [flat[d][0]] * 3
        mean = 2.0 * scale
        common = {"d": d, "kl_target": 0.4, "grad_max": 1e-12 * (k + 1)}
        rows.append({**common, "arm": "balanced", "lam": 0.01, "d_eff": 5.0 + 0.1 * k,
                     "error_mean": mean, "error_lo": mean - 0.5,
                     "error_hi": mean + (0.6 if d < 64 else 0.4), "prediction": 1.25 * mean,
                     "bound": 10.0, "kl_mean": 0.002, "mle_share": flat[d][1]})
        rows.append({**common, "arm": "lam_min", "lam": 1e-9, "d_eff": 0.99 * d,
                     "error_mean": flat[d][0], "error_lo": 0.0, "error_hi": 2 * flat[d][0],
                     "prediction": d / 64, "bound": 1.0, "kl_mean": 0.5,
                     "mle_share": flat[d][1]})
    return {"lam_star": 0.01, "curvature": 0.3, "top_eigenvalue": 0.18, "rows": rows,
            "errors": errors}


HAND_CONFIG = Config(d_min=16, d_max=128, contexts=128, n=64, seeds=3)


def test_summarise_on_hand_made_values():
    out = summarise(hand_made_values(), HAND_CONFIG)
    assert out["flat_change_pct"] == pytest.approx(3.0, rel=1e-12)
    assert out["flat_change_lo"] < 3.0 < out["flat_change_hi"]  # 2.7%, 3% and 3.3% per seed
    assert out["flat_max_dev_pct"] == pytest.approx(3.0, rel=1e-12)
    assert out["ridge_ratio"] == "0.80"
    assert out["ridge_inside"] == 2  # the interval is too narrow to reach 1.25 x mean at d >= 64
    assert out["bound_holds"] == 4
    assert out["bound_slack"] == pytest.approx(10.0 / 2.06)
    assert (out["d_mle_last"], out["d_mle_first_fail"]) == (32, 64)
    assert out["flat_ratio_first"] == pytest.approx(0.4)
    assert out["flat_ratio_last"] == pytest.approx(0.6)
    assert out["flat_growth"] == pytest.approx(3.0)
    assert out["flat_growth_pred"] == 2.0
    assert (out["flat_peak"], out["flat_peak_d"]) == (5.0, 64)
    assert out["flat_over_ridge_hi"] == pytest.approx(2.0 / 2.06)
    assert out["lam_min_share"] == pytest.approx(0.99)
    assert out["orders"] == pytest.approx(math.log10(8))
    assert (out["d_lo"], out["d_hi"], out["n_dims"], out["n_pairs"], out["n_seeds"]) == (
        16, 128, 4, 64, 3)
    assert out["kl_target_spread"] == 0.0
    assert out["grad_max"] == 4e-12
    # p = 2: the d-free bound on d_eff at lambda* is (pi / 2) sqrt(nu_1 / lambda*)
    assert out["deff_free"] == pytest.approx(math.pi / 2 * math.sqrt(0.18 / 0.01), rel=1e-12)


def test_verdict_words_where_the_predictions_hold():
    out = summarise(hand_made_values(), HAND_CONFIG)
    assert out["flat_verdict"] == "stays flat"  # a 3% change within the 5% margin
    assert out["flat_equiv"] == "equivalent to no change" and out["flat_equiv_p"] < 0.05
    assert out["pred_side"] == "too high"  # measured = 0.8 x prediction everywhere
    assert out["bound_slack_growth_pct"] == pytest.approx(100 * (1 / 1.03 - 1))
    assert out["bound_growth"] == "does not grow with d"
    assert out["flat_arm_verdict"] == "grows with d"  # 0.1 -> 0.3 while the estimate exists
    assert out["kl_side"] == "further from"  # 0.5 against a task of 0.4
    assert out["newton_verdict"] == "converged in every case"


def test_verdict_words_where_the_predictions_fail():
    values = hand_made_values()
    for key in values["errors"]:
        if key.endswith("/balanced") and not key.startswith("16/"):
            values["errors"][key] = [2 * e for e in values["errors"][key]]
    for row in values["rows"]:
        if row["arm"] == "balanced":
            row["prediction"] = 0.5 * row["error_mean"] if row["d"] < 64 else 2 * row["error_mean"]
            row["bound"] = 10.0 * (1 + row["d"] / 128)
        else:
            row["error_mean"] = {16: 0.3, 32: 0.1}.get(row["d"], row["error_mean"])
            row["kl_mean"] = 0.1
        row["grad_max"] = 1e-3
    out = summarise(values, HAND_CONFIG)
    assert out["flat_verdict"] == "does not stay flat"
    assert out["flat_equiv"] == "not shown to be equivalent to no change"
    assert out["pred_side"] == "on neither side throughout"
    assert out["bound_growth"] == "grows with d"
    assert out["flat_arm_verdict"] == "does not grow with d"
    assert out["kl_side"] == "closer to"
    assert out["newton_verdict"] == "did not converge in every case"


def test_summarise_when_every_estimate_exists():
    values = hand_made_values()
    for row in values["rows"]:
        row["mle_share"] = 1.0
    out = summarise(values, HAND_CONFIG)
    assert (out["d_mle_last"], out["d_mle_first_fail"]) == (128, None)
    assert out["flat_growth_pred"] == 8.0


def test_ratio_span():
    assert ratio_span([0.761, 0.758]) == "0.76"
    assert ratio_span([0.74, 0.78, 0.76]) == "0.74 to 0.78"


def test_relative_gap():
    reference = {"errors": {"16/balanced": [1.0, 2.2], "16/lam_min": [4.0, 5.0],
                            "32/balanced": [9.0, 9.0]}}
    rerun = {"errors": {"16/balanced": [1.0, 2.0], "16/lam_min": [4.0, 5.0]}}
    assert relative_gap(rerun, reference) == pytest.approx(0.2 / 2.2, rel=1e-15)


def test_plot_and_table():
    values = hand_made_values()
    sandwich = {"d": list(DIMS), "sandwich": [2.2, 2.3, 2.4, 2.5]}
    fig = plot(values, HAND_CONFIG, sandwich)
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert "sandwich prediction" in labels
    assert [text.get_text() for text in ax.texts] == ["unregularised estimate\ndoes not exist"]
    plt.close(fig)
    fig = plot(values, HAND_CONFIG)
    assert "sandwich prediction" not in [line.get_label() for line in fig.axes[0].get_lines()]
    plt.close(fig)
    frame = table(values, sandwich).data
    assert list(frame["d"]) == list(DIMS)
    assert list(frame["sandwich λ*"]) == sandwich["sandwich"]
    assert frame["error λ*"].iloc[0] == "2.00000 [1.50000, 2.60000]"
    with pytest.raises(ValueError, match="record for d"):
        table(values, {"d": [16], "sandwich": [1.0]})


def test_defaults_are_the_records_parameters():
    """The chapter analyses the record; Config() is the run it holds."""
    assert Config(**load_record("effective-dimension").params) == Config()
