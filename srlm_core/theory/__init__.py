"""SymPy derivations of the statements S1-S5 of the book's model chapter, one module per
statement.

Every derivation returns SymPy expressions; the tests assert them and the chapters render
them (``sympy.latex``) through myst-nb glue, so the book shows what the tests check.
"""
