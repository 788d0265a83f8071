"""The contraction (S1) measured in small simulations."""

import numpy as np
import pytest

from srlm_core import ConfigError
from srlm_core.model.self_rewarding import SimulationConfig, simulate
from srlm_core.stats import fit_slope


@pytest.mark.parametrize("alpha", [0.3, 0.7])
def test_population_update_contracts_by_one_minus_alpha(alpha):
    frame = simulate(alpha=alpha, n=0, iters=5, seeds=1).metrics()
    ratios = frame["dist"].to_numpy()[1:] / frame["dist"].to_numpy()[:-1]
    assert np.allclose(ratios, 1 - alpha, rtol=1e-6)
    assert frame["consistency"].iloc[-1] < frame["consistency"].iloc[0] * (1 - alpha) ** 4


def test_finite_sample_decay_slope_matches_log_one_minus_alpha():
    alpha = 0.5
    frame = simulate(alpha=alpha, n=20000, iters=4, seeds=8, init_dist=3.0).metrics()
    fit = fit_slope(frame["t"], np.log(frame["dist"]))
    assert fit.lo <= np.log(1 - alpha) <= fit.hi
    assert fit.hi - fit.lo < 0.2  # the interval is informative


def test_moving_reference_diverges_in_the_population():
    fixed = simulate(alpha=0.5, n=0, iters=4, seeds=1).metrics()["dist"].to_numpy()
    moving = simulate(alpha=0.5, n=0, iters=4, seeds=1, reference="moving").metrics()["dist"]
    assert moving.to_numpy()[-1] > 2 * moving.to_numpy()[0]
    assert fixed[-1] < fixed[0] / 10


def test_reruns_are_identical():
    a = simulate(alpha=0.5, n=300, iters=2, seeds=3).metrics()
    b = simulate(alpha=0.5, n=300, iters=2, seeds=3).metrics()
    assert a.equals(b)


@pytest.mark.parametrize(
    "field, value",
    [("alpha", 0.0), ("alpha", 1.5), ("n", -1), ("lam", -0.1), ("K", 1),
     ("reference", "sideways"), ("seeds", 0), ("device", "tpu")],
)
def test_invalid_config_names_the_field(field, value):
    with pytest.raises(ConfigError) as err:
        SimulationConfig(**{field: value}).validate()
    assert err.value.field == field


def test_a_simulation_takes_the_fields_an_experiment_shares_with_it():
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Experiment:
        alpha: float = 0.3
        n: int = 500
        starts: tuple = (1.0, 2.0)  # not a simulation field

    sim = SimulationConfig.taking(Experiment(), init_dist=2.0)
    assert (sim.alpha, sim.n, sim.init_dist) == (0.3, 500, 2.0)
    assert sim.iters == SimulationConfig().iters  # unshared fields keep their defaults
