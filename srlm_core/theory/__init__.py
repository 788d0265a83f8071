"""SymPy derivations of the statements S1-S5 of the book's model chapter, one module per
statement.

Every derivation returns SymPy expressions; the tests assert them and the chapters render
them (``sympy.latex``) through myst-nb glue, so the book shows what the tests check.

Where each model's derivations sit: those of the book's extension (a judge with a signal share
alpha, the statements S1-S5) here, at the top of the package; those of the paper's own setting
(log-likelihood self-reward, each round's reference the current policy, the squared-loss
sharpening update iterated) in the subpackage :mod:`srlm_core.theory.sharpening`.  The model
and the experiments follow the same layout (:mod:`srlm_core.model.sharpening`,
:mod:`srlm_core.experiments.sharpening`).
"""
