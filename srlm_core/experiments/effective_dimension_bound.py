r"""S5: the effective dimension of the sweep's Fisher spectrum stays under a bound free of d.

For the spectrum :math:`\nu_j = \nu_1 j^{-p}` (:math:`j \le d`) of the Fisher information of
one DPO pair in the sweep :mod:`srlm_core.experiments.effective_dimension`, the integral
comparison (:func:`srlm_core.theory.polynomial_spectrum.integral_comparison`) gives

.. math::

   C_p(\lambda/\nu_1)^{-1/p} - 1 \;\le\; d_{\mathrm{eff}}(\lambda; d=\infty),
   \qquad
   d_{\mathrm{eff}}(\lambda; d) = \sum_{j\le d}\frac{\nu_j}{\nu_j+\lambda}
   \;\le\; C_p(\lambda/\nu_1)^{-1/p}
   \quad\text{for every } d.

:func:`run` evaluates :math:`d_{\mathrm{eff}}(\lambda; d)` on a grid of ridges for a few d,
beside both bounds and the balanced ridge :math:`\lambda^\star` of the sweep.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from srlm_core.errors import require, require_at_least
from srlm_core.experiments import effective_dimension
from srlm_core.model import metrics
from srlm_core.options import option


@dataclass(frozen=True)
class Config:
    """``sweep``: the sweep whose spectrum is drawn (its p, design and n); ``dims``: the
    ambient dimensions; the ridges: ``points`` values log-spaced from
    ``10**log_lam_lo`` to ``10**log_lam_hi``."""

    sweep: effective_dimension.Config = field(
        default_factory=effective_dimension.Config,
        metadata={"help": "the sweep whose spectrum is drawn, a [sweep] table of its fields"})
    dims: tuple[int, ...] = option((16, 256, 4096), "ambient dimensions d")
    log_lam_lo: float = option(-9.0, "log10 of the smallest ridge")
    log_lam_hi: float = option(0.0, "log10 of the largest ridge")
    points: int = option(200, "ridges, log-spaced between the two ends")

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        self.sweep.validate()
        require(
            self,
            ("dims", len(self.dims) >= 1, "must name at least one dimension"),
            ("dims", all(1 <= d <= self.sweep.contexts for d in self.dims),
             "must be in [1, sweep.contexts]"),
            ("log_lam_hi", self.log_lam_hi > self.log_lam_lo, "must be above log_lam_lo"),
        )
        require_at_least(self, 2, "points")
        return self

    def lambdas(self) -> np.ndarray:
        """The ridges: ``points`` values log-spaced over the range."""
        return np.logspace(self.log_lam_lo, self.log_lam_hi, self.points)


def run(config: Config) -> dict:
    r""":math:`d_{\mathrm{eff}}(\lambda; d)` of :math:`\nu_j = \gamma\mu_j`
    (:func:`srlm_core.experiments.effective_dimension.fisher_eigenvalues`) for every d of
    ``config.dims`` (keyed by ``str(d)``) and every ridge, with the :math:`d`-free upper bound
    :math:`C_p(\lambda/\nu_1)^{-1/p}` per ridge, :math:`\nu_1` and :math:`\lambda^\star`."""
    from srlm_core.theory import polynomial_spectrum

    config.validate()
    lambdas = config.lambdas()
    nu_1 = float(effective_dimension.fisher_eigenvalues(config.sweep, 1)[0])
    curves = {}
    for d in config.dims:
        nu = effective_dimension.fisher_eigenvalues(config.sweep, d)
        curves[str(d)] = [float(metrics.effective_dimension(nu, lam)) for lam in lambdas]
    upper = polynomial_spectrum.integral_comparison().upper
    return {
        "lambdas": lambdas.tolist(),
        "d_eff": curves,
        "upper": [polynomial_spectrum.numeric(upper, p=config.sweep.p, lam=lam, mu1=nu_1)
                  for lam in lambdas],
        "top_eigenvalue": nu_1,
        "lam_star": effective_dimension.balanced_lambda(config.sweep),
    }


def plot(values: dict):
    r""":math:`d_{\mathrm{eff}}(\lambda)` against :math:`\lambda` (log-log), one curve per d,
    between the :math:`d`-free bounds :math:`C_p(\lambda/\nu_1)^{-1/p}` (dashed) and
    :math:`C_p(\lambda/\nu_1)^{-1/p} - 1` (dotted, floored at 0.1 for the log scale), with
    :math:`\lambda^\star` marked."""
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    lambdas, upper = np.asarray(values["lambdas"]), np.asarray(values["upper"])
    curves = pd.DataFrame([{"lambda": lam, "d_eff": d_eff, "d": d}
                           for d, curve in values["d_eff"].items()
                           for lam, d_eff in zip(lambdas, curve, strict=True)])
    lam_star = values["lam_star"]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    sns.lineplot(data=curves, x="lambda", y="d_eff", hue="d", palette="viridis", seed=0, ax=ax)
    ax.plot(lambdas, upper, ls="--", color="black", lw=1, label=r"$C_p(\lambda/\mu_1)^{-1/p}$")
    ax.plot(lambdas, np.maximum(upper - 1, 1e-1), ls=":", color="black", lw=1,
            label=r"$C_p(\lambda/\mu_1)^{-1/p}-1$")
    ax.axvline(lam_star, color="gray", lw=1)
    ax.annotate(r"$\lambda^\star$", (lam_star, 1.5), xytext=(4, 0), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(0.5, 1e4)
    ax.set_xlabel(r"ridge $\lambda$")
    ax.set_ylabel(r"$d_{\mathrm{eff}}(\lambda)$")
    ax.legend(title="$d$", fontsize=9)
    return fig
