r"""Proposition 4.3 in SymPy: the conditions of the greedy-decoding construction and what they
imply.

:math:`y^\star=(a,\dots,a)` has :math:`\pi(y^\star)=p\cdot1^{H-1}=p`; the trap :math:`b` has
:math:`\pi_1(b)=p+\eta`; after :math:`b` the model is uniform over :math:`V` tokens, so every
:math:`b`-sequence has probability :math:`(p+\eta)/V^{H-1}`, below :math:`p` exactly when
:math:`\eta<p(V^{H-1}-1)`.  The first-step masses need :math:`2p+\eta\le1` and :math:`\eta>0`,
hence :math:`p\le(1-\eta)/2<\tfrac12`: the construction exists only strictly below one half.
At :math:`\pi(y^\star)=\tfrac12` greedy can fail only through a tie, which is Huang et al.'s
converse seen from the other side.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

p, eta, V, H = sp.symbols("p eta V H", positive=True)


@dataclass(frozen=True)
class Construction:
    """The construction's probabilities and conditions."""

    answer: sp.Expr  # pi(y*)
    trap_path: sp.Expr  # the probability of every b-sequence
    trap_condition: sp.Expr  # b-sequences below p, solved for eta
    largest_p: sp.Expr  # the largest p that 2p + eta <= 1 allows
    gap_to_half: sp.Expr  # largest_p - 1/2


def construction() -> Construction:
    r""":math:`\pi(y^\star)`, the :math:`b`-sequence probability, the condition that it stays
    below :math:`p` as a bound on :math:`\eta`, the largest :math:`p` with
    :math:`2p+\eta\le1` and its distance to :math:`\tfrac12` (negative for every
    :math:`\eta>0`)."""
    h = sp.Symbol("h", integer=True)
    answer = p * sp.Product(1, (h, 2, H)).doit()  # a, then H - 1 certain repeats
    trap_path = (p + eta) / V ** (H - 1)
    (bound,) = sp.solve(sp.Eq(trap_path, p), eta)
    readable = p * (V ** (H - 1) - 1)
    assert sp.simplify(bound - readable) == 0  # the same bound, written as it reads
    largest = sp.solve(sp.Eq(2 * p + eta, 1), p)[0]
    return Construction(answer, trap_path, sp.Lt(eta, readable), largest,
                        sp.simplify(largest - sp.Rational(1, 2)))
