"""S1 with finite samples: the contraction experiment's values, verdicts and checks."""

import json
import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from srlm_core import ConfigError
from srlm_core.experiments import contraction
from srlm_core.model import metrics
from srlm_core.model.policy import ProblemConfig
from srlm_core.model.self_rewarding import SelfRewardingRunner, SimulationConfig
from srlm_core.options import build
from srlm_core.stats import fit_log_decay

SMALL = contraction.Config(alphas=(0.5,), n=500, iters=3, floor_iters=2,
                           instances=3, seeds=2, problem=ProblemConfig(d=4, K=4, contexts=8))


@pytest.fixture(scope="module")
def values():
    return contraction.run(SMALL)


def test_defaults_are_the_chapter_run():
    c = contraction.Config()
    assert (c.alphas, c.n, c.iters, c.floor_iters, c.instances, c.seeds, c.init_dist) == (
        (0.25, 0.5, 0.75), 20000, 8, 4, 8, 4, 4.0)
    assert c.simulation(0.25, 3) == SimulationConfig(alpha=0.25, n=20000, iters=8,
                                                     init_dist=4.0, seeds=4, seed=3)
    assert [sim.seed for sim in c.simulations(0.5)] == list(range(8))


def test_small_run_is_deterministic_plain_data_and_exact_where_known(values):
    assert json.loads(json.dumps(values)) == values  # plain JSON data
    assert contraction.run(SMALL) == values  # seeded: the same numbers twice
    (arm,) = values["arms"]
    dist = np.array(arm["dist"])
    assert dist.shape == np.array(arm["consistency"]).shape == (3, 4, 2)  # [i][t][seed]
    assert dist[:, 0] == pytest.approx(np.full((3, 2), 4.0), rel=1e-12)  # every run starts at e_0
    assert arm["predicted"] == math.log(0.5)
    # the instances are different problems: different trajectories
    assert not np.allclose(dist[0, 1:], dist[1, 1:])
    # the floor of instance 1 is the mean error of the same procedure started at the target,
    # run in the same batch: seeds 2, 3 of the batched run start at theta*
    sim = SMALL.simulation(0.5, 1)
    result = contraction._WithFloor(sim, 2).run()
    both = metrics.param_distance(result.problem, result.thetas).numpy()
    assert both.shape == (4, 4)  # max(iters, floor_iters) + 1 rounds, 2 + 2 seeds
    assert both[0] == pytest.approx([4.0, 4.0, 0.0, 0.0], abs=1e-12)
    assert both[:, :2] == pytest.approx(dist[1], rel=1e-12)
    assert arm["floors"][1] == pytest.approx(both[1:3, 2:].mean(), rel=1e-12)
    assert arm["floor"] == pytest.approx(np.mean(arm["floors"]))
    # and it is the level a separate run started at the target reaches (same law)
    at_target = SimulationConfig(alpha=0.5, n=500, iters=2, d=4, K=4, contexts=8, seeds=16,
                                 init_dist=0.0, seed=1)
    frame = SelfRewardingRunner(at_target).run().metrics()
    assert arm["floors"][1] == pytest.approx(frame.query("t > 0")["dist"].mean(), rel=0.5)
    # the slope is fit_log_decay over (t, e_t) with the instance, not the seed, as the unit
    t = np.broadcast_to(np.arange(4)[None, :, None], dist.shape).ravel()
    units = np.broadcast_to(np.arange(3)[:, None, None], dist.shape).ravel()
    fit = fit_log_decay(t, dist.ravel(), floor=arm["floor"], units=units)
    assert (arm["slope"], arm["lo"], arm["hi"]) == pytest.approx((fit.slope, fit.lo, fit.hi))
    assert np.mean(arm["instance_slopes"]) == pytest.approx(arm["slope"])
    # per instance: the slope of the seed-mean of log e_t over the fitted rounds
    rounds = arm["fit_rounds"]
    line = np.polyfit(rounds, np.log(dist[2, rounds]).mean(axis=1), 1)[0]
    assert arm["instance_slopes"][2] == pytest.approx(line)


def hand_made(slopes, lo, hi, alphas=(0.5,), floors=None):
    floors = floors or [0.1] * len(alphas)
    arms = [{"alpha": a, "slope": s, "lo": lo, "hi": hi, "predicted": math.log(1 - a),
             "floor": f, "floors": [f], "dist": [[[4.0], [2.0]]],
             "consistency": [[[0.4, 0.6], [0.05, 0.05]]]}
            for a, s, f in zip(alphas, slopes, floors)]
    return {"n": 100, "instances": 2, "seeds": 2, "iters": 1, "init_dist": 4.0,
            "floor_margin": 4.0, "arms": arms}


def test_summarise_verdicts():
    held = contraction.summarise(hand_made([-0.6], -0.8, -0.5))
    assert held["inside_a50"] == "inside" and held["n_outside"] == 0
    failed = contraction.summarise(hand_made([-0.6], -0.65, -0.55))
    assert failed["inside_a50"] == "outside" and failed["n_outside"] == 1
    assert failed["max_slope_gap_pct"] == pytest.approx(100 * (1 - 0.6 / math.log(2)))
    assert failed["cons_ratio_a50"] == pytest.approx(0.1)
    assert failed["cons_trend_a50"] == "falls"
    assert (failed["n_pairs"], failed["n_seeds"], failed["n_instances"], failed["e0"],
            failed["n_iters"], failed["floor_margin"], failed["n_alphas"]) == (
        100, 2, 2, 4.0, 1, 4.0, 1)
    assert set(contraction.ARM_NAMES) == set(contraction.Config().alphas)  # the book's shares


def test_direction_words_follow_the_slopes():
    # -0.6 is above log(0.5) = -0.69: shallower, a weaker contraction
    weaker = contraction.summarise(hand_made([-0.6, -1.2], -2, 0, alphas=(0.5, 0.75)))
    assert weaker["contraction_strength"] == "weaker"
    assert weaker["slope_direction"] == "every fitted slope is shallower than predicted"
    stronger = contraction.summarise(hand_made([-0.8, -1.5], -2, 0, alphas=(0.5, 0.75)))
    assert stronger["contraction_strength"] == "stronger"
    assert stronger["slope_direction"] == "every fitted slope is steeper than predicted"
    mixed = contraction.summarise(hand_made([-0.6, -1.5], -2, 0, alphas=(0.5, 0.75)))
    assert mixed["slope_direction"] == "the fitted slopes lie on both sides of the prediction"
    assert contraction.direction([-0.6], [math.log(0.5)]) == "shallower"


def test_floor_order_and_consistency_trend_words():
    ordered = contraction.summarise(hand_made([-0.3, -0.6], -2, 0, alphas=(0.25, 0.5),
                                              floors=(0.3, 0.1)))
    assert ordered["floor_order"] == "the smaller the signal share, the higher the floor"
    unordered = contraction.summarise(hand_made([-0.3, -0.6], -2, 0, alphas=(0.25, 0.5),
                                                floors=(0.1, 0.3)))
    assert unordered["floor_order"] == "the floor is not ordered by the signal share"
    rising = hand_made([-0.6], -2, 0)
    rising["arms"][0]["consistency"] = [[[0.1, 0.1], [0.2, 0.2]]]
    assert contraction.summarise(rising)["cons_trend_a50"] == "rises"


@pytest.mark.parametrize("change, field", [
    ({"alphas": (0.5, 1.0)}, "alphas"), ({"alphas": ()}, "alphas"),
    ({"alphas": (0.5, 0.5)}, "alphas"), ({"n": 0}, "n"), ({"floor_iters": 0}, "floor_iters"),
    ({"floor_margin": 0.0}, "floor_margin"), ({"init_dist": 0.0}, "init_dist"), ({"K": 1}, "K"),
    ({"instances": 1}, "instances"),
])
def test_validate_names_the_bad_field(change, field):
    with pytest.raises(ConfigError) as error:
        build(contraction.Config, change).validate()
    assert error.value.field == field
    assert str(error.value).startswith(f"{field}: ")


def test_plots_are_figures(values):
    for draw in (contraction.plot, contraction.plot_consistency):
        fig = draw(values)
        assert isinstance(fig, Figure)
        plt.close(fig)
