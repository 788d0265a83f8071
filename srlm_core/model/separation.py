r"""Existence of the finite-sample DPO estimate (the logistic MLE) with :math:`\lambda = 0`.

With :math:`\lambda = 0` the DPO step is a logistic regression without penalty, whose minimiser
exists and is unique iff the signed feature differences
:math:`a_i = (2 l_i - 1) \beta \Delta\phi_i` span :math:`\mathbb R^d` and no direction
:math:`u \ne 0` has :math:`a_i \cdot u \ge 0` for every pair (no complete or quasi-complete
separation; Albert and Anderson 1984).  We decide it with one linear programme per seed
(scipy's HiGHS): maximise :math:`\sum_i a_i \cdot u` subject to :math:`a_i \cdot u \ge 0` and
:math:`-1 \le u \le 1`; the optimum is positive exactly when the data are separated.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linprog


def mle_exists(dphi: torch.Tensor, label: torch.Tensor, tol: float = 1e-9) -> torch.Tensor:
    """For pairs dphi (S, n, d) with labels (S, n), a boolean (S,): does the MLE exist?"""
    signed = ((2.0 * label - 1.0).unsqueeze(-1) * dphi).cpu().numpy()
    out = []
    for a in signed:
        d = a.shape[-1]
        if np.linalg.matrix_rank(a) < d:
            out.append(False)
            continue
        lp = linprog(-a.sum(0), A_ub=-a, b_ub=np.zeros(len(a)), bounds=[(-1, 1)] * d,
                     method="highs")
        out.append(bool(lp.status == 0 and -lp.fun <= tol))
    return torch.tensor(out)
