"""S5 experiment: one DPO round in dimensions d = d_min .. d_max at a fixed difficulty.

The problems come from :class:`srlm_core.model.spectral_features.SpectralDesign`: the same prompts,
the same pi*, pi_ref and KL(pi* || pi_ref) in every dimension, and nuisance directions of
variance mu_j ∝ j^(-p) added as d grows.  In every dimension and seed, n pairs are drawn from
pi_ref and labelled by a perfect judge (alpha = 1: the statistical error of one round of S4),
with the same random numbers for every d, and DPO is solved twice:

* at the balanced ridge lambda* of :func:`srlm_core.theory.effective_dimension.balanced_ridge`,
  computed from (p, mu_1 of the Fisher information, n, ||w*||), the same for every d;
* at ``lam_min``, a tiny ridge standing in for lambda -> 0 (the unregularised DPO solution does
  not exist once the pairs are separable, which happens for d of the order of n).

The error is ||theta_hat - theta*||_I^2 with I = gamma Sigma the Fisher information of one pair;
beside it, its second-order prediction sum_j lambda^2 nu_j w_j^2 / (nu_j + lambda)^2 +
nu_j^2 / (n (nu_j + lambda)^2) (nu_j the eigenvalues of I), and the bound
lambda ||w*||^2 / 4 + d_eff(lambda) / n.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from srlm_core.device import resolve_device
from srlm_core.errors import ConfigError
from srlm_core.model import metrics
from srlm_core.model.dpo import logistic_objective
from srlm_core.model.dual_logistic import fit_ridge_logistic
from srlm_core.model.judge import sample_pairs
from srlm_core.model.separation import mle_exists
from srlm_core.model.spectral_features import SpectralDesign
from srlm_core.stats import mean_interval

TITLE = "S5: DPO error versus ambient dimension d at fixed effective dimension"
TOLERANCE = {"rtol": 1e-6, "atol": 1e-9}
ARMS = ("balanced", "lam_min")


@dataclass(frozen=True)
class Config:
    """d runs over the powers of two from ``d_min`` to ``d_max`` (<= ``contexts``)."""

    p: float = 2.0
    d_min: int = 16
    d_max: int = 4096
    contexts: int = 4096
    n: int = 1024
    signal: float = 1.5
    beta: float = 1.0
    lam_min: float = 1e-9
    seeds: int = 16
    seed: int = 0
    device: str = "cpu"

    def design(self) -> SpectralDesign:
        return SpectralDesign(
            p=self.p, contexts=self.contexts, signal=self.signal, beta=self.beta, seed=self.seed
        )

    def validate(self) -> Config:
        """Raise :class:`ConfigError` naming the first invalid field."""
        self.design().validate()

        def power_of_two(k: int) -> bool:
            return k >= 1 and k & (k - 1) == 0

        checks = [
            ("d_min", power_of_two(self.d_min), "must be a power of two"),
            ("d_max", power_of_two(self.d_max), "must be a power of two"),
            ("d_max", self.d_min <= self.d_max <= self.contexts, "must be in [d_min, contexts]"),
            ("n", self.n >= 2, "must be >= 2"),
            ("lam_min", self.lam_min > 0.0, "must be > 0"),
            ("seeds", self.seeds >= 2, "must be >= 2 (for intervals)"),
        ]
        for field, ok, message in checks:
            if not ok:
                raise ConfigError(field, f"{message}, got {getattr(self, field)!r}")
        resolve_device(self.device)
        return self

    def dims(self) -> list[int]:
        out, d = [], self.d_min
        while d <= self.d_max:
            out.append(d)
            d *= 2
        return out


def fisher_eigenvalues(config: Config, d: int) -> torch.Tensor:
    """nu_j = gamma mu_j, the spectrum of the Fisher information I of one DPO pair."""
    design = config.design()
    return design.curvature() * design.eigenvalues(d)


def balanced_lambda(config: Config) -> float:
    """lambda* from the SymPy derivation, with mu_1 the top eigenvalue of I."""
    from srlm_core.theory.effective_dimension import balanced_ridge, numeric

    nu1 = float(fisher_eigenvalues(config, 1)[0])
    return numeric(balanced_ridge().lam_star, p=config.p, mu1=nu1, n=config.n, W=config.signal)


def predicted_risk(nu: torch.Tensor, w: torch.Tensor, lam: float, n: int) -> float:
    """Second-order E||theta_hat - theta*||_I^2 of the ridge estimator (S5, per direction)."""
    bias = lam**2 * nu * w**2 / (nu + lam) ** 2
    variance = nu**2 / (n * (nu + lam) ** 2)
    return float((bias + variance).sum())


def sandwich_risk(config: Config, d: int, lam: float) -> float:
    """A refined second-order E||theta_hat - theta*||_I^2: linearise the ridge estimator at its
    population value u_lambda = v e_1 instead of at theta* (M-estimation sandwich).  With the
    Hessian h Sigma and score covariance s Sigma there
    (:meth:`SpectralDesign.sandwich_coefficients`), it is bias nu_1 (v - W)^2 plus variance
    sum_j nu_j s mu_j / (n (h mu_j + lambda)^2).  Shrinking the margin raises the logistic
    curvature (h > gamma), which lowers the variance in every direction; the plain prediction
    misses this."""
    design = config.design()
    v = design.population_ridge(lam)
    h, s = design.sandwich_coefficients(v)
    mu, nu = design.eigenvalues(d), fisher_eigenvalues(config, d)
    variance = (nu * s * mu / (config.n * (h * mu + lam) ** 2)).sum()
    return float(nu[0] * (v - config.signal) ** 2 + variance)


def stationarity(z, label, weight, lam: float, u: torch.Tensor) -> float:
    """max over seeds of ||grad|| of the DPO objective at the returned u (solver check)."""
    u = u.detach().clone().requires_grad_(True)
    logistic_objective(u, z, label, weight, lam).sum().backward()
    return float(u.grad.norm(dim=-1).max())


def mle_share(z: torch.Tensor, label: torch.Tensor) -> float:
    """Share of seeds whose unregularised DPO estimate exists (no separation).  For d > n the
    n pair differences cannot span R^d, so it does not exist and the LP is skipped."""
    S, n, d = z.shape
    if d > n:
        return 0.0
    return float(mle_exists(z, label).double().mean())


def run(config: Config) -> dict:
    """Errors per (d, arm, seed) and the predictions per (d, arm)."""
    config.validate()
    device = resolve_device(config.device)
    design = config.design()
    lam_star = balanced_lambda(config)
    lambdas = {"balanced": lam_star, "lam_min": config.lam_min}
    rows, errors = [], {}
    for d in config.dims():
        problem = design.problem(d)
        nu = fisher_eigenvalues(config, d)
        generator = torch.Generator().manual_seed(config.seed)  # the same pairs for every d
        theta_ref = problem.theta_ref.expand(config.seeds, -1)
        pairs = sample_pairs(problem, theta_ref, 1.0, config.n, generator)
        z = (problem.beta * pairs.feature_differences(problem)).to(device)
        label = pairs.label.to(device)
        weight = torch.full_like(label, 1.0 / config.n)
        share = mle_share(z, label)
        for arm, lam in lambdas.items():
            u = fit_ridge_logistic(z, label, weight, lam)
            grad = stationarity(z, label, weight, lam, u)
            u = u.cpu()
            delta = problem.theta_ref + u - problem.theta_star
            fisher_error = (nu * delta**2).sum(-1)
            kl = metrics.kl_target_to_policy(problem, problem.theta_ref + u)
            errors[f"{d}/{arm}"] = fisher_error.tolist()
            interval = mean_interval(fisher_error.numpy())
            d_eff = float(metrics.effective_dimension(nu, lam))
            rows.append(
                {
                    "d": d,
                    "arm": arm,
                    "lam": lam,
                    "d_eff": d_eff,
                    "error_mean": interval.mean,
                    "error_lo": interval.lo,
                    "error_hi": interval.hi,
                    "kl_mean": float(kl.mean()),
                    "prediction": predicted_risk(nu, problem.w_star, lam, config.n),
                    "bound": lam * config.signal**2 / 4 + d_eff / config.n,
                    "kl_target": float(metrics.kl_target_to_policy(problem, problem.theta_ref)),
                    "grad_max": grad,
                    "mle_share": share,
                }
            )
    return {
        "lam_star": lam_star,
        "curvature": design.curvature(),
        "top_eigenvalue": float(fisher_eigenvalues(config, 1)[0]),
        "rows": rows,
        "errors": errors,
    }
