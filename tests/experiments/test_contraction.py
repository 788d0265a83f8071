"""S1 with finite samples: the contraction experiment's values, verdicts and checks."""

import json
import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from srlm_core import ConfigError
from srlm_core.experiments import contraction
from srlm_core.model.self_rewarding import SelfRewardingRunner, SimulationConfig
from srlm_core.stats import fit_log_decay

SMALL = contraction.Config(alphas=(0.5,), n=500, iters=3, floor_iters=2, d=4, K=4, contexts=8,
                           seeds=4)


@pytest.fixture(scope="module")
def values():
    return contraction.run(SMALL)


def test_defaults_are_the_chapter_run():
    c = contraction.Config()
    assert (c.alphas, c.n, c.iters, c.floor_iters, c.seeds, c.init_dist) == (
        (0.25, 0.5, 0.75), 20000, 8, 4, 16, 4.0)
    assert c.simulation(0.25) == SimulationConfig(alpha=0.25, n=20000, iters=8, init_dist=4.0,
                                                  seeds=16)


def test_small_run_is_deterministic_plain_data_and_exact_where_known(values):
    assert json.loads(json.dumps(values)) == values  # plain JSON data
    assert contraction.run(SMALL) == values  # seeded: the same numbers twice
    (arm,) = values["arms"]
    assert np.array(arm["dist"]).shape == np.array(arm["consistency"]).shape == (4, 4)
    assert arm["dist"][0] == pytest.approx([4.0] * 4, rel=1e-12)  # every run starts at e_0
    assert arm["predicted"] == math.log(0.5)
    # the floor is the mean error of the same procedure started at the target
    at_target = SimulationConfig(alpha=0.5, n=500, iters=2, d=4, K=4, contexts=8, seeds=4,
                                 init_dist=0.0)
    frame = SelfRewardingRunner(at_target).run().metrics()
    assert arm["floor"] == pytest.approx(frame.query("t > 0")["dist"].mean(), rel=1e-12)
    # the slope is fit_log_decay over (t, e_t), one trajectory per seed
    t, seeds = np.repeat(np.arange(4), 4), np.tile(np.arange(4), 4)
    fit = fit_log_decay(t, np.ravel(arm["dist"]), floor=arm["floor"], units=seeds)
    assert (arm["slope"], arm["lo"], arm["hi"]) == pytest.approx((fit.slope, fit.lo, fit.hi))


def hand_made(lo, hi, alpha=0.5, slope=-0.6):
    arm = {"alpha": alpha, "slope": slope, "lo": lo, "hi": hi, "predicted": math.log(1 - alpha),
           "floor": 0.1, "dist": [[4.0], [2.0]], "consistency": [[0.4, 0.6], [0.05, 0.05]]}
    return {"n": 100, "seeds": 2, "iters": 1, "init_dist": 4.0, "arms": [arm]}


def test_summarise_verdicts():
    held = contraction.summarise(hand_made(-0.8, -0.5))
    assert held["inside_a50"] == "inside" and held["n_outside"] == 0
    failed = contraction.summarise(hand_made(-0.65, -0.55))
    assert failed["inside_a50"] == "outside" and failed["n_outside"] == 1
    assert failed["max_slope_gap_pct"] == pytest.approx(100 * (1 - 0.6 / math.log(2)))
    assert failed["cons_ratio_a50"] == pytest.approx(0.1)
    assert (failed["n_pairs"], failed["n_seeds"], failed["e0"], failed["n_iters"]) == (
        100, 2, 4.0, 1)
    assert contraction.key(0.29) == "a29" and contraction.key(0.25) == "a25"


@pytest.mark.parametrize("change, field", [
    ({"alphas": (0.5, 1.0)}, "alphas"), ({"alphas": ()}, "alphas"),
    ({"alphas": (0.5, 0.5)}, "alphas"), ({"n": 0}, "n"), ({"floor_iters": 0}, "floor_iters"),
    ({"floor_margin": 0.0}, "floor_margin"), ({"init_dist": 0.0}, "init_dist"), ({"K": 1}, "K"),
])
def test_validate_names_the_bad_field(change, field):
    with pytest.raises(ConfigError) as error:
        contraction.Config(**change).validate()
    assert error.value.field == field
    assert str(error.value).startswith(f"{field}: ")


def test_plots_are_figures(values):
    for draw in (contraction.plot, contraction.plot_consistency):
        fig = draw(values)
        assert isinstance(fig, Figure)
        plt.close(fig)
