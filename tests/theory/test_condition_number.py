"""S3: the SymPy derivation of the policy condition number facts, and numeric checks."""

import sympy as sp
import torch

from srlm_core.model import metrics
from srlm_core.model.policy import make_problem, random_unit_vectors
from srlm_core.theory import condition_number as s3


def test_shifted_variance_identity():
    shifted, decomposed = s3.shifted_variance_identity(K=3)
    assert sp.expand(shifted - decomposed) == 0


def test_bernoulli_kappa_sigma_tight_against_kappa_loose_against_square():
    b = s3.bernoulli_ratio()
    assert b.tight_limit == 1
    assert sp.simplify(b.square_limit - 1 / sp.Symbol("c", positive=True)) == 0


def test_log_ratio_identity():
    lhs, rhs = s3.log_ratio_identity(K=3)
    assert sp.simplify(sp.exp(lhs) - sp.exp(rhs)) == 0


def test_healing_rounds():
    h = s3.healing()
    tau = h.rounds_to_epsilon
    point = {s3.alpha: sp.Rational(1, 2), s3.e0: 4, h.epsilon: sp.Rational(1, 10)}
    at_tau = h.log_kappa_bound.subs(s3.t, tau).subs(point)
    assert abs(float(at_tau) - float(sp.log(sp.Rational(11, 10)))) < 1e-12


def test_variance_inflation_bounds_ordered():
    vi = s3.variance_inflation_bounds()
    ratio = sp.simplify(vi.upper / vi.lower)
    d, s_min = sp.symbols("d s_min", positive=True)
    assert sp.simplify(ratio - d / (4 * s_min)) == 0
    # s_min <= 1/4, so the upper bound is at least d times the lower one
    assert float(vi.s_min_bound.subs({s3.beta: 1, sp.Symbol("u_1", positive=True): 0})) == 0.25


def test_numeric_kappa_sigma_below_kappa_and_log_kappa_below_span():
    p = make_problem(d=6, K=5, contexts=12, seed=3)
    g = torch.Generator().manual_seed(0)
    radii = torch.linspace(0.1, 6.0, 200, dtype=torch.float64)[:, None]
    theta = p.theta_star + radii * random_unit_vectors((200, 6), g)
    kappa = metrics.condition_number(p, theta)
    kappa_sigma = metrics.feature_condition_number(p, theta)
    span = metrics.log_ratio_span(p, theta)
    assert (kappa >= 1).all()
    assert (kappa_sigma <= kappa * (1 + 1e-9)).all()
    assert (kappa.log() <= span + 1e-9).all()
    assert (span <= 2 * (theta - p.theta_star).norm(dim=-1) + 1e-9).all()


def test_latex_statements_render_the_derived_expressions():
    tex = s3.latex_statements()
    assert set(tex) == {"s3_shift", "s3_bernoulli", "s3_logratio", "s3_heal", "s3_rounds",
                        "s3_inflation"}
    assert tex["s3_bernoulli"].endswith(r"\frac{\kappa_\Sigma}{\kappa^2} = \frac{1}{c}")
    assert tex["s3_heal"] == (r"\log\kappa(\pi_t)\le s_{0} \left(1 - \alpha\right)^{t}"
                              r"\le 2 e_{0} \left(1 - \alpha\right)^{t}")
    assert tex["s3_rounds"] == r"t_\epsilon = " + sp.latex(s3.healing().rounds_to_epsilon)
