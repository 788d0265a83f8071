r"""Small autoregressive models for Proposition 4.3 (greedy decoding) and Huang et al.'s
Proposition 3.1, with every sequence's probability by enumeration.

A model over a vocabulary of :math:`V` tokens with horizon :math:`H` is a tuple of next-token
tables: ``tables[h]`` has shape :math:`(V,)^{h}\times(V,)` and ``tables[h][prefix]`` is
:math:`\pi_{h+1}(\cdot\mid\text{prefix})`.  The sequence probabilities
:math:`\pi(y)=\prod_h\pi_h(y_h\mid y_{<h})` form an array of shape :math:`(V,)^H`.

Proposition 4.3's construction (Appendix E): :math:`y^\star=(a,\dots,a)`; at the first step
:math:`\pi_1(a)=p`, a trap token :math:`b` gets :math:`p+\eta`, and the other :math:`V-2`
tokens share the rest, each below :math:`p+\eta`; after :math:`a` the model repeats :math:`a`
with probability 1, so :math:`\pi(y^\star)=p`; after any other first token it is uniform, so
every such sequence has probability at most :math:`(p+\eta)/V^{H-1}`.  Greedy decoding takes
:math:`b` first and can never reach :math:`y^\star`.  Huang et al.'s converse: greedy returns
the mode whenever :math:`\max_y\pi(y)>\tfrac12`.
"""

from __future__ import annotations

import itertools

import numpy as np

#: the tokens of the construction: the answer's token a and the trap b
ANSWER, TRAP = 0, 1


def sequence_probs(tables: tuple[np.ndarray, ...]) -> np.ndarray:
    r"""Every sequence's probability :math:`\pi(y)`, an array of shape :math:`(V,)^H`."""
    joint = tables[0]
    for table in tables[1:]:
        joint = joint[..., None] * table
    return joint


def mode(tables: tuple[np.ndarray, ...]) -> tuple[int, ...]:
    """The most likely sequence (the first in lexicographic order on ties)."""
    joint = sequence_probs(tables)
    return tuple(int(i) for i in np.unravel_index(np.argmax(joint), joint.shape))


def greedy(tables: tuple[np.ndarray, ...]) -> tuple[int, ...]:
    r"""Greedy decoding :math:`\hat y_h=\arg\max\pi_h(\cdot\mid\hat y_{<h})` (the first token
    on ties)."""
    prefix: tuple[int, ...] = ()
    for table in tables:
        prefix += (int(np.argmax(table[prefix])),)
    return prefix


def trap(p: float, eta: float, horizon: int, vocab: int = 3) -> tuple[np.ndarray, ...]:
    r"""Proposition 4.3's construction (module docstring); raises ``ValueError`` unless its
    conditions hold: :math:`\eta>0`, :math:`2p+\eta\le1` (with :math:`V=2`, :math:`=1`),
    :math:`p+\eta<pV^{H-1}` (every :math:`b`-sequence below :math:`p`) and
    :math:`(1-2p-\eta)/(V-2)<\min(p+\eta, pV^{H-1})` (greedy's first token is :math:`b`, and
    every other sequence is below :math:`p`)."""
    rest = 1.0 - 2 * p - eta
    spread = vocab ** (horizon - 1)
    ok = (eta > 0 and p > 0 and rest >= 0 and (vocab > 2 or rest == 0) and horizon >= 2
          and p + eta < p * spread
          and (vocab == 2 or rest / (vocab - 2) < min(p + eta, p * spread)))
    if not ok:
        raise ValueError(f"no Proposition 4.3 construction with p={p}, eta={eta}, "
                         f"H={horizon}, V={vocab}")
    first = np.full(vocab, rest / max(vocab - 2, 1))
    first[ANSWER], first[TRAP] = p, p + eta
    tables = [first]
    for h in range(1, horizon):
        table = np.full((vocab,) * h + (vocab,), 1.0 / vocab)
        repeat = np.zeros(vocab)
        repeat[ANSWER] = 1.0
        table[(ANSWER,) * h] = repeat
        tables.append(table)
    return tuple(tables)


def random_model(vocab: int, horizon: int, concentration: float,
                 rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    r"""Next-token tables drawn i.i.d. from a symmetric Dirichlet(``concentration``)."""
    return tuple(rng.dirichlet(np.full(vocab, concentration), size=(vocab,) * h)
                 for h in range(horizon))


def all_sequences(vocab: int, horizon: int) -> list[tuple[int, ...]]:
    """Every sequence, in the order of :func:`sequence_probs` flattened."""
    return list(itertools.product(range(vocab), repeat=horizon))
