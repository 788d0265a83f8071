"""S4 evaluated numerically (srlm_core.model.bounds) and checked against real simulations."""

import math
from dataclasses import replace

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


def test_initial_term_is_the_solved_population_path_when_lambda_is_zero():
    """At lambda = 0 the bound uses the S1 closed form for the noiseless path; it must equal the
    path the Newton solver finds by minimising the population DPO loss (n = 0), not the same
    formula retyped.  A wrong contraction factor in the closed form fails."""
    config = SimulationConfig(alpha=0.4, init_dist=3.0, iters=5)
    frame = iterative_bound(config).frame
    solved = _distances(replace(config, n=0, seeds=1))[:, 0]
    assert np.allclose(frame["population_dist"], solved, rtol=1e-6)
    assert solved[-1] < 0.1 * solved[0]  # the path moves: a frozen closed form would fail


def test_population_update_has_no_noise_term():
    frame = iterative_bound(SimulationConfig(n=0, iters=4)).frame
    assert np.allclose(frame["bound"], frame["population_dist"])
    assert np.allclose(frame["eps"], 0.0)


def test_noise_term_scales_as_one_over_sqrt_n():
    small = iterative_bound(SimulationConfig(n=1000, iters=3)).frame
    large = iterative_bound(SimulationConfig(n=4000, iters=3)).frame
    assert np.allclose(large["eps"][1:] / small["eps"][1:], 0.5)


def test_uniform_form_is_the_largest_step_error_times_the_summed_weights():
    """bound_uniform = population + max_k eps_k * sum_{j<t} (1 - alpha)^j, the geometric sum
    added up term by term here (the code uses the SymPy closed form); an off-by-one in the
    closed form's exponent fails."""
    alpha = 0.3
    frame = iterative_bound(SimulationConfig(alpha=alpha, iters=6)).frame
    eps_max = frame["eps"].max()
    for t in range(7):
        weights = sum((1 - alpha) ** j for j in range(t))
        expected = frame["population_dist"][t] + eps_max * weights
        assert frame["bound_uniform"][t] == pytest.approx(expected, rel=1e-12)


def test_kappa_form_dominates_the_bound():
    """The condition-number form is an upper bound on each step's quantile (I_k >= c_k H_pi and
    H_pi >= H_* / kappa), not a consequence of the construction: strictly above at t >= 1."""
    frame = iterative_bound(SimulationConfig(iters=6)).frame
    assert frame["bound_kappa"].iloc[1:].gt(frame["bound"].iloc[1:]).all()


def test_bad_delta_and_moving_reference_are_config_errors():
    with pytest.raises(ConfigError) as err:
        iterative_bound(SimulationConfig(), delta=1.5)
    assert err.value.field == "delta"
    with pytest.raises(ConfigError) as err:
        iterative_bound(SimulationConfig(reference="moving"))
    assert err.value.field == "reference"


def test_bound_is_valid_and_not_trivially_loose_from_the_target():
    """S4 from both sides, started at the target so that every t measures the noise term:
    the bound holds for all t <= T together in at least 1 - delta of 200 seeds, and it is at
    most 2.5 times the measured 95% quantile of the error (it is 1.5 to 1.8: the union bound
    over T steps and the Gaussian concentration; alpha = 0.8 keeps the triangle inequality
    nearly tight).  Halving the noise term gives about 48% coverage and fails the first
    check; doubling it gives a ratio above 2.9 and fails the second."""
    config = SimulationConfig(alpha=0.8, init_dist=0.0, n=1000, iters=3, seeds=200, seed=5)
    frame = iterative_bound(config, delta=0.05).frame
    dist = _distances(config)
    bound = frame["bound"].to_numpy()
    assert (dist <= bound[:, None]).all(axis=0).mean() >= 0.95
    q95 = np.quantile(dist[1:], 0.95, axis=1)
    assert (bound[1:] <= 2.5 * q95).all()
    assert (bound[1:] >= q95).all()


def test_bound_holds_in_at_least_95_percent_of_seeds_and_rms_is_predicted():
    """The bound holds simultaneously for all t <= T with probability >= 1 - delta from a
    distant start (the initial term dominates the early rounds)."""
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
    seeds = np.tile(np.arange(dist.shape[1]), dist.shape[0])
    fit = fit_log_decay(steps, dist.ravel(), floor=floor, units=seeds, margin=8.0)
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


@pytest.mark.parametrize("change", [{"d": 3, "K": 3, "contexts": 1}, {"beta": 5000.0},
                                    {"signal": 5000.0}])
def test_no_estimate_without_a_ridge_is_a_config_error_naming_lam(change):
    """Pairs that cannot identify theta (two differences in R^3, or margins so large that every
    label is certain) leave the lambda = 0 bound undefined: a ConfigError naming lam, not a
    Cholesky traceback or an overflow in cosh; with a ridge the bound is evaluated."""
    config = SimulationConfig(n=50, iters=1, **change)
    with pytest.raises(ConfigError, match="leaves the DPO estimate undefined") as err:
        iterative_bound(config)
    assert err.value.field == "lam"
    frame = iterative_bound(replace(config, lam=0.01)).frame
    assert np.isfinite(frame["bound"]).all()


def test_an_overflowing_ridge_is_a_config_error():
    """A ridge so large that the population steps would overflow is refused by the config's
    scale limit, before any step runs."""
    with pytest.raises(ConfigError, match="finite and at most") as err:
        iterative_bound(SimulationConfig(n=50, iters=1, d=3, K=3, contexts=4, lam=1e308))
    assert err.value.field == "lam"
