"""S1: the SymPy derivation of the contraction and of the moving-reference contrast."""

import sympy as sp

from srlm_core.theory import contraction_law


def test_gibbs_policy_is_the_kl_regularised_optimum():
    solution, gibbs = contraction_law.gibbs_policy(K=3)
    assert all(sp.simplify(a - b) == 0 for a, b in zip(solution, gibbs, strict=True))


def test_judge_margin_is_linear_in_the_feature_difference():
    margin, closed_form = contraction_law.judge_margin(d=3)
    assert sp.simplify(margin - closed_form) == 0
    assert not margin.has(sp.Symbol("log_Z_t", real=True))  # normalisers cancel


def test_population_gradient_vanishes_at_the_judge_direction():
    gradient, at_v = contraction_law.population_gradient(d=3)
    assert gradient.subs(at_v) == sp.zeros(3, 1)
    assert gradient != sp.zeros(3, 1)


def test_population_hessian_closed_form():
    hessian, closed_form = contraction_law.population_hessian(d=2)
    difference = (hessian - closed_form).applyfunc(lambda e: sp.simplify(e.rewrite(sp.exp)))
    assert difference == sp.zeros(2, 2)


def test_contraction_factor_is_one_minus_alpha():
    result = contraction_law.contraction()
    assert sp.simplify(result.factor - (1 - contraction_law.alpha)) == 0


def test_contraction_update_is_the_minimiser_of_the_population_loss():
    """contraction() writes its conclusion theta_{t+1} = theta_ref + v_t in; here theta_{t+1} is
    found from the loss instead: with numbers for alpha, beta, w*, theta_t, theta_ref and three
    weighted pair directions spanning R^2, the stationary point of the soft-label DPO loss
    sum_i w_i [-p_i log sigma(beta u . D_i) - (1 - p_i) log sigma(-beta u . D_i)], with the
    self-judge's label p_i = sigma(r_t(y) - r_t(y')) written from the judge's definition, is
    solved numerically and theta_ref + u compared with contraction().update coordinate-wise."""
    a, b = sp.Rational(3, 10), sp.Rational(17, 10)
    w = sp.Matrix([sp.Rational(4, 5), sp.Rational(-2, 5)])
    theta_t = sp.Matrix([sp.Rational(3, 2), sp.Rational(1, 5)])
    theta_ref = sp.Matrix([sp.Rational(1, 10), sp.Rational(-3, 10)])
    directions = [sp.Matrix([1, 0]), sp.Matrix([0, 1]), sp.Matrix([1, -1])]
    weights = [sp.Rational(1, 5), sp.Rational(3, 10), sp.Rational(1, 2)]
    u = sp.Matrix(sp.symbols("u_1:3", real=True))

    def sigma(z):
        return 1 / (1 + sp.exp(-z))

    loss = 0
    for weight, delta in zip(weights, directions, strict=True):
        # r_t(y) - r_t(y'): alpha beta w* . D + (1 - alpha) beta (log pi_t - log pi_ref) margin
        margin = a * b * (w.T * delta)[0] + (1 - a) * b * ((theta_t - theta_ref).T * delta)[0]
        s = b * (u.T * delta)[0]
        label = sigma(margin)
        loss += weight * (-label * sp.log(sigma(s)) - (1 - label) * sp.log(sigma(-s)))
    gradient = [sp.diff(loss, ui) for ui in u]
    solution = sp.nsolve(gradient, list(u), [0, 0], tol=1e-20, prec=30)
    theta_next = theta_ref + sp.Matrix(solution)
    update = contraction_law.contraction().update
    symbols = {s.name: s for s in update.free_symbols}
    for j in range(2):
        predicted = update.subs({symbols["theta_t"]: theta_t[j], symbols["theta_ref"]: theta_ref[j],
                                 symbols["w^*"]: w[j], contraction_law.alpha: a})
        assert abs(float(theta_next[j] - (theta_ref[j] + w[j])) - float(predicted)) < 1e-12


def test_unrolled_error_is_geometric():
    e0, alpha, t = contraction_law.e0, contraction_law.alpha, contraction_law.t
    assert sp.simplify(contraction_law.unrolled_error() - e0 * (1 - alpha) ** t) == 0


def test_log_policy_recursion_holds_up_to_a_prompt_constant():
    assert contraction_law.log_policy_recursion(K=3) == 0


def test_moving_reference_grows_by_two_minus_alpha():
    m = contraction_law.moving_reference()
    assert sp.simplify(m.growth - (2 - contraction_law.alpha)) == 0
    w, D0 = sp.symbols("w^* D_0", real=True)
    # the closed form satisfies the recursion and the initial condition
    D = m.solution
    t, alpha = contraction_law.t, contraction_law.alpha
    assert sp.simplify(D.subs(t, t + 1) - ((2 - alpha) * D + alpha * w)) == 0
    assert sp.simplify(D.subs(contraction_law.t, 0) - D0) == 0
    assert sp.expand(m.solution_alpha_one - (D0 + contraction_law.t * w)) == 0
