r"""The finite class of Theorem 4.1's hard instance, with sharpened members, and the ERM of
Eq. 3 over it by consistency.

Members :math:`\pi_v^s\propto P_v^s` for :math:`v\in[M]^d` and :math:`s` in a fixed tuple of
exponents (with :math:`s=1` the base models :math:`\pi_v`; the round-:math:`t` targets
:math:`\pi_{t+1}\propto\pi_t^{1+1/\beta}` are members when the exponents are
:math:`(1+1/\beta)^t`: realizability, Assumption 5.1).  :math:`\log|\Pi|=d\log M+\log|S|`.

**The loss per prompt.**  For a member the log-odds of a pair is
:math:`s\lambda([y=v]-[y'=v])` with :math:`\lambda` the bump's log-odds, so a pair with
:math:`\Delta\ell=\ell_t(y)-\ell_t(y')` costs :math:`(\beta s\lambda([y=v]-[y'=v])-(1+\beta)
\Delta\ell)^2`.  Summed over a prompt's pairs this is
:math:`S_0-2\beta s\lambda B_v+(\beta s\lambda)^2N_v` with :math:`S_0=\sum b^2`,
:math:`B_v=\sum b([y=v]-[y'=v])`, :math:`N_v=\sum([y=v]-[y'=v])^2` and :math:`b=(1+\beta)
\Delta\ell`: every candidate of every prompt at once, without enumerating :math:`M^d` members.

**ERM and its tie-break.**  The class factorises over prompts given :math:`s`: the minimal
loss is :math:`\min_s\sum_i\min_v L_i(v,s)`.  Among all minimisers (up to a relative tolerance
of ``TOL``) the ERM picks one **uniformly at random**: :math:`s` with probability proportional
to its number of minimisers :math:`\prod_i|\arg\min_vL_i(v,s)|`, then each :math:`v_i`
uniformly among its prompt's minimisers.  When the bump of a prompt is in no informative pair,
every response not in such a pair is consistent, and the tie-break usually picks a wrong one.
A learner that knows its own current member may instead break ties towards it (``prefer``):
it then keeps what it has whenever the sample does not contradict it.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from srlm_core.model.sharpening.hard_instance import HardInstance

#: relative tolerance under which two losses count as tied
TOL = 1e-9


def exponents(beta: float, rounds: int) -> tuple[float, ...]:
    r"""The class's exponents :math:`(1+1/\beta)^t`, :math:`t=0..T`: every population target
    of a :math:`T`-round loop from a base model is a member."""
    return tuple((1.0 + 1.0 / beta) ** t for t in range(rounds + 1))


def log_class_size(instance: HardInstance, powers: tuple[float, ...]) -> float:
    r""":math:`\log|\Pi|=d\log M+\log|S|`."""
    return instance.log_class_size + float(np.log(len(powers)))


def losses(instance: HardInstance, log_probs: np.ndarray, prompts: np.ndarray,
           first: np.ndarray, second: np.ndarray, beta: float,
           powers: tuple[float, ...]) -> np.ndarray:
    r"""Eq. 3's loss of every member, per prompt: array ``(len(powers), d, M)`` with entry
    :math:`L_i(v,s)` (module docstring); :math:`\log\pi_t` = ``log_probs`` ``(d + 1, M)``."""
    d, M = instance.d, instance.M
    b = (1.0 + beta) * (log_probs[prompts, first] - log_probs[prompts, second])
    informative = first != second
    flat_first = (prompts - 1) * M + first
    flat_second = (prompts - 1) * M + second
    B = (np.bincount(flat_first, b, d * M) - np.bincount(flat_second, b, d * M)).reshape(d, M)
    N = (np.bincount(flat_first[informative], minlength=d * M)
         + np.bincount(flat_second[informative], minlength=d * M)).reshape(d, M)
    S0 = np.bincount(prompts - 1, b**2, d)
    scale = beta * instance.log_ratio * np.asarray(powers)[:, None, None]
    return S0[None, :, None] - 2 * scale * B[None] + scale**2 * N[None]


def erm(instance: HardInstance, log_probs: np.ndarray, prompts: np.ndarray, first: np.ndarray,
        second: np.ndarray, beta: float, powers: tuple[float, ...], rng: np.random.Generator,
        prefer: tuple[np.ndarray, float] | None = None) -> tuple[np.ndarray, float]:
    r"""The ERM of Eq. 3 over the class with its uniform tie-break (module docstring): the
    chosen bumps :math:`\hat v` and exponent :math:`\hat s`.  With ``prefer`` = (bumps,
    exponent), ties go to that exponent and, per prompt, to that bump wherever they are among
    the minimisers (a learner that knows its own current member); the rest stays uniform."""
    loss = losses(instance, log_probs, prompts, first, second, beta, powers)
    best = loss.min(axis=-1, keepdims=True)
    tied = loss <= best + TOL * (1.0 + np.abs(best))  # (S, d, M)
    total = best[..., 0].sum(axis=-1)
    candidates = np.flatnonzero(total <= total.min() + TOL * (1.0 + abs(total.min())))
    preferred = [k for k in candidates if prefer is not None and np.isclose(powers[k], prefer[1])]
    if preferred:
        chosen = preferred[0]
    else:
        log_counts = np.log(tied[candidates].sum(axis=-1)).sum(axis=-1)
        chosen = candidates[rng.choice(len(candidates),
                                       p=np.exp(log_counts - logsumexp(log_counts)))]
    keys = np.where(tied[chosen], rng.random(tied[chosen].shape), -1.0)
    if prefer is not None:
        keys[np.arange(instance.d), prefer[0]] += 2.0 * tied[chosen, np.arange(instance.d),
                                                              prefer[0]]
    return keys.argmax(axis=-1), float(powers[chosen])
