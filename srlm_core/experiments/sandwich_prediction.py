r"""S5: the balanced-ridge DPO error, predicted by linearising at the population ridge solution.

The plain second-order prediction of :mod:`srlm_core.experiments.effective_dimension`
linearises the ridge estimator at :math:`\theta^\star`.  The ridge already shrinks the
population solution to :math:`u_\lambda = v e_1` with :math:`v < W`
(:meth:`srlm_core.model.spectral_features.SpectralDesign.population_ridge`), which shrinks
every pair's margin and raises the logistic curvature from :math:`\gamma` to :math:`h`.  The
M-estimation sandwich :math:`H^{-1}SH^{-1}/n`, with Hessian :math:`H = h\Sigma` and score
covariance :math:`S = s\Sigma` taken at :math:`u_\lambda`, predicts

.. math::

   \mathbb E\lVert\hat\theta_\lambda-\theta^\star\rVert_I^2 \approx \nu_1 (v - W)^2
   + \sum_{j\le d} \frac{\nu_j\, s\, \mu_j}{n (h\mu_j + \lambda)^2}

(:func:`srlm_core.experiments.effective_dimension.sandwich_risk`), evaluated here at the
balanced ridge :math:`\lambda^\star` in every dimension of the sweep.  The configuration is the
sweep's :class:`srlm_core.experiments.effective_dimension.Config`.
"""

from __future__ import annotations

import numpy as np

from srlm_core.experiments.effective_dimension import (
    Config,
    arms,
    balanced_lambda,
    ratio_span,
    sandwich_risk,
)


def run(config: Config) -> dict:
    r"""The sandwich prediction at :math:`\lambda^\star` for every d of the sweep ``config``,
    with the population ridge solution :math:`v` and the curvatures :math:`h` (there) and
    :math:`\gamma` (at :math:`\theta^\star`)."""
    config.validate()
    design = config.design()
    lam_star = balanced_lambda(config)
    v_star = design.population_ridge(lam_star)
    h_star, s_star = design.sandwich_coefficients(v_star)
    dims = config.dims()
    return {
        "d": dims,
        "sandwich": [sandwich_risk(config, d, lam_star) for d in dims],
        "lam_star": lam_star,
        "v_star": v_star,
        "h_star": h_star,
        "s_star": s_star,
        "curvature": design.curvature(),
    }


def summarise(values: dict, measured: dict) -> dict:
    r"""The chapter's numbers: :math:`v`, the rise :math:`100(h/\gamma - 1)` of the curvature
    in %, and, against the sweep's record ``measured`` (its values), the range of the measured
    balanced-ridge mean over the sandwich prediction and the number of dimensions whose 95%
    seed interval contains the prediction; the share of the plain prediction's gap to the
    measured mean (its distance from 1 as a ratio, averaged over d) that the sandwich
    closes, and the verdict word for it."""
    ridge, _ = arms(measured)
    if list(ridge.index) != list(values["d"]):
        raise ValueError(f"prediction for d = {values['d']}, record for d = {list(ridge.index)}")
    sandwich = np.asarray(values["sandwich"], dtype=float)
    mean = ridge["error_mean"].to_numpy()
    inside = (ridge["error_lo"].to_numpy() <= sandwich) & (sandwich <= ridge["error_hi"].to_numpy())
    plain_gap = np.abs(mean / ridge["prediction"].to_numpy() - 1).mean()
    closed = float(1 - np.abs(mean / sandwich - 1).mean() / plain_gap)
    return {
        "sandwich_closed_pct": 100 * closed,
        "sandwich_closes": ("all of the gap" if closed >= 0.995 else "most of the gap"
                            if closed > 0.5 else "less than half of the gap" if closed > 0
                            else "none of the gap"),
        "v_star": values["v_star"],
        "h_gain_pct": 100 * (values["h_star"] / values["curvature"] - 1),
        "sandwich_ratio": ratio_span(mean / sandwich),
        "sandwich_inside": int(inside.sum()),
    }
