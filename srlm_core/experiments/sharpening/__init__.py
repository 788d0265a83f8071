"""The experiments of the paper's own setting: log-likelihood self-reward
(:math:`r_t=\\log\\pi_t`), each round's reference the current policy :math:`\\pi_t`, the
squared-loss sharpening update iterated.  This subpackage mirrors
:mod:`srlm_core.model.sharpening` and :mod:`srlm_core.theory.sharpening`; the book's extension
(a judge with a signal share alpha) and the shared machinery (the experiment contract,
:func:`~srlm_core.experiments.names`, :func:`~srlm_core.experiments.load`, the tables of glue
names) sit in the parent package :mod:`srlm_core.experiments`.

Its modules keep the contract of :mod:`srlm_core.experiments` and their command-line names
(``srlm run sharpening-budget``, ``srlm run likelihood-self-reward``): the parent package finds
them here as it finds its own.
"""
