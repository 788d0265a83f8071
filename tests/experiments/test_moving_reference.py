"""S1 contrast: the population iteration with a fixed and a moving reference against the
SymPy closed forms."""

import json

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from srlm_core import ConfigError
from srlm_core.experiments import moving_reference

SMALL = moving_reference.Config(iters=3, d=4, K=4, contexts=8)


@pytest.fixture(scope="module")
def values():
    return moving_reference.run(SMALL)


def test_defaults_are_the_chapter_run():
    c = moving_reference.Config()
    assert (c.alphas, c.iters, c.init_dist) == ((0.5, 1.0), 5, 1.0)
    sim = c.simulation(0.5, "moving")
    assert (sim.n, sim.seeds, sim.reference, sim.d, sim.K, sim.contexts) == (
        0, 1, "moving", 8, 8, 32)


def test_population_runs_equal_the_closed_forms(values):
    assert json.loads(json.dumps(values)) == values
    rows = values["rows"]
    assert len(rows) == 2 * 2 * 4
    for row in rows:
        assert row["measured"] == pytest.approx(row["predicted"], rel=1e-6, abs=1e-7)
    fixed = [r["predicted"] for r in rows if r["alpha"] == 0.5 and r["reference"] == "fixed"]
    assert fixed == [1.0, 0.5, 0.25, 0.125]  # e_0 (1 - alpha)^t
    assert [g["predicted"] for g in values["growth"]] == [1.5, 1.0]  # 2 - alpha
    summary = moving_reference.summarise(values)
    assert summary["moving_max_gap"] < 1e-7
    assert summary["growth_pred_a50"] == 1.5
    assert summary["moving_growth_a50"] > 1.5  # approaches 2 - alpha from above
    assert set(summary) == {"moving_max_gap", "moving_growth_a50", "growth_pred_a50",
                            "moving_growth_a100", "growth_pred_a100"}


def test_closed_forms_solve_the_recursion():
    fixed, moving = moving_reference.closed_forms(0.5)
    assert fixed(3, 2.0) == 0.25
    D, w = 0.3, -1.2
    for t in range(4):
        assert moving(t + 1, D, w) == pytest.approx(1.5 * moving(t, D, w) + 0.5 * w)
    _, perfect = moving_reference.closed_forms(1.0)
    assert perfect(4, D, w) == pytest.approx(D + 4 * w)


def test_summarise_on_hand_made_values():
    rows = [{"alpha": 0.5, "reference": ref, "t": t, "measured": m, "predicted": p}
            for ref, t, m, p in [("fixed", 0, 1.0, 1.0), ("fixed", 1, 0.5, 0.5),
                                 ("moving", 0, 1.0, 1.0), ("moving", 1, 2.0, 2.25)]]
    values = {"alphas": [0.5], "rows": rows, "growth": [{"alpha": 0.5, "predicted": 1.5}]}
    assert moving_reference.summarise(values) == {
        "moving_max_gap": 0.25, "moving_growth_a50": 2.0, "growth_pred_a50": 1.5}


@pytest.mark.parametrize("change, field", [
    ({"alphas": (0.0,)}, "alphas"), ({"alphas": (1.5,)}, "alphas"), ({"iters": 0}, "iters"),
    ({"init_dist": 0.0}, "init_dist"), ({"contexts": 0}, "contexts"),
])
def test_validate_names_the_bad_field(change, field):
    with pytest.raises(ConfigError) as error:
        moving_reference.Config(**change).validate()
    assert error.value.field == field


def test_plot_is_a_figure(values):
    fig = moving_reference.plot(values)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2
    plt.close(fig)
