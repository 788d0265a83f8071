r"""The test problems of the paper's tabular setting: "graded near-uniform" base models.

Every prompt has its own scores :math:`z(x,\cdot)\sim N(0,I_K)` and
:math:`\pi_0(\cdot\mid x)=\mathrm{softmax}(\tau z(x,\cdot))`: the temperature :math:`\tau` sets
the condition number :math:`\kappa_0` (near :math:`K` as :math:`\tau\to0`, near 1 as
:math:`\tau\to\infty`), and the modes are unique with probability one."""

from __future__ import annotations

import numpy as np
from scipy.special import softmax


def graded_near_uniform(prompts: int, responses: int, temperature: float,
                        rng: np.random.Generator) -> np.ndarray:
    r""":math:`\pi_0=\mathrm{softmax}(\tau z)` with :math:`z\sim N(0,I)` per prompt: array
    (prompts, responses)."""
    return softmax(temperature * rng.standard_normal((prompts, responses)), axis=-1)
