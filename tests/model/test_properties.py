"""Invariants of the model world on random small problems (Hypothesis): probabilities sum to
one, theta* is the fixed point of the population update and the population update contracts
by 1 - alpha, KL(pi* || pi) >= 0 with equality at theta*, and kappa = max pi*/pi >= 1."""

import math

import pytest
import torch

pytest.importorskip("hypothesis", reason="hypothesis is in requirements.in (property tests)")
from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from srlm_core.model import metrics  # noqa: E402
from srlm_core.model.one_step_prediction import one_step_limit, pair_fisher  # noqa: E402
from srlm_core.model.policy import LinearSoftmaxProblem, make_problem  # noqa: E402
from srlm_core.model.self_rewarding import population_update  # noqa: E402

#: Few examples, no deadline (the first call pays torch's warm-up): the suite stays in seconds.
FAST = settings(max_examples=30, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])


@st.composite
def problems(draw):
    """A random small problem and a parameter vector at a random distance from theta*."""
    d = draw(st.integers(1, 5))
    problem = make_problem(
        d=d,
        K=draw(st.integers(2, 5)),
        contexts=draw(st.integers(1, 4)),
        beta=draw(st.floats(0.2, 3.0)),
        signal=draw(st.floats(0.0, 3.0)),
        seed=draw(st.integers(0, 10_000)),
    )
    offset = torch.tensor(draw(st.lists(st.floats(-3.0, 3.0), min_size=d, max_size=d)),
                          dtype=torch.float64)
    return problem, problem.theta_star + offset


alphas = st.floats(0.05, 1.0)


@FAST
@given(problems())
def test_policy_probabilities_sum_to_one(case):
    problem, theta = case
    probs = problem.log_probs(theta).exp()
    assert torch.all(probs >= 0)
    assert torch.allclose(probs.sum(-1), torch.ones(problem.features.shape[0],
                                                     dtype=torch.float64), atol=1e-12)
    assert math.isclose(float(problem.context_probs.sum()), 1.0, abs_tol=1e-12)


@FAST
@given(problems(), alphas)
def test_theta_star_is_the_fixed_point_of_the_population_update(case, alpha):
    """At theta* the self-judge's labels are the DPO model's own, so the step stays there (for
    every alpha: the self-preference term equals the true reward at the target)."""
    problem, _ = case
    star = problem.theta_star[None]
    step = population_update(problem, star, alpha, 0.0, problem.theta_ref)
    assert torch.allclose(step, star, atol=1e-8)


def _curvature(problem, theta, alpha):
    """Smallest eigenvalue of the population DPO loss's Hessian at the step's solution."""
    target = one_step_limit(problem, theta, alpha)
    return float(torch.linalg.eigvalsh(problem.beta**2 * pair_fisher(problem, theta, target))[0])


@FAST
@given(problems(), alphas)
def test_population_update_contracts_by_one_minus_alpha(case, alpha):
    """Where the population loss is curved (the pair differences span R^d under pi_theta and
    the margins do not saturate: Hessian >= 1e-4 I), the solved population step is
    theta* + (1 - alpha)(theta - theta*) (S1)."""
    problem, theta = case
    assume(_curvature(problem, theta, alpha) > 1e-4)
    step = population_update(problem, theta[None], alpha, 0.0, problem.theta_ref)[0]
    expected = problem.theta_star + (1 - alpha) * (theta - problem.theta_star)
    assert torch.allclose(step, expected, atol=1e-6)


@pytest.mark.xfail(strict=True, reason=(
    "found by test_population_update_contracts_by_one_minus_alpha: fit_logistic stops on an "
    "absolute gradient norm of 1e-10, which a peaked policy reaches 6e-5 away from the "
    "solution (its informative pairs weigh 1.6e-4, the Hessian is 4e-7); the stored records were "
    "computed with this stopping rule, so the solver is left as it is"))
def test_population_update_is_accurate_for_a_peaked_policy():
    problem = LinearSoftmaxProblem(
        features=torch.tensor([[[-1.0], [1.0]]], dtype=torch.float64),
        context_probs=torch.tensor([1.0], dtype=torch.float64),
        theta_ref=torch.zeros(1, dtype=torch.float64),
        w_star=torch.tensor([2.375], dtype=torch.float64), beta=2.0)
    theta = torch.tensor([[4.375]], dtype=torch.float64)
    step = population_update(problem, theta, 1.0, 0.0, problem.theta_ref)
    assert torch.allclose(step, problem.theta_star, atol=1e-6)


@FAST
@given(problems())
def test_kl_is_nonnegative_and_zero_at_the_target(case):
    problem, theta = case
    assert float(metrics.kl_target_to_policy(problem, theta)) >= -1e-12
    assert abs(float(metrics.kl_target_to_policy(problem, problem.theta_star))) < 1e-12


@FAST
@given(problems())
def test_condition_number_is_at_least_one(case):
    """kappa = max pi*/pi >= 1 since both sum to one, = 1 at theta*, and log kappa is at most
    the log-ratio span (S3)."""
    problem, theta = case
    kappa = float(metrics.condition_number(problem, theta))
    assert kappa >= 1.0 - 1e-12
    assert math.log(kappa) <= float(metrics.log_ratio_span(problem, theta)) + 1e-9
    assert abs(float(metrics.condition_number(problem, problem.theta_star)) - 1.0) < 1e-12
