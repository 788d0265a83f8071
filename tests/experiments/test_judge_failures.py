"""When self-rewarding fails: the experiment's values against the closed forms, its verdicts
on hand-made values that hold and fail, determinism and validation."""

import copy
import json
import math

import numpy as np
import pytest

from srlm_core import ConfigError
from srlm_core.experiments import judge_failures
from srlm_core.model.policy import ProblemConfig
from srlm_core.options import build

SMALL = judge_failures.Config(instances=2, vanishing_alphas=(0.5, 0.25),
                              vanishing_rounds=6, burn_in_rounds=3, n=500, seeds=2,
                              max_rounds=200, plot_rounds=6, noise_ns=(300, 3000),
                              noise_rounds=5, noise_tail=2,
                              problem=ProblemConfig(d=4, K=4, contexts=8))


@pytest.fixture(scope="module")
def values():
    return judge_failures.run(SMALL)


def arm(values, name):
    return next(a for a in values["arms"] if a["name"] == name)


def test_defaults_are_the_chapter_run():
    c = judge_failures.Config()
    assert (c.alpha, c.bias, c.bias_alphas, c.amplifying, c.instances) == (
        0.5, 0.2, (0.5, 0.25, 0.1), (1.0, 2.5), 8)
    assert [name for name, _, _ in c.arms()] == [
        "theory", "bias_a50", "bias_a25", "bias_a10", "saturating", "amplifying_weak",
        "amplifying_strong", "confidence_noise"]


def test_plain_deterministic_values(values):
    assert json.loads(json.dumps(values)) == values
    assert judge_failures.run(SMALL) == values


def test_closed_forms_match_the_population_runs(values):
    theory = arm(values, "theory")
    assert theory["status"] == ["converged"] * 2
    assert max(theory["dist"]) < 1e-7
    assert theory["rate"] == pytest.approx([0.5, 0.5], rel=5e-3)
    for name, a in (("bias_a50", 0.5), ("bias_a25", 0.25), ("bias_a10", 0.1)):
        bias = arm(values, name)
        # fixed point w* + b c / (alpha beta): distance b / (alpha beta), rate 1 - alpha
        assert bias["dist"] == pytest.approx([0.2 / a] * 2, rel=1e-6)
        assert bias["kl"] == pytest.approx(bias["kl_predicted"], rel=1e-5)
        assert bias["rate"] == pytest.approx([1 - a] * 2, rel=5e-3)
    sat, amp = arm(values, "saturating"), arm(values, "amplifying_weak")
    assert all(u < 1.0 for u in sat["u_norm"]) and all(u > 1.0 for u in amp["u_norm"])
    assert sat["rate"] == pytest.approx(sat["rate_predicted"], rel=1e-2)
    assert arm(values, "amplifying_strong")["status"] == ["diverged"] * 2
    scalar = {row["name"]: row for row in values["scalar"]}
    assert scalar["saturating"]["fixed"] == pytest.approx(scalar["saturating"]["fixed_predicted"],
                                                          rel=1e-7)
    assert scalar["amplifying_strong"]["status"] == "diverged"
    assert values["vanishing"]["rate"][1] == pytest.approx([0.75, 0.75], rel=1e-5)


def test_summary_of_the_run(values):
    out = judge_failures.summarise(values)
    assert out["contracts_theory"] == "contracts"
    assert out["contracts_amplifying_strong"] == "does not contract"
    assert out["rate_verdict_amplifying_strong"] == "no fixed point"
    assert out["bias_growth"] == pytest.approx(5.0, rel=1e-6) and out["bias_growth_pred"] == 5.0
    assert out["scalar_amplifying_strong_above"] == "above"
    assert out["side_saturating"] == "short of" and out["side_amplifying_weak"] == "beyond"


def hand_made(rate, predicted, status="converged"):
    a = {"name": "theory", "kind": "theory", "strength": 0.0, "alpha": 0.5,
         "status": [status] * 2, "rounds": [10, 10], "rate": [rate, rate],
         "rate_predicted": [predicted, predicted], "radius": [predicted, predicted],
         "dist": [0.1, 0.1], "kl": [0.01, 0.01], "dist_predicted": [0.1, 0.1],
         "kl_predicted": [0.01, 0.01], "u_norm": [1.0, 1.0], "to_target": [[1.0]],
         "to_fixed": [[1.0]]}
    scalar = {"name": "saturating", "strength": 1.0, "status": "converged", "threshold": None,
              "fixed": 0.9, "fixed_predicted": 0.9, "rate": 0.4, "rate_predicted": 0.4,
              "u_path": [1.0]}
    return {"alpha": 0.5, "beta": 1.0, "bias": 0.2, "signal": 1.0, "instances": 2, "n": 100,
            "seeds": 2, "init_dist": 2.0, "arms": [a], "scalar": [scalar],
            "vanishing": {"alphas": [0.5, 0.1], "rate": [[0.5, 0.5], [0.9, 0.9]],
                          "floor": [[1.0, 1.0], [3.9, 4.0]]}}


def test_verdicts_on_hand_made_values():
    held = judge_failures.summarise(hand_made(0.5, 0.5))
    assert held["rate_verdict_theory"] == "matches" and held["contracts_theory"] == "contracts"
    failed = judge_failures.summarise(hand_made(0.45, 0.5))
    assert failed["rate_verdict_theory"] == "departs"
    assert failed["rate_gap_theory"] == pytest.approx(0.1)
    diverged = judge_failures.summarise(hand_made(2.0, None, status="diverged"))
    assert diverged["contracts_theory"] == "does not contract"
    assert diverged["rate_verdict_theory"] == "no fixed point"
    assert held["van_floor_verdict"] == "inside"  # ratio [3.9, 4.0] brackets 0.75/0.19
    off = hand_made(0.5, 0.5)
    off["vanishing"]["floor"][1] = [9.0, 9.1]
    assert judge_failures.summarise(off)["van_floor_verdict"] == "outside"
    assert held["van_rate_gap"] == pytest.approx(0.0, abs=1e-15)
    assert held["van_rounds_a10"] == pytest.approx(math.log(0.01) / math.log(0.9))


def test_linear_rate_and_window():
    e = 2.0 * 0.5 ** np.arange(40)
    assert judge_failures.linear_rate(e, 1e-2) == pytest.approx(0.5)
    window = judge_failures.linear_window(e, 1e-2, 1e-7)
    assert min(window) == 7 and max(window) == 22


@pytest.mark.parametrize("change, field", [
    ({"alpha": 1.0}, "alpha"), ({"bias_alphas": (0.5, 1.0)}, "bias_alphas"),
    ({"amplifying": (1.0,)}, "amplifying"), ({"instances": 1}, "instances"),
    ({"burn_in_rounds": 40}, "burn_in_rounds"), ({"noise": 0.0}, "noise"),
    ({"linear_floor": 0.5}, "linear_floor"), ({"K": 1}, "K"),
    ({"vanishing_alphas": ()}, "vanishing_alphas"), ({"noise_ns": ()}, "noise_ns"),
    ({"noise_rounds": 4}, "noise_rounds"),
])
def test_validate_names_the_bad_field(change, field):
    with pytest.raises(ConfigError) as error:
        build(judge_failures.Config, change).validate()
    assert error.value.field == field


def test_prediction_verdicts(values):
    out = judge_failures.summarise(values)
    assert out["verdict_f1"] == "holds"
    assert out["verdict_f4"] in ("holds", "fails")
    # a bias arm whose fixed point misses |b| / (alpha beta) fails F1
    broken = copy.deepcopy(values)
    arm(broken, "bias_a25")["dist"] = [0.9, 0.9]
    assert judge_failures.summarise(broken)["verdict_f1"] == "fails"
    # a strong amplifier that converged fails F2
    broken = copy.deepcopy(values)
    arm(broken, "amplifying_strong")["status"] = ["converged"] * 2
    arm(broken, "amplifying_strong")["rate_predicted"] = [0.9, 0.9]
    arm(broken, "amplifying_strong")["rate"] = [0.9, 0.9]
    assert judge_failures.summarise(broken)["verdict_f2"] == "fails"
    # noise that leaves the fixed point at the target fails F3
    broken = copy.deepcopy(values)
    arm(broken, "confidence_noise")["dist"] = [0.0, 0.0]
    assert judge_failures.summarise(broken)["verdict_f3"] == "fails"


def test_noisy_judge_with_finite_samples(values):
    rows = values["noise_finite"]["rows"]
    assert [r["n"] for r in rows] == [300, 3000]
    assert all(len(r["noisy"]) == len(r["clean"]) == 2 for r in rows)
    assert not any(name.startswith("noise_excess_n") for name in judge_failures.summarise(values))
    on_grid = copy.deepcopy(values)  # the book's n name the excess
    for row, n in zip(on_grid["noise_finite"]["rows"], (1000, 16000)):
        row["n"] = n
    out = judge_failures.summarise(on_grid)
    gap = np.mean(np.asarray(arm(values, "confidence_noise")["dist"]) ** 2)
    excess = (np.asarray(rows[1]["noisy"]) - np.asarray(rows[1]["clean"])) / np.asarray(
        arm(values, "confidence_noise")["dist"]) ** 2
    assert out["noise_excess_n16000"] == pytest.approx(excess.mean())
    assert out["noise_sq_gap"] == pytest.approx(gap)
    assert out["noise_gap_persists"] in ("persists", "vanishes")
    assert out["noise_small_n"] in ("lower", "higher")


def test_design_glues_the_run_parameters_of_the_config():
    d = judge_failures.design(judge_failures.Config())
    assert d["jf_bias_alphas"] == "0.5, 0.25, 0.1" and d["jf_s_amp_strong"] == "2.5"
    assert (d["jf_d"], d["jf_K"], d["jf_contexts"], d["jf_tol"]) == (8, 8, 32, "1e-12")
    assert judge_failures.design(judge_failures.Config(blowup=20.0))["jf_blowup"] == "20"
