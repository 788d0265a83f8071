"""S4 budget: one update with nT pairs against T rounds of n, and the critical start."""

import math

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from srlm_core import ConfigError
from srlm_core.experiments import iterative_budget as budget
from srlm_core.model.policy import ProblemConfig
from srlm_core.options import build

SMALL = budget.Config(n=200, T=3, starts=(0.0,), seeds=3)


@pytest.fixture(scope="module")
def small_values():
    return budget.run(SMALL)


def test_chapter_run_is_the_default():
    assert budget.Config() == budget.Config(alpha=0.5, T=4, n=1000,
                                            starts=(0.0, 0.25, 0.5, 1.0, 2.0), seeds=32,
                                            problem=ProblemConfig(seed=2))


def test_critical_start_equalises_the_two_mean_squares():
    alpha, T, v = 0.5, 4, 0.3
    e0 = budget.critical_start(alpha, T, v)
    a2 = (1 - alpha) ** 2
    one_step = a2 * e0**2 + v / T
    iterating = a2**T * e0**2 + v * (1 - a2**T) / (1 - a2)
    assert one_step == pytest.approx(iterating, rel=1e-12)
    assert e0 == pytest.approx(math.sqrt(v * (1.328125 - 0.25) / (0.25 * 63 / 64)), rel=1e-12)


def test_small_run(small_values):
    assert budget.run(SMALL) == small_values  # seeded: the same numbers twice
    rows = {(r["e0"], r["arm"]): r for r in small_values["rows"]}
    assert len(rows) == 2 * len(SMALL.starts)
    assert all(len(r["sq"]) == SMALL.seeds for r in rows.values())
    v, a2 = small_values["v_round"], (1 - SMALL.alpha) ** 2
    # started at the target both predictions are exact linear-Gaussian forms in v:
    # one round with nT pairs has v / T, T rounds of n have v (1 - a^2T) / (1 - a^2)
    assert rows[0.0, budget.ONE_STEP]["predicted"] == pytest.approx(v / SMALL.T, rel=1e-9)
    assert rows[0.0, budget.ITERATED]["predicted"] == pytest.approx(
        v * (1 - a2**SMALL.T) / (1 - a2), rel=1e-9)
    assert small_values["critical_e0"] == budget.critical_start(SMALL.alpha, SMALL.T, v)


def _values(one_step, iterated, critical=0.6):
    starts = (0.0, 0.25, 0.5, 1.0, 2.0)
    rows = [{"e0": e0, "arm": arm, "sq": [m, m], "predicted": m}
            for e0, a, b in zip(starts, one_step, iterated)
            for arm, m in ((budget.ONE_STEP, a), (budget.ITERATED, b))]
    return {"alpha": 0.5, "T": 4, "n": 10, "v_round": 1.0, "critical_e0": critical, "rows": rows}


def test_summarise_on_hand_made_values():
    holds = budget.summarise(_values(one_step=(1, 1, 1, 5, 9), iterated=(2, 2, 2, 2, 2)))
    assert holds == {"critical_e0": 0.6, "one_wins_max": 0.5, "n_one_wins": 3,
                     "budget_agree": 5}
    fails = budget.summarise(_values(one_step=(1, 1, 3, 5, 1), iterated=(2, 2, 2, 2, 2)))
    assert (fails["n_one_wins"], fails["one_wins_max"], fails["budget_agree"]) == (3, 2.0, 3)
    never = budget.summarise(_values(one_step=(3,) * 5, iterated=(2,) * 5))
    assert never["n_one_wins"] == 0 and math.isnan(never["one_wins_max"])


@pytest.mark.parametrize(
    "changes, field",
    [({"alpha": 1.0}, "alpha"), ({"T": 1}, "T"), ({"n": 0}, "n"), ({"seeds": 0}, "seeds"),
     ({"starts": ()}, "starts"), ({"starts": (-0.5,)}, "starts")],
)
def test_validate_names_the_bad_field(changes, field):
    with pytest.raises(ConfigError) as err:
        build(budget.Config, changes).validate()
    assert err.value.field == field


def test_plot():
    fig = budget.plot(_values(one_step=(1, 1, 1, 5, 9), iterated=(2, 2, 2, 2, 2)))
    assert isinstance(fig, Figure)
    plt.close(fig)
