"""SymPy derivations of the paper's own statements (log-probability self-reward, reference
:math:`\\pi_t`, squared-loss update): the population closed forms, the recursion of the
policy condition number, the greedy-decoding construction and the lower bound's shape.

As in :mod:`srlm_core.theory`, every derivation returns SymPy expressions that the tests
assert and the chapters render."""
