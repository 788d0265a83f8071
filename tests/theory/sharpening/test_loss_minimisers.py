"""Every loss has the same population minimiser; margins widen by s_T; ties stay ties."""

import sympy as sp

from srlm_core.theory.sharpening import loss_minimisers as L


def test_every_pair_loss_is_minimised_at_the_reward_gap():
    assert L.pair_minimisers() == {"squared": L.d, "logistic_soft": L.d, "logistic_bt": L.d}
    for name, curvature in L.pair_curvatures().items():
        for value in (-3, 0, 2):
            assert curvature.subs(L.m, value) > 0, name


def test_bradley_terry_loss_averages_to_the_soft_loss():
    losses = L.pair_losses()
    assert sp.simplify(losses["logistic_bt"] - losses["logistic_soft"]) == 0


def test_population_step_is_sharpening():
    assert sp.simplify(L.population_log_ratio() - (1 + 1 / L.beta) * L.d) == 0


def test_gap_recursion_and_its_solution():
    margins = L.gap_after_rounds()
    assert sp.simplify(margins.recursion - (1 + 1 / L.beta) * L.g_t) == 0
    assert sp.simplify(margins.solution - L.g0 * (1 + 1 / L.beta) ** L.t) == 0
    example = {L.t: 3, L.beta: 1, L.g0: sp.Rational(1, 10)}
    assert margins.solution.subs(example) == sp.Rational(8, 10)
    assert margins.solution.subs(L.g0, 0) == 0  # a tie stays a tie
    assert sp.simplify(L.population_margin() - L.gamma0 * (1 + 1 / L.beta) ** L.T) == 0


def test_tied_responses_never_exceed_one_half():
    confidence, limit = L.tie_confidence(others=2)
    assert limit == sp.Rational(1, 2)
    values = {L.beta: 1, sp.Symbol("Delta_1", positive=True): sp.Rational(1, 2),
              sp.Symbol("Delta_2", positive=True): 2}
    for rounds in (1, 3, 6):
        assert confidence.subs(values).subs(L.T, rounds) < sp.Rational(1, 2)
