"""The kappa recursion of Lemma C.4 and Eq. 7 with constants 1 (Theorem 5.3, Corollary 5.7)."""

import sympy as sp

from srlm_core.theory.sharpening import kappa_recursion as kr


def test_fixed_point_rate_and_unrolled_bound():
    r = kr.recursion()
    assert sp.simplify(r.step.subs(kr.kappa, r.fixed_point) - r.fixed_point) == 0
    assert sp.simplify(r.rate - kr.b / (2 * sp.sqrt(r.fixed_point))) == 0
    # q < 1/2: sqrt(b^2 + 4a) > b for a > 0
    positive_form = 2 * kr.a / (kr.b + sp.sqrt(kr.b**2 + 4 * kr.a)) ** 2
    assert positive_form.is_positive
    assert sp.simplify(r.half_minus_rate - positive_form) == 0
    # concavity: f lies below its tangent at kappa_inf by b (sqrt k - sqrt k_inf)^2 / (2 sqrt k_inf)
    root = sp.sqrt(r.fixed_point)
    assert sp.simplify(r.tangent_gap - kr.b * (sp.sqrt(kr.kappa) - root) ** 2 / (2 * root)) == 0
    assert sp.simplify(r.bound.subs(kr.t, 0) - kr.kappa_0) == 0
    numbers = {kr.a: 1, kr.b: sp.Rational(1, 2), kr.kappa_0: 30}
    limit = sp.limit(r.bound.subs(numbers), kr.t, sp.oo)
    assert sp.simplify(limit - r.fixed_point.subs(numbers)) == 0


def test_the_bound_dominates_the_recursion_run_with_equality():
    r = kr.recursion()
    numbers = {kr.a: 2, kr.b: 1}
    kappa_t = 40.0
    for step in range(1, 8):
        kappa_t = float(r.step.subs(numbers).subs(kr.kappa, kappa_t))
        assert kappa_t <= float(r.bound.subs(numbers).subs({kr.kappa_0: 40, kr.t: step}))


def test_eq7_terms_meet_before_round_one_when_c_covers_round_zero():
    e = kr.eq7()
    meet = 1 + sp.log(kr.kappa_0 * kr.c) / sp.log(1 + sp.sqrt(kr.n * kr.c))
    assert sp.simplify(sp.expand_log(e.crossing - meet, force=True)) == 0
    assert e.transient_over_stable == sp.sqrt(kr.kappa_0 * kr.c)
    assert e.span == 1 + sp.sqrt(kr.kappa_0 * kr.c)
    # kappa_0 <= 1/c: the crossing is at or before T = 1 and T moves the bound by at most 2
    at = {kr.kappa_0: 20, kr.c: sp.Rational(1, 25), kr.n: 8}
    assert e.crossing.subs(at) < 1 and e.span.subs(at) <= 2
    assert float(e.threshold.subs(at)) > 1  # Corollary 5.7 still asks for rounds
    assert sp.limit(e.rhs.subs(at), kr.T, sp.oo) == e.stable.subs(at)
