"""S4 evaluated numerically (srlm_core.model.bounds) and checked against real simulations."""

import math

import numpy as np
import pytest
import torch

from srlm_core import ConfigError
from srlm_core.model import metrics
from srlm_core.model.bounds import iterative_bound
from srlm_core.model.self_rewarding import SelfRewardingRunner, SimulationConfig
from srlm_core.stats import fit_log_decay


def _distances(config: SimulationConfig) -> np.ndarray:
    result = SelfRewardingRunner(config).run()
    return metrics.param_distance(result.problem, result.thetas).numpy()  # (T+1, S)


def test_initial_term_is_the_contraction_when_lambda_is_zero():
    frame = iterative_bound(SimulationConfig(alpha=0.4, init_dist=3.0, iters=5)).frame
    expected = [3.0 * 0.6**t for t in range(6)]
    assert np.allclose(frame["population_dist"], expected, rtol=1e-6)


def test_population_update_has_no_noise_term():
    frame = iterative_bound(SimulationConfig(n=0, iters=4)).frame
    assert np.allclose(frame["bound"], frame["population_dist"])
    assert np.allclose(frame["eps"], 0.0)


def test_noise_term_scales_as_one_over_sqrt_n():
    small = iterative_bound(SimulationConfig(n=1000, iters=3)).frame
    large = iterative_bound(SimulationConfig(n=4000, iters=3)).frame
    assert np.allclose(large["eps"][1:] / small["eps"][1:], 0.5)


def test_coarser_forms_dominate_the_bound():
    frame = iterative_bound(SimulationConfig(iters=6)).frame
    assert (frame["bound_uniform"] >= frame["bound"] - 1e-12).all()
    assert (frame["bound_kappa"] >= frame["bound"] - 1e-12).all()
    assert frame["bound_kappa"].iloc[1:].gt(frame["bound"].iloc[1:]).all()


def test_bad_delta_and_moving_reference_are_config_errors():
    with pytest.raises(ConfigError) as err:
        iterative_bound(SimulationConfig(), delta=1.5)
    assert err.value.field == "delta"
    with pytest.raises(ConfigError) as err:
        iterative_bound(SimulationConfig(reference="moving"))
    assert err.value.field == "reference"


def test_bound_holds_in_at_least_95_percent_of_seeds_and_rms_is_predicted():
    """The bound holds simultaneously for all t <= T with probability >= 1 - delta."""
    config = SimulationConfig(alpha=0.5, n=1000, iters=5, seeds=100, seed=3)
    frame = iterative_bound(config, delta=0.05).frame
    dist = _distances(config)
    coverage = (dist <= frame["bound"].to_numpy()[:, None]).all(axis=0).mean()
    assert coverage >= 0.95
    # the check has teeth: the root-mean-square prediction, no bound, is exceeded often
    rms = frame["predicted_rms"].to_numpy()
    assert (dist[-1] <= rms[-1]).mean() < 0.9
    # and the linear-Gaussian recursion predicts the root mean square within 15%
    assert np.allclose(np.sqrt((dist**2).mean(axis=1)), rms, rtol=0.15)


def test_decay_slope_is_log_one_minus_alpha():
    config = SimulationConfig(alpha=0.3, init_dist=4.0, n=20000, iters=3, seeds=16, seed=1)
    floor = iterative_bound(config).noise_floor()
    dist = _distances(config)
    steps = np.repeat(np.arange(config.iters + 1), dist.shape[1])
    fit = fit_log_decay(steps, dist.ravel(), floor=floor, margin=8.0)
    assert fit.lo <= math.log(1 - config.alpha) <= fit.hi
    assert fit.hi - fit.lo < 0.05


def test_to_dict_has_the_simulate_shape():
    out = iterative_bound(SimulationConfig(iters=2, lam=0.1)).to_dict()
    assert set(out) == {"params", "iterations"}
    assert out["params"]["delta"] == 0.05
    assert [row["t"] for row in out["iterations"]] == [0, 1, 2]
    assert out["iterations"][1]["bound_kappa"] is None  # the kappa form is for lambda = 0
    assert torch.isfinite(torch.tensor([row["bound"] for row in out["iterations"]])).all()


def test_closed_form_trajectory_matches_the_solved_population_steps():
    """lambda = 0 uses the S1 contraction in closed form; a vanishing ridge solves each step."""
    exact = iterative_bound(SimulationConfig(alpha=0.3, iters=4, init_dist=3.0)).frame
    solved = iterative_bound(SimulationConfig(alpha=0.3, iters=4, init_dist=3.0, lam=1e-12)).frame
    for column in ("bound", "population_dist", "predicted_rms", "predicted_kl"):
        assert np.allclose(exact[column], solved[column], rtol=1e-6)
