"""S1 as n grows: the slope-versus-n experiment's values, verdicts and checks."""

import json
import math

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from srlm_core import ConfigError
from srlm_core.experiments import contraction, contraction_vs_n
from srlm_core.model.policy import ProblemConfig
from srlm_core.options import build

# n above contexts * K^2 = 128: the count engine, whose cost does not grow with n
SMALL = contraction_vs_n.Config(ns=(3000, 6000), iters=2, instances=2,
                                seeds=2, problem=ProblemConfig(d=4, K=4, contexts=8))


def test_defaults_are_the_chapter_run():
    c = contraction_vs_n.Config()
    assert (c.alpha, c.ns, c.iters, c.instances, c.seeds, c.init_dist) == (
        0.5, (5000, 20000, 80000), 4, 8, 4, 4.0)
    assert [sim.seed for sim in c.simulations(5000)] == list(range(8))


def test_small_run_is_deterministic_and_matches_the_contraction_fit():
    values = contraction_vs_n.run(SMALL)
    assert json.loads(json.dumps(values)) == values
    assert contraction_vs_n.run(SMALL) == values
    assert values["predicted"] == math.log(0.5)
    assert [row["n"] for row in values["rows"]] == [3000, 6000]
    # each row is the contraction experiment's measurement at that n, floor over the same rounds
    same = contraction.measure(SMALL.simulations(6000), floor_iters=2, floor_margin=4.0)
    row = values["rows"][1]
    assert (row["slope"], row["lo"], row["hi"], row["floor"], row["instance_slopes"]) == (
        same["slope"], same["lo"], same["hi"], same["floor"], same["instance_slopes"])
    assert len(row["instance_slopes"]) == 2
    assert row["gap_pct"] == pytest.approx(100 * (row["slope"] / math.log(0.5) - 1))
    fig = contraction_vs_n.plot(values)
    assert isinstance(fig, Figure)
    plt.close(fig)


def hand_made(lo, hi, slopes=(-0.6, -0.68)):
    predicted = math.log(0.5)
    rows = [{"n": n, "slope": slope, "lo": lo if n == 40 else -0.65,
             "hi": hi if n == 40 else -0.55, "gap_pct": 100 * (slope / predicted - 1),
             "floor": 0.1} for n, slope in zip((10, 40), slopes)]
    return {"alpha": 0.5, "predicted": predicted, "rows": rows}


def test_summarise_verdicts():
    held = contraction_vs_n.summarise(hand_made(-0.70, -0.66))
    assert held == pytest.approx({
        "gap_small_n": 100 * (1 - 0.6 / math.log(2)), "gap_large_n": 100 * (1 - 0.68 / math.log(2)),
        "small_n": 10, "large_n": 40, "large_n_inside": "inside", "gap_trend": "shrinks",
        "approach": "approached from above"})
    assert contraction_vs_n.summarise(hand_made(-0.69, -0.66))["large_n_inside"] == (
        "still outside")


def test_approach_words_follow_the_slopes():
    below = contraction_vs_n.summarise(hand_made(-1, 0, slopes=(-0.8, -0.7)))
    assert (below["gap_trend"], below["approach"]) == ("shrinks", "approached from below")
    growing = contraction_vs_n.summarise(hand_made(-1, 0, slopes=(-0.68, -0.6)))
    assert growing["gap_trend"] == "does not shrink at every step"
    assert growing["approach"] == "not approached monotonically"
    crossing = contraction_vs_n.summarise(hand_made(-1, 0, slopes=(-0.6, -0.7)))
    assert crossing["approach"] == "not approached monotonically"


@pytest.mark.parametrize("change, field", [
    ({"alpha": 1.0}, "alpha"), ({"ns": ()}, "ns"), ({"ns": (20000, 5000)}, "ns"),
    ({"ns": (0, 10)}, "ns"), ({"floor_margin": -1.0}, "floor_margin"), ({"seeds": 0}, "seeds"),
    ({"instances": 1}, "instances"),
])
def test_validate_names_the_bad_field(change, field):
    with pytest.raises(ConfigError) as error:
        build(contraction_vs_n.Config, change).validate()
    assert error.value.field == field
