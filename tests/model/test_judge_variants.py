"""Judge variants: the theory's judge runs bit-identically, each departure computes what its
docstring states, and the scalar world follows the SymPy maps."""

import math

import pytest
import sympy as sp
import torch

from srlm_core import ConfigError
from srlm_core.model.judge import judge_rewards
from srlm_core.model.judge_variants import (
    JudgeVariant,
    VariantRunner,
    bias_direction,
    pair_probabilities,
    sample_variant_pairs,
    two_response_problem,
    variant_population_update,
)
from srlm_core.model.policy import make_problem
from srlm_core.model.self_rewarding import SelfRewardingRunner, SimulationConfig
from srlm_core.theory import judge_departures

SMALL = dict(d=4, K=4, contexts=8, seeds=3, iters=3, alpha=0.5)


@pytest.mark.parametrize("n, engine", [(0, "auto"), (300, "samples"), (5000, "counts")])
@pytest.mark.parametrize("judge", [JudgeVariant(), JudgeVariant("bias", 0.0),
                                   JudgeVariant("amplifying", 0.0)])
def test_the_theory_judge_is_bit_identical(n, engine, judge):
    config = SimulationConfig(n=n, engine=engine, **SMALL)
    base = SelfRewardingRunner(config).run().thetas
    variant = VariantRunner(config, judge).run().thetas
    assert torch.equal(base, variant)


def test_bias_population_step_is_the_derived_recursion():
    problem = make_problem(d=4, K=4, contexts=8, beta=2.0, seed=3)
    c = bias_direction(4, 3)
    theta = problem.theta_star + torch.tensor([[0.3, -0.2, 0.1, 0.4]], dtype=torch.float64)
    b, alpha = 0.3, 0.4
    nxt = variant_population_update(JudgeVariant("bias", b), problem, theta, alpha, 0.0,
                                    problem.theta_ref, c)
    u = theta - problem.theta_ref
    expected = problem.theta_ref + alpha * problem.w_star + (1 - alpha) * u + b / 2.0 * c
    assert torch.allclose(nxt, expected, atol=1e-8)
    assert c.norm() == pytest.approx(1.0) and torch.equal(c, bias_direction(4, 3))


@pytest.mark.parametrize("kind, g", [("saturating", judge_departures.saturating_g()),
                                     ("amplifying", judge_departures.amplifying_g())])
def test_scalar_world_step_is_the_sympy_map(kind, g):
    problem = two_response_problem(w=1.0, beta=1.5)
    law = judge_departures.nonlinear_map(g).update
    for u0 in (-1.0, 0.4, 2.0):
        theta = torch.tensor([[u0]], dtype=torch.float64)
        nxt = variant_population_update(JudgeVariant(kind, 0.8), problem, theta, 0.3, 0.0,
                                        problem.theta_ref)
        expected = float(law.subs({judge_departures.alpha: 0.3, judge_departures.beta: 1.5,
                                   judge_departures.w: 1.0, judge_departures.s: 0.8,
                                   judge_departures.u: u0}))
        assert float(nxt) == pytest.approx(expected, rel=1e-8)


def test_nonlinear_g_acts_on_the_centred_log_ratio():
    problem = make_problem(d=4, K=4, contexts=8, seed=1)
    theta = problem.theta_star[None] + 0.5
    same = pair_probabilities(JudgeVariant("saturating", 1e-9), problem, theta, 0.5)
    theory = judge_rewards(problem, theta, 0.5)
    assert torch.allclose(same, torch.sigmoid(theory.unsqueeze(-1) - theory.unsqueeze(-2)),
                          atol=1e-9)


def test_confidence_noise_is_the_mean_of_the_noisy_sigmoid():
    problem = make_problem(d=4, K=4, contexts=8, seed=2)
    theta = problem.theta_star[None] + 0.7
    s = 0.8
    p = pair_probabilities(JudgeVariant("confidence_noise", s), problem, theta, 0.5)
    r = judge_rewards(problem, theta, 0.5)
    margin = r.unsqueeze(-1) - r.unsqueeze(-2)
    ell = problem.logits(theta - problem.theta_ref)
    spread = s * (ell.unsqueeze(-1) - ell.unsqueeze(-2)).abs()
    z = torch.randn(200000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    mc = torch.sigmoid(margin[0, 0, :, :, None] + spread[0, 0, :, :, None] * z).mean(-1)
    assert torch.allclose(p[0, 0], mc, atol=3e-3)
    # more noise pulls every label towards 1/2
    assert ((p - 0.5).abs() <= (torch.sigmoid(margin) - 0.5).abs() + 1e-12).all()
    # the scalar-world fixed point is the probit law's, within its approximation
    assert float(spread.max()) > 0


def test_sampled_labels_follow_the_variant_probabilities():
    problem = two_response_problem(w=1.0)
    theta = torch.tensor([[2.0]], dtype=torch.float64)
    judge = JudgeVariant("confidence_noise", 1.0)
    pairs = sample_variant_pairs(judge, problem, theta, 0.5, 200000,
                                 torch.Generator().manual_seed(0))
    p = pair_probabilities(judge, problem, theta, 0.5)[0, 0]
    mixed = pairs.first != pairs.second
    wins = pairs.label[mixed & (pairs.first == 0)].mean()
    assert float(wins) == pytest.approx(float(p[0, 1]), abs=5e-3)


def test_finite_n_variant_run_is_seeded():
    config = SimulationConfig(n=400, **SMALL)
    judge = JudgeVariant("saturating", 1.0)
    assert torch.equal(VariantRunner(config, judge).run().thetas,
                       VariantRunner(config, judge).run().thetas)


@pytest.mark.parametrize("change, field", [({"kind": "lengthy"}, "kind"),
                                           ({"kind": "saturating", "strength": -1.0},
                                            "strength"),
                                           ({"kind": "bias", "strength": math.inf},
                                            "strength")])
def test_validate_names_the_field(change, field):
    with pytest.raises(ConfigError) as error:
        JudgeVariant(**change).validate()
    assert error.value.field == field
    assert JudgeVariant("bias", -0.5).validate().strength == -0.5


def test_g_functions():
    z = torch.linspace(-3, 3, 7, dtype=torch.float64)
    assert torch.allclose(JudgeVariant("saturating", 2.0).g(z), torch.tanh(2 * z) / 2)
    assert torch.allclose(JudgeVariant("amplifying", 2.0).g(z), torch.sinh(2 * z) / 2)
    assert torch.equal(JudgeVariant("bias", 2.0).g(z), z)
    z = judge_departures.z
    assert sp.simplify(sp.diff(judge_departures.saturating_g(), z).subs(z, 0)) == 1
