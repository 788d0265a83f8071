"""Theorem 5.3 / Remark 5.5 in the tabular setting: kappa_t per round, the fitted recursion and
the paper's rate."""

import json

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from srlm_core import ConfigError
from srlm_core.cli import main
from srlm_core.experiments.sharpening import sharpening_kappa_rounds as exp
from srlm_core.publishing.results import load_record

SMALL = exp.Config(prompts=20, responses=8, rounds=4, ns=(1, 2, 4, 8), ridge_ns=(2,),
                   instances=3, small_n=2, large_n=4)


@pytest.fixture(scope="module")
def values():
    return exp.run(SMALL)


def test_run_records_every_round_of_every_arm(values):
    assert json.loads(json.dumps(values)) == values
    assert len(values["rows"]) == (4 + 1 + 4) * 3 * 5  # arm x n, instances, rounds + 1
    assert len(values["scaled_population"]["8"]) == 3
    assert all(r["kappa"] >= 1 for r in values["rows"])
    # the identity kappa_0 <= 1/c, with c the minimum over rounds (round 0 included)
    assert all(f["kappa0_c"] <= 1 + 1e-12 for f in exp.fits(values))


def test_fit_recursion_recovers_a_geometric_curve():
    t = np.arange(8)
    u, q = exp.fit_recursion(2.0 + 0.6**t * (30.0 - 2.0))
    assert (u, q) == pytest.approx((2.0, 0.6), rel=1e-6)


def test_floor_for_rate_is_the_smallest_bounding_floor():
    curve = 1.5 + 0.5 ** np.arange(6) * 18.5  # kappa_0 = 20, U = 1.5, q = 0.5
    assert exp.floor_for_rate(curve, 0.5) == pytest.approx(1.5)
    assert exp.floor_for_rate(curve, 0.9) == 1.0  # a slower rate bounds it with U = 1
    assert exp.floor_for_rate(curve, 0.2) > 1.5  # a faster one needs a higher floor


def hand_made(rate_of_n, population_rate=0.5, c=0.05, gamma=0.01):
    """Exactly geometric kappa curves (U = 1) with the given rate per n, two instances."""
    ns = sorted(rate_of_n)
    rows = []
    for n in ns:
        for i in range(2):
            q = rate_of_n[n] + 0.001 * i
            rows += [{"arm": arm, "n": n, "instance": i, "t": t,
                      "kappa": 1 + q**t * 19.0, "failure_own": 0.0, "c": c, "gamma": gamma}
                     for arm in exp.ARMS for t in range(6)]
    population = [[1 + population_rate**t * 19.0 for t in range(6)]] * 2
    return {"prompts": 10, "responses": 5, "temperature": 1.0, "ridge": 1.0,
            "ns": ns, "ridge_ns": [ns[-1]], "instances": 2, "rounds": 5, "beta": 1.0,
            "small_n": ns[1], "large_n": ns[-2], "paper_slope": 0.5, "slope_margin": 0.1,
            "rows": rows, "population": population,
            "scaled_population": {str(n): population for n in ns}}


def test_summarise_where_the_paper_form_holds():
    # 1/q - 1 = sqrt(n): slope 1/2 everywhere, no saturation
    summary = exp.summarise(hand_made({n: 1 / (1 + np.sqrt(n)) for n in (1, 4, 16, 64)},
                                      population_rate=1 / 9))
    assert summary["p2_k_q_trend_verdict"] == "falls with n"
    assert summary["p2_k_slope_small"] == pytest.approx(0.5, abs=0.01)
    assert summary["p2_k_slope_small_verdict"] == "consistent with"
    assert summary["p2_k_slope_large_verdict"] == "consistent with"
    assert summary["p2_k_q_gap_population"] == pytest.approx(0.0005, abs=1e-3)
    assert summary["p2_k_eq7_verdict"] == "vacuous in every cell"  # gamma = 0.01
    assert summary["p2_k_scaled_slope_verdict"] == "matches"
    assert summary["p2_k_scaled_tied_n4"] == pytest.approx(1 / 3)  # beta_n = 1/2


def test_summarise_where_the_rate_saturates_and_the_bound_bites():
    summary = exp.summarise(hand_made({1: 0.9, 4: 0.6, 16: 0.5, 64: 0.5}, gamma=1e6))
    assert summary["p2_k_slope_small_verdict"] == "steeper than"
    assert summary["p2_k_slope_large_verdict"] == "shallower than"
    assert summary["p2_k_eq7_verdict"] == "below 1 somewhere"
    assert summary["p2_k_scaled_slope_verdict"] == "does not match"
    flat = exp.summarise(hand_made({1: 0.7, 4: 0.7, 16: 0.7, 64: 0.7}))
    assert flat["p2_k_q_trend_verdict"] == "does not fall with n"


@pytest.mark.parametrize("change, field", [
    ({"ns": (1, 2, 4)}, "ns"), ({"ns": (4, 2, 1, 8)}, "ns"), ({"ridge_ns": (3,)}, "ridge_ns"),
    ({"small_n": 1}, "small_n"), ({"large_n": 64}, "large_n"), ({"instances": 1}, "instances"),
    ({"temperature": 0.0}, "temperature"), ({"beta": 0.0}, "beta"),
    ({"slope_margin": 0.0}, "slope_margin"),
])
def test_validate_names_the_bad_field(change, field):
    with pytest.raises(ConfigError) as error:
        exp.Config(**change).validate()
    assert error.value.field == field


def test_plot_is_a_figure(values):
    fig = exp.plot(values)
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    plt.close(fig)


def test_runs_from_the_command_line(tmp_path):
    options = ("--prompts 10 --responses 6 --instances 2 --ns 1,2,4,8 --ridge-ns 2 "
               "--small-n 2 --large-n 4")
    argv = ["experiment", "sharpening-kappa-rounds", *options.split(),
            "--results-dir", str(tmp_path)]
    assert main(argv) == 0
    assert load_record("sharpening-kappa-rounds", tmp_path).values["instances"] == 2
