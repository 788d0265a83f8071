r"""Theorem 4.1's hard instance (Appendix D of Fu et al.; the construction of Huang et al.'s
Theorem 3.1).

Prompts :math:`x_0,x_1,\dots,x_d` with :math:`\mathcal D=(1-\epsilon)\delta_{x_0}+
\frac{\epsilon}{d}\sum_i\delta_{x_i}`.  At :math:`x_0` every policy is a point mass on one
response (here response 0).  At :math:`x_i` the base model :math:`P_{v_i}` is near-uniform over
:math:`M` responses with a bump at a hidden :math:`v_i`:
:math:`P_{v}(v)=\frac{1}{(1-\gamma)M}` and every other response gets
:math:`\frac{1}{M}\big(1-\frac{\gamma}{(M-1)(1-\gamma)}\big)` (with :math:`\gamma=\tfrac12`:
:math:`2/M` against about :math:`1/M`).  The class of base models is
:math:`\{\pi_v: v\in[M]^d\}`, so :math:`\log|\Pi|=d\log M`, and every member has
:math:`\kappa=(1-\epsilon)+\epsilon M(1-\gamma)`.

Policies on the instance are tables of shape ``(d + 1, M)``; row 0 is :math:`x_0`.  A pair
drawn at :math:`x_0` is always :math:`(y_0,y_0)` under every policy the learners produce and
carries no information, so only the number of such pairs is drawn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class HardInstance:
    """``d`` informative prompts, ``M`` responses each, their total mass ``epsilon`` and the
    bump parameter ``gamma`` (the bump is :math:`1/((1-\\gamma)M)`)."""

    d: int
    M: int
    epsilon: float
    gamma: float = 0.5

    def __post_init__(self):
        if not (self.d >= 1 and self.M >= 2 and 0 < self.epsilon <= 1
                and 0 <= self.gamma < 1 and self.bump_mass <= 1):
            raise ValueError(f"not a hard instance: {self}")

    @property
    def bump_mass(self) -> float:
        r""":math:`P_v(v)=1/((1-\gamma)M)`."""
        return 1.0 / ((1.0 - self.gamma) * self.M)

    @property
    def other_mass(self) -> float:
        r"""The mass of each of the :math:`M-1` other responses, :math:`(1-P_v(v))/(M-1)`."""
        return (1.0 - self.bump_mass) / (self.M - 1)

    @property
    def weights(self) -> np.ndarray:
        r"""The prompt distribution :math:`\mathcal D` over :math:`x_0,\dots,x_d`."""
        return np.concatenate([[1.0 - self.epsilon], np.full(self.d, self.epsilon / self.d)])

    @property
    def kappa0(self) -> float:
        r""":math:`\kappa(\pi_v)=(1-\epsilon)+\epsilon/P_v(v)`, the same for every member."""
        return (1.0 - self.epsilon) + self.epsilon / self.bump_mass

    @property
    def log_class_size(self) -> float:
        r""":math:`\log|\Pi|=d\log M` for the base models :math:`\{\pi_v\}`."""
        return self.d * float(np.log(self.M))

    @property
    def log_ratio(self) -> float:
        r""":math:`\lambda=\log(P_v(v)/P_v(y))`, :math:`y\ne v`: the bump's log-odds."""
        return float(np.log(self.bump_mass / self.other_mass))

    def draw_bumps(self, rng: np.random.Generator) -> np.ndarray:
        """The hidden :math:`v\\in[M]^d`, uniform."""
        return rng.integers(self.M, size=self.d)

    def log_policy(self, bumps: np.ndarray, exponent: float = 1.0) -> np.ndarray:
        r"""The log-table of :math:`\pi_v^s\propto P_v^s` (``exponent`` :math:`s`; :math:`s=1`
        is the base model :math:`\pi_v`): row 0 the point mass at :math:`x_0`."""
        informative = np.full((self.d, self.M), -np.log1p((self.M - 1)
                                                          * np.exp(-exponent * self.log_ratio)))
        informative -= exponent * self.log_ratio
        informative[np.arange(self.d), bumps] += exponent * self.log_ratio
        point = np.full((1, self.M), -np.inf)
        point[0, 0] = 0.0
        return np.vstack([point, informative])

    def policy(self, bumps: np.ndarray, exponent: float = 1.0) -> np.ndarray:
        """:meth:`log_policy` as probabilities."""
        return np.exp(self.log_policy(bumps, exponent))


def sample_pairs(probs: np.ndarray, weights: np.ndarray, n: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""``n`` i.i.d. pairs :math:`x\sim\mathcal D`, :math:`y,y'\sim\pi(\cdot\mid x)` on a table
    whose row 0 is the point mass :math:`x_0`: returns (prompt, y, y') of the pairs at the
    informative prompts (rows ``1..d``), prompts in ascending order."""
    counts = rng.multinomial(n, weights)[1:]
    prompts = np.repeat(np.arange(1, len(weights)), counts)
    cdf = np.cumsum(probs, axis=-1)
    cdf[:, -1] = 1.0
    # inverse CDF for every row at once: row j's CDF shifted to [j, j + 1]
    shifted = (cdf + np.arange(len(cdf))[:, None]).ravel()
    u = rng.random((2, len(prompts))) + prompts
    draws = np.searchsorted(shifted, u, side="right") - prompts * probs.shape[1]
    return prompts, np.minimum(draws[0], probs.shape[1] - 1), np.minimum(draws[1],
                                                                         probs.shape[1] - 1)
