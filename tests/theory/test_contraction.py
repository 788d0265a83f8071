"""S1: the SymPy derivation of the contraction and of the moving-reference contrast."""

import sympy as sp

from srlm_core.theory import contraction as c


def test_gibbs_policy_is_the_kl_regularised_optimum():
    solution, gibbs = c.gibbs_policy(K=3)
    assert all(sp.simplify(a - b) == 0 for a, b in zip(solution, gibbs, strict=True))


def test_judge_margin_is_linear_in_the_feature_difference():
    margin, closed_form = c.judge_margin(d=3)
    assert sp.simplify(margin - closed_form) == 0
    assert not margin.has(sp.Symbol("log_Z_t", real=True))  # normalisers cancel


def test_population_gradient_vanishes_at_the_judge_direction():
    gradient, at_v = c.population_gradient(d=3)
    assert gradient.subs(at_v) == sp.zeros(3, 1)
    assert gradient != sp.zeros(3, 1)


def test_population_hessian_closed_form():
    hessian, closed_form = c.population_hessian(d=2)
    difference = (hessian - closed_form).applyfunc(lambda e: sp.simplify(e.rewrite(sp.exp)))
    assert difference == sp.zeros(2, 2)


def test_contraction_factor_is_one_minus_alpha():
    result = c.contraction()
    assert sp.simplify(result.factor - (1 - c.alpha)) == 0


def test_unrolled_error_is_geometric():
    assert sp.simplify(c.unrolled_error() - c.e0 * (1 - c.alpha) ** c.t) == 0


def test_log_policy_recursion_holds_up_to_a_prompt_constant():
    assert c.log_policy_recursion(K=3) == 0


def test_moving_reference_grows_by_two_minus_alpha():
    m = c.moving_reference()
    assert sp.simplify(m.growth - (2 - c.alpha)) == 0
    w, D0 = sp.symbols("w^* D_0", real=True)
    # the closed form satisfies the recursion and the initial condition
    D = m.solution
    assert sp.simplify(D.subs(c.t, c.t + 1) - ((2 - c.alpha) * D + c.alpha * w)) == 0
    assert sp.simplify(D.subs(c.t, 0) - D0) == 0
    assert sp.expand(m.solution_alpha_one - (D0 + c.t * w)) == 0
