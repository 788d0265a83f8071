"""single_step_budget (S2, nT pairs in one step or T steps of n): values, verdicts, config."""

import math

import matplotlib
import numpy as np
import pytest
from scipy import stats

from srlm_core import ConfigError
from srlm_core.experiments import single_step_budget as ssb

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from srlm_core.model.policy import ProblemConfig
from srlm_core.options import build

SMALL = ssb.Config(n=200, t_max=3, instances=2, seeds=4, init_dist=2.0,
                   problem=ProblemConfig(d=4, K=4, contexts=8))


@pytest.fixture(scope="module")
def values():
    return ssb.run(SMALL)


def test_defaults_are_the_chapter_run():
    config = ssb.Config().validate()
    assert (config.alpha, config.init_dist, config.n, config.t_max) == (0.5, 4.0, 1000, 8)
    assert config.instances >= 8 and config.seeds == 16


def test_run_is_deterministic_and_exact_where_the_schemes_coincide(values):
    assert values == ssb.run(SMALL)
    assert values["T"] == [1, 2, 3] and len(values["instances"]) == 2
    for inst in values["instances"]:
        assert len(inst["iterated_kl"]) == len(inst["one_step_kl"]) == 3
        # T = 1: both schemes are the same single step of n pairs from the same seed
        assert inst["iterated_kl"][0] == inst["one_step_kl"][0]
        assert math.isclose(inst["predicted_iterated"][0], inst["predicted_one_step"][0],
                            rel_tol=1e-9)
        # the one-step prediction is floor + variance / (nT)
        for T, pred in zip(values["T"], inst["predicted_one_step"]):
            assert pred == inst["floor"] + inst["variance"] / (values["n"] * T)
    # the instances are different problems
    assert values["instances"][0]["floor"] != values["instances"][1]["floor"]


def test_crossing_size_is_the_closed_form(values):
    """n_x solves rho^2 q0 + v/(nT) = rho^(2T) q0 + (v/n)(1 - rho^(2T))/(1 - rho^2)."""
    rho2, T = 0.25, SMALL.t_max
    for inst in values["instances"]:
        v, q0 = inst["variance"], inst["floor"] / rho2
        geometric = (1 - rho2**T) / (1 - rho2)
        expected = v * (geometric - 1 / T) / (q0 * (rho2 - rho2**T))
        assert inst["n_cross"] == pytest.approx(expected, rel=1e-10)


SPREAD = (0.95, 1.0, 1.05)  # per-problem factors on the measured KL


def hand_made(one, iterated, n_cross):
    """Three problems; per problem the seeds of each scheme at both T are ``one`` or
    ``iterated`` times the problem's factor; predictions 0.2 (one step) and 0.05 at T = 2."""
    return {"n": 1000, "t_max": 2, "init_dist": 4.0, "seeds": 3, "T": [1, 2],
            "instances": [{"iterated_kl": [[x * f for x in iterated]] * 2,
                           "one_step_kl": [[x * f for x in one]] * 2,
                           "predicted_one_step": [0.3, 0.2], "predicted_iterated": [0.3, 0.05],
                           "floor": 0.19, "variance": 5.0, "n_cross": c}
                          for f, c in zip(SPREAD, n_cross)]}


@pytest.mark.parametrize(
    "one, iterated, n_cross, side, verdict, outcome, prediction",
    [([0.19, 0.2, 0.21], [0.04, 0.05, 0.06], (80.0, 70.0, 90.0), "below",
      "iterating should win", "iterating wins", "holds"),
     ([0.01, 0.02, 0.03], [0.2, 0.21, 0.22], (5000.0,) * 3, "above", "one step should win",
      "one step wins", "holds"),
     ([0.19, 0.2, 0.21], [0.04, 0.05, 0.06], (5000.0,) * 3, "above", "one step should win",
      "iterating wins", "fails"),
     ([0.1, 0.2, 0.3], [0.15, 0.2, 0.25], (80.0, 5000.0, 90.0), "on both sides of",
      "the prediction differs between instances", "neither scheme wins", "fails")],
)
def test_summarise_verdicts(one, iterated, n_cross, side, verdict, outcome, prediction):
    summary = ssb.summarise(hand_made(one, iterated, n_cross))
    assert summary["s2_cross_side"] == side
    assert summary["s2_cross_verdict"] == verdict
    assert summary["s2_budget_outcome"] == outcome
    assert summary["s2_budget_prediction"] == prediction
    # the interval is over the three problems' seed means
    means = np.mean(one) * np.array(SPREAD)
    half = stats.t.ppf(0.975, 2) * np.std(means, ddof=1) / math.sqrt(3)
    assert summary["s2_budget_one"] == pytest.approx(means.mean())
    assert summary["s2_budget_one_lo"] == pytest.approx(means.mean() - half)
    assert summary["s2_budget_one_pred"] == pytest.approx(0.2)
    assert summary["s2_budget_iter_pred"] == pytest.approx(0.05)
    assert summary["s2_n_cross"] == np.median(n_cross)
    assert (summary["s2_n_round"], summary["s2_t_max"], summary["s2_budget_instances"]) == (
        1000, 2, 3)


def test_summarise_neither_and_the_detectable_difference():
    """Equal schemes: no winner, and the minimum detectable difference comes from the spread
    of the paired differences over problems."""
    made = hand_made([0.1, 0.2, 0.3], [0.1, 0.2, 0.3], (80.0,) * 3)
    made["instances"][0]["one_step_kl"][-1] = [0.12, 0.2, 0.28]
    made["instances"][1]["one_step_kl"][-1] = [0.08, 0.2, 0.32]
    summary = ssb.summarise(made)
    assert summary["s2_budget_outcome"] == "neither scheme wins"
    assert summary["s2_budget_prediction"] == "fails"
    diffs = [np.mean(i["one_step_kl"][-1]) - np.mean(i["iterated_kl"][-1])
             for i in made["instances"]]
    sd = np.std(diffs, ddof=1)
    expected = (stats.t.ppf(0.975, 2) + stats.t.ppf(0.8, 2)) * sd / math.sqrt(3)
    assert summary["s2_budget_mdd"] == pytest.approx(expected)


def test_summarise_prediction_match_words():
    made = hand_made([0.19, 0.2, 0.21], [0.04, 0.05, 0.06], (80.0,) * 3)
    summary = ssb.summarise(made)
    assert summary["s2_budget_one_match"] == "matches"  # ratio 0.95, 1, 1.05 around 1
    assert summary["s2_budget_iter_match"] == "matches"
    made = hand_made([0.29, 0.3, 0.31], [0.09, 0.1, 0.11], (80.0,) * 3)
    summary = ssb.summarise(made)
    assert summary["s2_budget_one_match"] == summary["s2_budget_iter_match"] == "misses"


@pytest.mark.parametrize(
    "changes, field",
    [({"n": 0}, "n"), ({"t_max": 0}, "t_max"), ({"seeds": 0}, "seeds"),
     ({"instances": 1}, "instances"), ({"alpha": 1.0}, "alpha"),
     ({"alpha": 0.0}, "alpha"), ({"init_dist": -1.0}, "init_dist")],
)
def test_bad_config(changes, field):
    with pytest.raises(ConfigError, match=field) as err:
        build(ssb.Config, changes).validate()
    assert err.value.field == field


def test_plot_draws_from_values(values):
    fig = ssb.plot(values)
    assert isinstance(fig, plt.Figure)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == [ssb.ITERATED, ssb.ONE]
    plt.close(fig)
    assert plt.get_fignums() == []
