"""S1 contrast: the population iteration with a fixed and a moving reference against the
SymPy closed forms."""

import json

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from srlm_core import ConfigError
from srlm_core.experiments import moving_reference
from srlm_core.model.policy import ProblemConfig
from srlm_core.options import build

SMALL = moving_reference.Config(iters=3, instances=2, problem=ProblemConfig(d=4, K=4, contexts=8))


@pytest.fixture(scope="module")
def values():
    return moving_reference.run(SMALL)


def test_defaults_are_the_chapter_run():
    c = moving_reference.Config()
    assert (c.alphas, c.iters, c.init_dist, c.instances) == ((0.5, 1.0), 5, 1.0, 8)
    sim = c.simulation(0.5, "moving", 3)
    assert (sim.n, sim.seeds, sim.reference, sim.d, sim.K, sim.contexts, sim.seed) == (
        0, 1, "moving", 8, 8, 32, 3)


def test_population_runs_equal_the_closed_forms(values):
    assert json.loads(json.dumps(values)) == values
    rows = values["rows"]
    assert len(rows) == 2 * 2 * 2 * 4  # shares, references, instances, rounds
    for row in rows:
        assert row["measured"] == pytest.approx(row["predicted"], rel=1e-6, abs=1e-7)
    fixed = [r["predicted"] for r in rows
             if r["alpha"] == 0.5 and r["reference"] == "fixed" and r["instance"] == 1]
    assert fixed == [1.0, 0.5, 0.25, 0.125]  # e_0 (1 - alpha)^t
    assert [g["predicted"] for g in values["growth"]] == [1.5, 1.0]  # 2 - alpha
    summary = moving_reference.summarise(values)
    assert summary["moving_max_gap"] < 1e-7
    assert summary["moving_match"] == "follows the closed forms to rounding error"
    assert summary["growth_pred_a50"] == 1.5
    assert summary["moving_growth_a50_min"] > 1.5  # approaches 2 - alpha from above
    assert set(moving_reference.GROWTH_NAMES) == set(moving_reference.Config().alphas)
    assert summary["moving_growth_a50_min"] <= summary["moving_growth_a50"] <= (
        summary["moving_growth_a50_max"])
    # the two instances are different problems
    moving = [r["measured"] for r in rows if r["reference"] == "moving" and r["t"] == 3]
    assert moving[0] != moving[1]


def test_closed_forms_solve_the_recursion():
    fixed, moving = moving_reference.closed_forms(0.5)
    assert fixed(3, 2.0) == 0.25
    D, w = 0.3, -1.2
    for t in range(4):
        assert moving(t + 1, D, w) == pytest.approx(1.5 * moving(t, D, w) + 0.5 * w)
    _, perfect = moving_reference.closed_forms(1.0)
    assert perfect(4, D, w) == pytest.approx(D + 4 * w)


def hand_made(moving, measured_gap=0.0):
    """One share (0.5), one fixed-reference row per instance, the moving errors given."""
    rows = []
    for i, errors in enumerate(moving):
        rows.append({"alpha": 0.5, "reference": "fixed", "instance": i, "t": 0,
                     "measured": 1.0 + measured_gap, "predicted": 1.0})
        rows += [{"alpha": 0.5, "reference": "moving", "instance": i, "t": t, "measured": m,
                  "predicted": m} for t, m in enumerate(errors)]
    return {"alphas": [0.5], "instances": len(moving), "tolerance": 1e-6, "rows": rows,
            "growth": [{"alpha": 0.5, "predicted": 1.5}]}


def test_summarise_on_hand_made_values():
    # factors 2, 1.75 and 3, 1.6: growing everywhere, the last closer to 1.5 in both
    summary = moving_reference.summarise(hand_made([[1.0, 2.0, 3.5], [1.0, 3.0, 4.8]]))
    assert summary == pytest.approx({
        "moving_max_gap": 0.0, "n_moving_instances": 2,
        "moving_match": "follows the closed forms to rounding error",
        "moving_growth_a50": 1.675, "moving_growth_a50_min": 1.6, "moving_growth_a50_max": 1.75,
        "growth_pred_a50": 1.5, "moving_grows_a50": "grows",
        "moving_approach_a50": "approaching"})


def test_summarise_verdicts_where_the_prediction_fails():
    # a gap of 0.1 to the closed form, a shrinking error, a factor moving away from 1.5
    summary = moving_reference.summarise(hand_made([[1.0, 0.8, 2.0]], measured_gap=0.1))
    assert summary["moving_max_gap"] == pytest.approx(0.1)
    assert summary["moving_match"] == "departs from the closed forms"
    assert summary["moving_grows_a50"] == "does not grow at every round"
    assert summary["moving_approach_a50"] == "not approaching"


@pytest.mark.parametrize("change, field", [
    ({"alphas": (0.0,)}, "alphas"), ({"alphas": (1.5,)}, "alphas"), ({"iters": 0}, "iters"),
    ({"init_dist": 0.0}, "init_dist"), ({"contexts": 0}, "contexts"),
    ({"instances": 0}, "instances"), ({"tolerance": 0.0}, "tolerance"), ({"iters": 1}, "iters"),
])
def test_validate_names_the_bad_field(change, field):
    with pytest.raises(ConfigError) as error:
        build(moving_reference.Config, change).validate()
    assert error.value.field == field


def test_plot_is_a_figure(values):
    fig = moving_reference.plot(values)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2
    plt.close(fig)
