"""single_step_budget (S2, nT pairs in one step or T steps of n): values, verdicts, config."""

import math

import matplotlib
import pytest

from srlm_core import ConfigError
from srlm_core.experiments import single_step_budget as ssb

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SMALL = ssb.Config(n=200, t_max=3, seeds=4, d=4, K=4, contexts=8, init_dist=2.0)


@pytest.fixture(scope="module")
def values():
    return ssb.run(SMALL)


def test_defaults_are_the_chapter_run():
    config = ssb.Config().validate()
    assert (config.alpha, config.init_dist, config.n, config.t_max, config.seeds) == (
        0.5, 4.0, 1000, 8, 32)


def test_run_is_deterministic_and_exact_where_the_schemes_coincide(values):
    assert values == ssb.run(SMALL)
    assert values["T"] == [1, 2, 3]
    assert len(values["iterated_kl"]) == len(values["one_step_kl"]) == 3
    # T = 1: both schemes are the same single step of n pairs from the same seed
    assert values["iterated_kl"][0] == values["one_step_kl"][0]
    assert math.isclose(values["predicted_iterated"][0], values["predicted_one_step"][0],
                        rel_tol=1e-9)
    # the one-step prediction is floor + variance / (nT)
    for T, pred in zip(values["T"], values["predicted_one_step"]):
        assert pred == values["floor"] + values["variance"] / (values["n"] * T)


def test_crossing_size_is_the_closed_form(values):
    """n_x solves rho^2 q0 + v/(nT) = rho^(2T) q0 + (v/n)(1 - rho^(2T))/(1 - rho^2)."""
    rho2, T, v = 0.25, SMALL.t_max, values["variance"]
    q0 = values["floor"] / rho2
    geometric = (1 - rho2**T) / (1 - rho2)
    expected = v * (geometric - 1 / T) / (q0 * (rho2 - rho2**T))
    assert values["n_cross"] == pytest.approx(expected, rel=1e-10)


def hand_made(one, iterated, n_cross):
    return {"n": 1000, "t_max": 2, "init_dist": 4.0, "T": [1, 2],
            "iterated_kl": [iterated, iterated], "one_step_kl": [one, one],
            "predicted_one_step": [0.3, 0.2], "predicted_iterated": [0.3, 0.05],
            "floor": 0.19, "variance": 5.0, "n_cross": n_cross}


@pytest.mark.parametrize(
    "one, iterated, n_cross, side, verdict, outcome",
    [([0.2, 0.21, 0.22], [0.01, 0.02, 0.03], 80.0, "below", "iterating should win",
      "iterating wins"),
     ([0.01, 0.02, 0.03], [0.2, 0.21, 0.22], 5000.0, "above", "one step should win",
      "one step wins"),
     ([0.1, 0.2, 0.3], [0.15, 0.2, 0.25], 80.0, "below", "iterating should win",
      "neither scheme wins")],
)
def test_summarise_verdicts(one, iterated, n_cross, side, verdict, outcome):
    summary = ssb.summarise(hand_made(one, iterated, n_cross))
    assert summary["s2_cross_side"] == side
    assert summary["s2_cross_verdict"] == verdict
    assert summary["s2_budget_outcome"] == outcome
    assert summary["s2_budget_one"] == pytest.approx(sum(one) / 3)
    assert summary["s2_budget_one_pred"] == 0.2 and summary["s2_budget_iter_pred"] == 0.05
    assert (summary["s2_n_round"], summary["s2_t_max"]) == (1000, 2)


@pytest.mark.parametrize(
    "changes, field",
    [({"n": 0}, "n"), ({"t_max": 0}, "t_max"), ({"seeds": 0}, "seeds"), ({"alpha": 1.0}, "alpha"),
     ({"alpha": 0.0}, "alpha"), ({"init_dist": -1.0}, "init_dist")],
)
def test_bad_config(changes, field):
    with pytest.raises(ConfigError, match=field) as err:
        ssb.Config(**changes).validate()
    assert err.value.field == field


def test_plot_draws_from_values(values):
    fig = ssb.plot(values)
    assert isinstance(fig, plt.Figure)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == [ssb.ITERATED, ssb.ONE]
    plt.close(fig)
    assert plt.get_fignums() == []
