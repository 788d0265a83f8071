"""The contraction (S1) measured in small simulations."""

import numpy as np
import pytest
import torch

from srlm_core import ConfigError
from srlm_core.model.policy import ProblemConfig, make_problem
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
    # n = 10^6 (the count engine makes it cheap) keeps the statistical floor, which flattens
    # the decay, well below e_0 (1 - alpha)^T
    frame = simulate(alpha=alpha, n=10**6, iters=4, seeds=8, init_dist=3.0).metrics()
    fit = fit_slope(frame["t"], np.log(frame["dist"]))
    assert fit.lo <= np.log(1 - alpha) <= fit.hi
    assert fit.hi - fit.lo < 0.2  # the interval is informative


@pytest.mark.parametrize("alpha", [0.5, 0.8])
def test_moving_reference_follows_the_exact_deviation_recursion(alpha):
    """S1's contrast: with the DPO reference reset to pi_t, the solved population steps obey
    D_{t+1} = (2 - alpha) D_t + alpha w* exactly (D_t = theta_t - theta_ref, a vector), checked
    step by step to 1e-6; so ||theta_t - theta*|| = ||D_t - w*|| grows by 2 - alpha per
    round.  A reference lagging one round, a judge whose self-preference is measured against
    the moving reference (growth 1), or the fixed reference all fail; "more than 2x growth"
    did not see the rate."""
    result = simulate(alpha=alpha, n=0, iters=4, seeds=1, reference="moving", d=4, K=4,
                      contexts=8)
    p = result.problem
    deviation = (result.thetas[:, 0] - p.theta_ref).numpy()
    w_star = p.w_star.numpy()
    for t in range(4):
        expected = (2 - alpha) * deviation[t] + alpha * w_star
        assert np.abs(deviation[t + 1] - expected).max() < 1e-6
    dist = result.metrics()["dist"].to_numpy()
    assert np.allclose(dist, np.linalg.norm(deviation - w_star, axis=1), rtol=1e-12)


def test_fixed_reference_contracts_in_the_population():
    fixed = simulate(alpha=0.5, n=0, iters=4, seeds=1).metrics()["dist"].to_numpy()
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


def test_a_simulation_runs_on_a_problem_config():
    problem = ProblemConfig(d=3, K=4, contexts=5, beta=2.0, signal=0.5, seed=7)
    sim = SimulationConfig.on(problem.instance(2), alpha=0.3, n=500)
    assert (sim.d, sim.K, sim.contexts, sim.beta, sim.signal, sim.seed) == (3, 4, 5, 2.0, 0.5, 9)
    assert (sim.alpha, sim.n, sim.iters) == (0.3, 500, SimulationConfig().iters)
    with pytest.raises(TypeError):  # a run field that does not exist is an error, not a default
        SimulationConfig.on(problem, alpah=0.3)
    assert torch.equal(sim.make().features, make_problem(d=3, K=4, contexts=5, seed=9).features)
