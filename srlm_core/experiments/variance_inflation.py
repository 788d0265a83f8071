r"""S3: the one-step variance constant V of random starts against the condition numbers.

For ``starts`` initial models :math:`\theta_0 = \theta^\star + r u` (``u`` a random unit
vector, ``r`` evenly spaced from ``r_min`` to ``r_max``), the variance term of one step (S2) is
:math:`V/n` with :math:`V = \operatorname{tr}(F I_0^{-1})/(2\beta^2)`, :math:`F = H_{\pi^\star}/2`
and :math:`I_0` the pair Fisher information
(:func:`srlm_core.model.one_step_prediction.pair_fisher`).  S3 squeezes it by the feature
condition number of the start:

.. math::

   \kappa_\Sigma(\pi_0)/\beta^2 \le V \le d\,\kappa_\Sigma(\pi_0)/(4\beta^2 s_{\min}),

with :math:`s_{\min}` the smallest :math:`\sigma'(\beta(\theta_1-\theta_{\mathrm{ref}})\cdot
\Delta\phi)` over pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from srlm_core.errors import ConfigError, require_at_least
from srlm_core.model import metrics
from srlm_core.model import one_step_prediction as osp
from srlm_core.model.policy import make_problem, random_unit_vectors
from srlm_core.stats import fit_slope

#: relative slack of the bound checks (floating point)
SLACK = 1e-9


@dataclass(frozen=True)
class Config:
    """The problem is ``make_problem(seed=problem_seed)``; the start directions come from the
    generator seeded ``seed``."""

    alpha: float = 0.5
    starts: int = 400
    r_min: float = 0.5
    r_max: float = 8.0
    d: int = 8
    K: int = 8
    contexts: int = 32
    problem_seed: int = 0
    seed: int = 7

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        if not 0.0 < self.alpha <= 1.0:
            raise ConfigError("alpha", f"must be in (0, 1], got {self.alpha}")
        require_at_least(self, 3, "starts")
        require_at_least(self, 1, "d", "contexts")
        require_at_least(self, 2, "K")
        require_at_least(self, 0, "r_min", "problem_seed", "seed")
        if self.r_max < self.r_min:
            raise ConfigError("r_max", f"must be at least r_min, got {self.r_max}")
        return self


def run(config: Config) -> dict:
    r"""Per start: distance, :math:`V`, :math:`\kappa(\pi_0)`, :math:`\kappa_\Sigma(\pi_0)` and
    :math:`s_{\min}`; with the dimension :math:`d` and :math:`\beta` of the problem."""
    c = config.validate()
    p = make_problem(d=c.d, K=c.K, contexts=c.contexts, seed=c.problem_seed)
    g = torch.Generator().manual_seed(c.seed)
    radius = torch.linspace(c.r_min, c.r_max, c.starts, dtype=torch.float64)[:, None]
    theta0 = p.theta_star + radius * random_unit_vectors((c.starts, c.d), g)
    theta1 = osp.one_step_limit(p, theta0, c.alpha)
    F = osp.policy_fisher(p, p.theta_star)
    V = torch.einsum("de,sed->s", F, torch.linalg.inv(osp.pair_fisher(p, theta0, theta1)))
    V = V / (2 * p.beta**2)
    dphi = p.features.unsqueeze(2) - p.features.unsqueeze(1)
    margins = p.beta * torch.einsum("ckld,sd->sckl", dphi, theta1 - p.theta_ref)
    s_min = (torch.sigmoid(margins) * torch.sigmoid(-margins)).amin(dim=(1, 2, 3))
    columns = zip(radius[:, 0].tolist(), V.tolist(), metrics.condition_number(p, theta0).tolist(),
                  metrics.feature_condition_number(p, theta0).tolist(), s_min.tolist())
    rows = [{"distance": r, "V": v, "kappa": k, "kappa_sigma": ks, "s_min": s}
            for r, v, k, ks, s in columns]
    return {"d": p.dim, "beta": p.beta, "rows": rows}


def _column(values: dict, name: str) -> np.ndarray:
    return np.array([row[name] for row in values["rows"]], dtype=float)


def bounds(values: dict) -> tuple[np.ndarray, np.ndarray]:
    r"""S3's lower and upper bounds on :math:`V` per start: :math:`\kappa_\Sigma/\beta^2` and
    :math:`d\kappa_\Sigma/(4\beta^2 s_{\min})`."""
    kappa_sigma, beta2 = _column(values, "kappa_sigma"), values["beta"] ** 2
    return kappa_sigma / beta2, values["d"] * kappa_sigma / (4 * beta2 * _column(values, "s_min"))


def summarise(values: dict) -> dict:
    r"""How many starts fall between the bounds; the log-log slopes of :math:`V` on
    :math:`\kappa_\Sigma` and on :math:`\kappa` with 95% intervals; the range of
    :math:`V/\kappa_\Sigma`; and the factors by which :math:`V` and :math:`\kappa` vary."""
    V, kappa, kappa_sigma = (_column(values, name) for name in ("V", "kappa", "kappa_sigma"))
    lower, upper = bounds(values)
    inside = (lower <= V * (1 + SLACK)) & (V <= upper * (1 + SLACK))
    out = {"s3_inside": f"{int(inside.sum())} of {len(V)}"}
    for key, x in (("ks", kappa_sigma), ("k", kappa)):
        fit = fit_slope(np.log(x), np.log(V))
        out[f"s3_vslope_{key}"] = fit.slope
        out[f"s3_vslope_{key}_lo"] = fit.lo
        out[f"s3_vslope_{key}_hi"] = fit.hi
    out["s3_v_over_ks_min"] = float((V / kappa_sigma).min())
    out["s3_v_over_ks_max"] = float((V / kappa_sigma).max())
    out["s3_v_range"] = float(V.max() / V.min())
    out["s3_k_range"] = float(kappa.max() / kappa.min())
    return out


def plot(values: dict):
    r""":math:`V` against :math:`\kappa_\Sigma(\pi_0)` with both bounds (left) and against
    :math:`\kappa(\pi_0)` (right); colour: distance of the start from the target."""
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    starts = pd.DataFrame(values["rows"])
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    for ax, column, label in ((axes[0], "kappa_sigma", r"$\kappa_\Sigma(\pi_0)$"),
                              (axes[1], "kappa", r"$\kappa(\pi_0)$")):
        sns.scatterplot(data=starts, x=column, y="V", hue="distance", palette="viridis", s=14,
                        linewidth=0, ax=ax, legend=column == "kappa")
        ax.set(xscale="log", yscale="log", xlabel=label,
               ylabel=r"$V=\mathrm{tr}(F I_0^{-1})/(2\beta^2)$")
    lower, upper = bounds(values)
    order = np.argsort(starts.kappa_sigma.to_numpy(), kind="stable")
    x = starts.kappa_sigma.to_numpy()[order]
    axes[0].plot(x, lower[order], ls="--", color="k", lw=1,
                 label=r"lower bound $\kappa_\Sigma/\beta^2$")
    axes[0].plot(x, upper[order], ls=":", color="k", lw=1,
                 label=r"upper bound $d\kappa_\Sigma/(4\beta^2 s_{\min})$")
    axes[0].legend(fontsize="small")
    axes[1].legend(fontsize="small", title=r"$\|\theta_0-\theta^\star\|$")
    fig.tight_layout()
    return fig
