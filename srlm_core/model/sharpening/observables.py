r"""What the paper measures of a policy table ``probs`` (prompts x responses, rows sum to 1).

* the policy condition number :math:`\kappa(\pi)=\mathbb E_x[1/\max_y\pi(y\mid x)]` (Eq. 5; Huang
  et al.'s coverage coefficient :math:`C_{\mathrm{cov}}`);
* Theorem 5.3's failure event, low confidence in the policy's *own* mode,
  :math:`F_{\mathrm{own}}=\mathbb P_x[\max_y\pi(y\mid x)\le\tfrac12]`;
* Theorem 4.1's failure event, little mass on the *base* model's mode,
  :math:`F_{\mathrm{base}}=\mathbb P_x[\pi(y^{\pi_0}(x)\mid x)\le\tfrac12]`;
* the constants of Definition 5.2: the minimum confidence :math:`c=\min_x\max_y\pi` and the
  margin :math:`\gamma=\min_x(\log\pi(y^\star)-\max_{y\ne y^\star}\log\pi(y))`.

Every function takes an optional ``weights`` over prompts (the prompt distribution
:math:`\mathcal D`); without it prompts are equally likely.
"""

from __future__ import annotations

import numpy as np

#: The confidence threshold of both failure events: the paper's :math:`1-\delta` at
#: :math:`\delta=\tfrac12`.
HALF = 0.5


def _mean(values: np.ndarray, weights: np.ndarray | None):
    """The mean over prompts (the last axis), weighted by the prompt distribution."""
    return np.average(values, weights=weights, axis=-1)


def modes(probs: np.ndarray) -> np.ndarray:
    """The mode :math:`y^\\pi(x)=\\arg\\max_y\\pi(y\\mid x)` of every prompt (the first on ties)."""
    return np.argmax(probs, axis=-1)


def kappa(probs: np.ndarray, weights: np.ndarray | None = None):
    r"""The policy condition number :math:`\kappa(\pi)=\mathbb E_x[1/\max_y\pi(y\mid x)]`
    (Eq. 5)."""
    return _mean(1.0 / probs.max(axis=-1), weights)


def failure_own(probs: np.ndarray, weights: np.ndarray | None = None):
    r"""Theorem 5.3's event :math:`\mathbb P_x[\max_y\pi(y\mid x)\le\tfrac12]`."""
    return _mean((probs.max(axis=-1) <= HALF).astype(float), weights)


def failure_base(probs: np.ndarray, base_modes: np.ndarray, weights: np.ndarray | None = None):
    r"""Theorem 4.1's event :math:`\mathbb P_x[\pi(y^{\pi_0}(x)\mid x)\le\tfrac12]`, with
    ``base_modes`` the modes of :math:`\pi_0` (:func:`modes`)."""
    mass = np.take_along_axis(probs, base_modes[..., None], axis=-1)[..., 0]
    return _mean((mass <= HALF).astype(float), weights)


def mode_switches(probs: np.ndarray, base_modes: np.ndarray, weights: np.ndarray | None = None):
    r"""The share of prompts whose mode is no longer :math:`\pi_0`'s:
    :math:`\mathbb P_x[y^{\pi}(x)\ne y^{\pi_0}(x)]`."""
    return _mean((modes(probs) != base_modes).astype(float), weights)


def min_confidence(probs: np.ndarray):
    r"""Definition 5.2's :math:`c=\min_x\max_y\pi(y\mid x)` for one policy (take the minimum
    over rounds for the paper's constant)."""
    return probs.max(axis=-1).min(axis=-1)


def log_margin(probs: np.ndarray) -> np.ndarray:
    r"""Per prompt, :math:`\log\pi(y^\star)-\max_{y\ne y^\star}\log\pi(y)` with :math:`y^\star`
    the mode (0 on a tie, :math:`+\infty` when the runner-up has no mass)."""
    top2 = np.sort(probs, axis=-1)[..., -2:]
    with np.errstate(divide="ignore"):
        return np.log(top2[..., 1]) - np.log(top2[..., 0])


def margin(probs: np.ndarray):
    r"""Definition 5.2's :math:`\gamma=\min_x(\log\pi(y^\star)-\max_{y\ne y^\star}\log\pi(y))`
    for one policy (take the minimum over rounds for the paper's constant)."""
    return log_margin(probs).min(axis=-1)


def summary(probs: np.ndarray, base_modes: np.ndarray,
            weights: np.ndarray | None = None) -> dict[str, float]:
    """Every observable above for one policy, as plain floats (a record's row)."""
    return {"kappa": float(kappa(probs, weights)),
            "failure_own": float(failure_own(probs, weights)),
            "failure_base": float(failure_base(probs, base_modes, weights)),
            "mode_switches": float(mode_switches(probs, base_modes, weights)),
            "c": float(min_confidence(probs)), "gamma": float(margin(probs))}
