r"""S3: both condition numbers of random policies around the target.

In each of ``problems`` random problems, ``draws`` parameter vectors
:math:`\theta = \theta^\star + r u` (``u`` a random unit vector, ``r`` evenly spaced from
``r_min`` to ``r_max``) give :math:`\kappa(\pi_\theta)`, :math:`\kappa_\Sigma(\pi_\theta)`
and the log-ratio span.  S3 proves :math:`\kappa_\Sigma \le \kappa` (sharper than the
reconstructed :math:`\kappa^2`) and
:math:`\log\kappa \le \operatorname{span} \le 2\lVert\theta-\theta^\star\rVert`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from srlm_core.errors import ConfigError, require_at_least
from srlm_core.model import metrics
from srlm_core.model.policy import make_problem, random_unit_vectors

#: slack of the bound checks (floating point)
SLACK = 1e-9


@dataclass(frozen=True)
class Config:
    """Problem ``p`` uses ``make_problem(seed=p)`` and draws its directions with the
    generator seeded ``direction_seed + p``."""

    problems: int = 3
    draws: int = 300
    d: int = 8
    K: int = 8
    contexts: int = 32
    r_min: float = 0.1
    r_max: float = 8.0
    direction_seed: int = 100

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        require_at_least(self, 1, "problems", "draws", "d", "contexts")
        require_at_least(self, 2, "K")
        require_at_least(self, 0, "r_min", "direction_seed")
        if self.r_max < self.r_min:
            raise ConfigError("r_max", f"must be at least r_min, got {self.r_max}")
        return self


def run(config: Config) -> dict:
    r"""Per draw: problem, distance :math:`r`, :math:`\kappa`, :math:`\kappa_\Sigma` and the
    span :math:`\max_x \operatorname{span}_y \log(\pi_\theta/\pi^\star)` (S3)."""
    c = config.validate()
    rows = []
    for seed in range(c.problems):
        p = make_problem(d=c.d, K=c.K, contexts=c.contexts, seed=seed)
        g = torch.Generator().manual_seed(c.direction_seed + seed)
        radius = torch.linspace(c.r_min, c.r_max, c.draws, dtype=torch.float64)[:, None]
        theta = p.theta_star + radius * random_unit_vectors((c.draws, c.d), g)
        columns = zip(
            radius[:, 0].tolist(),
            metrics.condition_number(p, theta).tolist(),
            metrics.feature_condition_number(p, theta).tolist(),
            metrics.log_ratio_span(p, theta).tolist(),
        )
        rows += [{"problem": seed, "distance": r, "kappa": k, "kappa_sigma": ks, "span": s}
                 for r, k, ks, s in columns]
    return {"rows": rows}


def _column(values: dict, name: str) -> np.ndarray:
    return np.array([row[name] for row in values["rows"]], dtype=float)


def summarise(values: dict) -> dict:
    r"""The largest :math:`\kappa_\Sigma/\kappa` (at most 1 by S3), the median of
    :math:`\log\kappa_\Sigma/\log\kappa`, how many draws satisfy
    :math:`\log\kappa \le \operatorname{span}` and
    :math:`\operatorname{span} \le 2\lVert\theta-\theta^\star\rVert`, and
    :math:`\kappa_\Sigma` where :math:`\kappa` is largest."""
    kappa, kappa_sigma = _column(values, "kappa"), _column(values, "kappa_sigma")
    span, distance = _column(values, "span"), _column(values, "distance")
    total = len(kappa)
    return {
        "s3_ratio_max": float((kappa_sigma / kappa).max()),
        "s3_sq_ratio_median": float(np.median(np.log(kappa_sigma) / np.log(kappa))),
        "s3_span_ok": f"{int((np.log(kappa) <= span + SLACK).sum())} of {total}",
        "s3_twonorm_ok": f"{int((span <= 2 * distance + SLACK).sum())} of {total}",
        "s3_kappa_max": float(kappa.max()),
        "s3_kappa_sigma_at_max": float(kappa_sigma[kappa.argmax()]),
    }


def plot(values: dict):
    r""":math:`\kappa_\Sigma` against :math:`\kappa` (colour: distance to the target), with
    the proved bound :math:`\kappa_\Sigma = \kappa` and the reconstructed one
    :math:`\kappa_\Sigma = \kappa^2`."""
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    draws = pd.DataFrame(values["rows"])
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    sns.scatterplot(data=draws, x="kappa", y="kappa_sigma", hue="distance", palette="viridis",
                    s=12, linewidth=0, ax=ax)
    grid = np.geomspace(1, draws.kappa.max(), 100)
    ax.plot(grid, grid, ls="--", color="k", lw=1, label=r"$\kappa_\Sigma=\kappa$ (proved)")
    ax.plot(grid, grid**2, ls=":", color="k", lw=1,
            label=r"$\kappa_\Sigma=\kappa^2$ (reconstructed)")
    ax.set(xscale="log", yscale="log", xlabel=r"$\kappa(\pi_\theta)$",
           ylabel=r"$\kappa_\Sigma(\pi_\theta)$", ylim=(0.9, draws.kappa.max() * 2))
    ax.legend(fontsize="small", title=r"$\|\theta-\theta^\star\|$ / bounds")
    return fig
