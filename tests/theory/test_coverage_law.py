"""S2 in coverage form: the SymPy derivation, each result checked by independent means
(enumeration, sampling, the package's DPO step and population update, linear algebra)."""

import math

import numpy as np
import pytest
import sympy as sp
import torch
from scipy import stats

from srlm_core.experiments.coverage import tabular_problem
from srlm_core.model import metrics
from srlm_core.model.dpo import dpo_update
from srlm_core.model.policy import DTYPE, LinearSoftmaxProblem, make_problem, random_unit_vectors
from srlm_core.model.self_rewarding import population_update
from srlm_core.theory import coverage_law


def test_miss_probability_matches_sampling_and_the_binomial_mixture():
    miss = coverage_law.miss_probability()
    kappa, m = 5.0, 3
    closed = float(miss.given_m.subs({coverage_law.kappa0: kappa, coverage_law.m: m}))
    rng = np.random.default_rng(0)
    draws = rng.random((200_000, 2 * m)) < 1 / kappa  # True: y* drawn
    assert abs((~draws.any(axis=1)).mean() - closed) < 4e-3
    assert closed >= float(miss.linear_bound.subs({coverage_law.kappa0: kappa, coverage_law.m: m}))
    n, q = 40, 0.1
    pmf = stats.binom.pmf(np.arange(n + 1), n, q)
    mixture = float((pmf * (1 - 1 / kappa) ** (2 * np.arange(n + 1))).sum())
    at = {coverage_law.kappa0: kappa, coverage_law.q: q, coverage_law.n: n}
    assert float(miss.given_n.subs(at)) == pytest.approx(mixture, rel=1e-12)


@pytest.mark.parametrize("kappa", [2.0, 10.0, 300.0])
def test_pairs_needed_solves_the_miss_equation_and_is_linear_in_kappa(kappa):
    need = coverage_law.pairs_needed()
    half = float(need.half.subs(coverage_law.kappa0, kappa))
    assert (1 - 1 / kappa) ** (2 * half) == pytest.approx(0.5, rel=1e-12)
    for d in (0.5, 0.1, 0.01):
        at = {coverage_law.kappa0: kappa, coverage_law.delta: d}
        exact = float(need.exact.subs(at))
        assert exact >= float(need.lower.subs(at)) - 1e-12
        asymptotic = float(need.asymptotic.subs(at))
        assert abs(exact - asymptotic) <= math.log(1 / d) / kappa  # O(1 / kappa)


def test_unseen_response_gradients_vanish_symbolically():
    unseen = coverage_law.unseen_response(K=4)
    assert unseen.grad_unseen == 0 and unseen.grad_sum == 0
    assert unseen.bound_uniform == sp.Rational(1, 3)
    assert sp.simplify(unseen.bound_even - unseen.reference[0]) == 0


def test_unseen_response_bound_is_the_maximum_over_the_constraint():
    unseen = coverage_law.unseen_response()
    p = (0.05, 0.7, 0.25)
    x = np.linspace(-10, 10, 200_001)
    brute = (p[0] / (p[0] + p[1] * np.exp(x) + p[2] * np.exp(-x))).max()
    bound = float(unseen.bound.subs(dict(zip(unseen.reference, p))))
    assert bound == pytest.approx(brute, rel=1e-8)


def test_the_dpo_step_leaves_an_unseen_response_at_zero_and_centres_the_prompt():
    """One prompt, K = 4 one-hot responses, a non-uniform reference; pairs only among
    responses 1..3 with arbitrary labels.  The ridge DPO step keeps u_0 = 0, sum u = 0 and
    pi_1(y_0) below p_0 / (p_0 + 3 G)."""
    K = 4
    features = torch.eye(K, dtype=DTYPE)
    reference = torch.tensor([-2.0, 0.5, -0.3, 1.0], dtype=DTYPE)
    g = torch.Generator().manual_seed(1)
    first = torch.randint(1, K, (3, 50), generator=g)
    second = (first + torch.randint(1, K - 1, (3, 50), generator=g) - 1) % (K - 1) + 1
    label = torch.randint(0, 2, (3, 50), generator=g).to(DTYPE)
    dphi = features[first] - features[second]
    theta = dpo_update(dphi, label, beta=1.0, lam=1e-3, theta_reference=reference,
                       theta_init=reference.expand(3, K).clone())
    u = theta - reference
    assert torch.allclose(u[:, 0], torch.zeros(3, dtype=DTYPE), atol=1e-8)
    assert torch.allclose(u.sum(-1), torch.zeros(3, dtype=DTYPE), atol=1e-8)
    p_ref = torch.softmax(reference, -1)
    geometric = p_ref[1:].log().mean().exp()
    pi1 = torch.softmax(theta, -1)[:, 0]
    assert (pi1 <= p_ref[0] / (p_ref[0] + (K - 1) * geometric) + 1e-12).all()


def test_tabular_leverage_is_kappa_minus_one():
    lev = coverage_law.tabular_leverage(K=3)
    assert sp.simplify(lev.leverage - lev.closed) == 0
    assert sp.simplify(lev.pair_leverage - lev.pair_closed) == 0
    rng = np.random.default_rng(2)
    p = rng.dirichlet(np.ones(6))
    sigma = np.diag(p) - np.outer(p, p)
    v = np.eye(6)[0] - p
    assert v @ np.linalg.pinv(sigma) @ v == pytest.approx(1 / p[0] - 1, rel=1e-9)


def test_feature_coverage_is_the_coverage_coefficient_for_one_hot_features():
    p = tabular_problem(contexts=5, K=4, kappa=37.0, target=0.9)
    best = torch.zeros(5, dtype=torch.long)
    kappa0 = metrics.coverage_coefficient(p, p.theta_ref, best)
    assert torch.allclose(kappa0, torch.full((5,), 37.0, dtype=DTYPE))
    assert torch.allclose(metrics.feature_coverage(p, p.theta_ref, best), kappa0, rtol=1e-8)
    assert torch.equal(metrics.best_responses(p), best)
    random = make_problem(d=12, K=3, contexts=4, tabular=True, seed=5)
    theta = random_unit_vectors((7, 12), torch.Generator().manual_seed(3)) * 3
    assert torch.allclose(metrics.feature_coverage(random, theta),
                          metrics.coverage_coefficient(random, theta), rtol=1e-7)


def test_shared_feature_limit_matches_evaluation():
    shared = coverage_law.shared_feature()
    at = {shared.share: sp.Rational(1, 3), shared.p: sp.Rational(1, 10**9)}
    assert float(shared.kappa_phi.subs(at)) == pytest.approx(
        float(shared.limit.subs(shared.share, sp.Rational(1, 3))), rel=1e-6)
    assert float(shared.kappa_0.subs(at)) == 1e9


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_feature_coverage_never_exceeds_coverage_and_is_bounded_by_kappa_sigma(seed):
    """kappa_phi <= kappa_0 (one prompt's pairs are part of H); kappa_phi - 1 <=
    2 rho kappa_Sigma v' H_*^{-1} v (H_0^{-1} <= kappa_Sigma H_*^{-1}); and
    kappa_0 <= kappa / pi*(y*) (kappa bounds every ratio)."""
    p = make_problem(d=6, K=5, contexts=10, signal=4.0, seed=seed)
    g = torch.Generator().manual_seed(seed)
    theta = p.theta_star + torch.linspace(0.5, 8, 40, dtype=DTYPE)[:, None] * \
        random_unit_vectors((40, 6), g)
    best = metrics.best_responses(p)
    kappa0 = metrics.coverage_coefficient(p, theta, best)
    kphi = metrics.feature_coverage(p, theta, best)
    assert (kphi <= kappa0 * (1 + 1e-9)).all() and (kphi >= 1).all()
    probs = p.log_probs(theta).exp()
    v = p.features[torch.arange(10), best] - torch.einsum("sck,ckd->scd", probs, p.features)
    h_star_inv = torch.linalg.inv(metrics.pair_covariance(p, p.theta_star))
    target_leverage = torch.einsum("scd,de,sce->sc", v, h_star_inv, v)
    kappa_sigma = metrics.feature_condition_number(p, theta)
    bound = 1 + 2 * p.context_probs * kappa_sigma[:, None] * target_leverage
    assert (kphi <= bound * (1 + 1e-9)).all()
    star_mass = 1 / metrics.coverage_coefficient(p, p.theta_star, best)
    assert (kappa0 <= metrics.condition_number(p, theta)[:, None] / star_mass + 1e-9).all()


@pytest.mark.parametrize("alpha", [0.5, 0.75])
def test_population_threshold_matches_the_population_update(alpha):
    """T population rounds of the package's update (tabular, reference pi_0) against the
    closed-form log-odds and the threshold kappa_max."""
    target = 0.9
    pop = coverage_law.population_threshold()
    for kappa in (4.0, 9.0, 11.0, 64.0):
        p = tabular_problem(contexts=2, K=4, kappa=kappa, target=target)
        theta = p.theta_ref[None].clone()
        for T in (1, 2, 3):
            theta = population_update(p, theta, alpha, lam=1e-12, theta_reference=p.theta_ref)
            mass = float(torch.softmax(p.logits(theta)[0, 0], -1)[0])
            assert mass == pytest.approx(coverage_law.population_mass(alpha, T, kappa, target),
                                         abs=1e-6)
            log_odds = float(pop.log_odds_t.subs({coverage_law.alpha: alpha, coverage_law.T: T,
                                                  coverage_law.kappa0: kappa,
                                                  coverage_law.odds_star: target / (1 - target)}))
            assert math.log(mass / (1 - mass)) == pytest.approx(log_odds, abs=1e-5)
            assert (mass >= 0.5) == (kappa <= coverage_law.kappa_max(alpha, T, target))
    assert coverage_law.kappa_max(0.5, 1, target) == pytest.approx(10.0)
    assert pop.kappa_max_limit == sp.oo
    assert math.isinf(coverage_law.kappa_max(1.0, 1, target))


def test_latex_statements_render():
    tex = coverage_law.latex_statements()
    assert set(tex) == {"cov_miss", "cov_miss_n", "cov_pairs", "cov_unseen", "cov_leverage",
                        "cov_shared", "cov_threshold"}
    assert r"\kappa_0(x)-1" in tex["cov_leverage"]
    assert tex["cov_threshold"].endswith(r"O_{\star}^{\frac{\alpha}{1 - \alpha}} + 1")


def test_custom_problem_is_a_linear_softmax_problem():
    p = tabular_problem(contexts=3, K=5, kappa=20.0, target=0.8)
    assert isinstance(p, LinearSoftmaxProblem)
    star = torch.softmax(p.logits(p.theta_star), -1)[:, 0]
    assert torch.allclose(star, torch.full((3,), 0.8, dtype=DTYPE))
