"""Proposition 4.3's construction in SymPy."""

import sympy as sp

from srlm_core.model.sharpening import autoregressive as ar
from srlm_core.theory.sharpening import greedy_decoding as g


def test_construction_conditions():
    c = g.construction()
    assert c.answer == g.p
    assert sp.simplify(c.trap_path - (g.p + g.eta) / g.V ** (g.H - 1)) == 0
    assert sp.simplify(c.trap_condition.rhs - g.p * (g.V ** (g.H - 1) - 1)) == 0
    # below one half, strictly: p <= (1 - eta) / 2 and eta > 0
    assert c.largest_p == (1 - g.eta) / 2 and c.gap_to_half == -g.eta / 2
    assert sp.ask(sp.Q.negative(c.gap_to_half), sp.Q.positive(g.eta))


def test_the_model_meets_the_derived_condition_at_its_edge():
    # V = 2, H = 2: eta = 1 - 2p, and the condition eta < p (V^{H-1} - 1) = p needs p > 1/3
    condition = g.construction().trap_condition.subs({g.V: 2, g.H: 2})
    for p, built in ((0.35, True), (0.3, False)):
        assert bool(condition.subs({g.p: p, g.eta: 1 - 2 * p})) is built
        try:
            ar.trap(p, 1 - 2 * p, horizon=2, vocab=2)
        except ValueError:
            assert not built
        else:
            assert built
