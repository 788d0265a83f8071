"""S4 evaluated numerically (srlm_core.model.bounds) and checked against real simulations."""

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from srlm_core import ConfigError
from srlm_core.model import metrics
from srlm_core.model.bounds import envelope_check, iterative_bound, slack_factors
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


#: S4 from the target at alpha = 0.8 (the triangle inequality nearly tight): the bound must sit
#: above the measured 95% quantile at every round (lower end 1) and at most 2.5 times it.  The
#: construction explains about 1.8 (margin 2.15 x triangle 1.21 x the root mean square over
#: the quantile 0.70, :func:`slack_factors`); the upper end leaves a third on top for the
#: 200-seed quantile and the Gaussian model's level.
ENVELOPE = SimulationConfig(alpha=0.8, init_dist=0.0, n=1000, iters=3, seeds=200, seed=5)
BAND = (1.0, 2.5)


@pytest.fixture(scope="module")
def envelope():
    return iterative_bound(ENVELOPE, delta=0.05).frame, _distances(ENVELOPE)


def _scaled(frame, scale):
    """The bound with its noise term (bound minus the initial term) multiplied by ``scale``."""
    population = frame["population_dist"].to_numpy()
    return population + scale * (frame["bound"].to_numpy() - population)


def test_bound_is_valid_and_not_trivially_loose_from_the_target(envelope):
    """S4 from both sides, started at the target so that every t measures the noise term: the
    bound holds for all t <= T together in at least 1 - delta of 200 seeds, and it is between
    1 and 2.5 times the measured 95% quantile of the error at every t >= 1."""
    frame, dist = envelope
    check = envelope_check(dist, frame["bound"], delta=0.05, band=BAND)
    assert check.valid and check.tight and check.passes
    assert 1.4 < check.ratio_lo <= check.ratio_hi < 2.0


@pytest.mark.parametrize("scale, fails", [(0.5, "valid"), (3.0, "tight")])
def test_the_check_rejects_a_wrong_noise_term(envelope, scale, fails):
    """The two-sided check has teeth: halving the noise term drops the coverage to about 48%
    (and puts the bound under the 95% quantile), tripling it puts the bound 4.4 to 5.5 times
    above the quantile; both are rejected while the real bound passes."""
    frame, dist = envelope
    check = envelope_check(dist, _scaled(frame, scale), delta=0.05, band=BAND)
    assert not check.passes
    assert not getattr(check, fails)
    if scale < 1:
        assert check.coverage < 0.6 and check.ratio_hi < 1.0
    else:
        assert check.coverage == 1.0 and check.ratio_lo > BAND[1]
    assert envelope_check(dist, _scaled(frame, 1.0), delta=0.05, band=BAND).passes


def test_slack_factors_multiply_to_the_ratio(envelope):
    """bound / 95% quantile = margin x triangle x model x quantile exactly; at alpha = 0.8 with
    a constant per-round covariance the triangle factor is close to sqrt((2 - alpha) / alpha)
    (the per-round trace varies a little along the path), the margin is above 1 and the root
    mean square is below the 95% quantile."""
    frame, dist = envelope
    last = frame.iloc[-1]
    factors = slack_factors(last["bound"], last["bound_trace"], last["predicted_rms"], dist[-1])
    product = factors["margin"] * factors["triangle"] * factors["model"] * factors["quantile"]
    assert product == pytest.approx(factors["ratio"], rel=1e-12)
    assert factors["ratio"] == pytest.approx(last["bound"] / np.quantile(dist[-1], 0.95))
    assert factors["margin"] > 1.5 and factors["quantile"] < 1.0
    assert factors["model"] == pytest.approx(1.0, abs=0.1)
    T, alpha = ENVELOPE.iters, ENVELOPE.alpha
    weights = np.array([(1 - alpha) ** (T - 1 - k) for k in range(T)])
    assert factors["triangle"] == pytest.approx(weights.sum() / np.sqrt((weights**2).sum()),
                                                rel=0.02)


def test_bound_trace_is_the_triangle_inequality_on_root_mean_squares():
    """bound_trace = population + sum_k (1 - alpha)^(t-1-k) sqrt(tr A_k), rebuilt here from the
    step covariances; it lies between the root-mean-square prediction and the bound."""
    from srlm_core.model.bounds import step_covariance
    from srlm_core.model.one_step_prediction import one_step_limit

    config = SimulationConfig(alpha=0.4, init_dist=1.0, n=2000, iters=4)
    frame = iterative_bound(config).frame
    runner = SelfRewardingRunner(replace(config, n=0, seeds=1))
    thetas = [runner.initial_thetas()[0]]
    for _ in range(config.iters):
        thetas.append(one_step_limit(runner.problem, thetas[-1], config.alpha))
    roots = [float(torch.trace(step_covariance(runner.problem, thetas[k], thetas[k + 1], 0.4, 0.0,
                                               2000)).sqrt()) for k in range(config.iters)]
    for t in range(config.iters + 1):
        expected = frame["population_dist"][t] + sum(0.6 ** (t - 1 - k) * roots[k]
                                                     for k in range(t))
        assert frame["bound_trace"][t] == pytest.approx(expected, rel=1e-9)
    assert (frame["predicted_rms"] <= frame["bound_trace"] + 1e-12).all()
    assert (frame["bound_trace"].iloc[1:] < frame["bound"].iloc[1:]).all()


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
