r"""The iterative finite-sample bound of S4, evaluated numerically for a SimulationConfig.

Every finite-sample step is the population step plus an estimation error :math:`\xi_k`.  With
a fixed reference and :math:`\lambda = 0` the DPO step is a well-specified logistic regression
whose target is the S1 contraction, so exactly

.. math::

   \theta_{k+1} - \theta^* &= (1 - \alpha)(\theta_k - \theta^*) + \xi_k, \\
   e_T &\le (1 - \alpha)^T e_0 + \sum_{k<T} (1 - \alpha)^{T-1-k} \|\xi_k\|
   \quad \text{(triangle inequality)}.

The constants, all computed here and nothing else assumed:

* **Per-step covariance.**  :math:`\xi_k` is asymptotically :math:`N(0, A_k)` with
  :math:`A_k = (\beta^2 I_k)^{-1} / n`, :math:`I_k` the pair Fisher information under
  :math:`\pi_k` (:func:`srlm_core.model.one_step_prediction.pair_fisher`).  With
  :math:`\lambda > 0` the sandwich :math:`A_k = H_k^{-1} \beta^2 I_k H_k^{-1} / n`,
  :math:`H_k = \beta^2 I_k + \lambda I`, is used (it drops the O(ridge bias²)
  misspecification term of the label variance).
* **High probability.**  For :math:`\xi \sim N(0, A)`, :math:`\|\xi\|` is
  :math:`\|A^{1/2}\|`-Lipschitz in a standard Gaussian and
  :math:`\mathbb E \|\xi\| \le \sqrt{\operatorname{tr} A}`, so
  :math:`P(\|\xi\| > \sqrt{\operatorname{tr} A} + \sqrt{2 \|A\| \log(1/\delta')}) \le \delta'`
  (Gaussian concentration).  A union bound over the :math:`T` steps takes
  :math:`\delta' = \delta / T`:
  :math:`\varepsilon_k = \sqrt{\operatorname{tr} A_k} + \sqrt{2 \|A_k\| \log(T / \delta)}`, the
  :math:`\log(T / \delta)` of S4.
* **Where** :math:`A_k` **is evaluated.**  At the noiseless (population) trajectory
  :math:`\bar\theta_k`, so the bound is a deterministic number the reader can compute before
  any sampling; the random iterate is within :math:`O(1/\sqrt n)` of it, so this is
  first-order exact.  The initial term is :math:`\|\bar\theta_T - \theta^*\|`, which is
  :math:`(1 - \alpha)^T e_0` when :math:`\lambda = 0` and contains the ridge bias otherwise.

The bound is an asymptotic envelope, not a non-asymptotic inequality: the one approximate step
is taking each :math:`\xi_k` as exactly :math:`N(0, A_k)` with :math:`A_k` at
:math:`\bar\theta_k` (the first-order, large-n law of the maximum-likelihood estimate); the
unrolled recursion, the triangle inequality, the concentration and the union bound are exact
given that law.  Its slack over the measured 95% quantile of the error factors exactly
(:func:`slack_factors`) into the high-probability margin, the triangle inequality, the
Gaussian model's level and the root mean square over the quantile; :func:`envelope_check`
tests it from both sides.  Three other forms are reported beside it:

* ``bound_trace``: the bound without the high-probability margin,
  :math:`\|\bar\theta_t - \theta^*\| + \sum_k (1 - \alpha)^{t-1-k} \sqrt{\operatorname{tr} A_k}`
  (the triangle inequality applied to root mean squares);
* ``bound_uniform``: :math:`\varepsilon_k \le \max_k \varepsilon_k` in the closed geometric sum
  of :func:`srlm_core.theory.iterative_bound.geometric_sum` (the
  :math:`(C / \alpha) / \sqrt n` form);
* ``bound_kappa`` (:math:`\lambda = 0`): the statement's condition-number form.  Since
  :math:`I_k \succeq c_k H_{\pi_k} \succeq c_k H_{\pi^*} / \kappa_\Sigma(\pi_k)`, with
  :math:`c_k = \sigma'(\text{max margin of the step's target over all pairs})`,
  :math:`A_k \preceq \kappa_\Sigma(\pi_k) H_{\pi^*}^{-1} / (\beta^2 c_k n)`, so

  .. math::

     \varepsilon_k \le \sqrt{\frac{\kappa_{\Sigma,k}}{\beta^2 c_k n}}
     \Bigl(\sqrt{\operatorname{tr} H_*^{-1}} + \sqrt{2 \|H_*^{-1}\| \log(T / \delta)}\Bigr).

Predictions of the mean behaviour (not bounds) come with it: the root mean square
:math:`\sqrt{\|\bar\theta_T - \theta^*\|^2 + \sum_k (1 - \alpha)^{2(T-1-k)} \operatorname{tr}
A_k}` of the linear-Gaussian recursion, and
:math:`\mathbb E \operatorname{KL}(\pi^* \,\|\, \pi_T) \approx
\operatorname{KL}(\pi^* \,\|\, \bar\pi_T) + \tfrac12 \sum_k (1 - \alpha)^{2(T-1-k)}
\operatorname{tr}(F(\bar\theta_T) A_k)`, :math:`F` the policy Fisher matrix (the Hessian of
the KL).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd
import sympy as sp
import torch

from srlm_core.errors import ConfigError
from srlm_core.model import metrics
from srlm_core.model.one_step_prediction import one_step_limit, pair_fisher, policy_fisher
from srlm_core.model.self_rewarding import SelfRewardingRunner, SimulationConfig
from srlm_core.theory import iterative_bound as theory

#: lambdified (1 - (1 - alpha)^T) / alpha from the SymPy derivation (S4).
_GEOMETRIC_SUM = sp.lambdify(
    (theory.alpha, theory.T), theory.geometric_sum().finite_stated, modules="math"
)


def validate_delta(delta: float) -> float:
    """The confidence level's complement ``delta``, or ConfigError unless it is in (0, 1)."""
    if not (0.0 < delta < 1.0):
        raise ConfigError("delta", f"must be in (0, 1), got {delta!r}")
    return delta


def gaussian_norm_quantile(cov: torch.Tensor, log_term: float) -> torch.Tensor:
    r""":math:`\sqrt{\operatorname{tr} A} + \sqrt{2 \|A\|\, \ell}`: exceeded by
    :math:`\|N(0, A)\|` with probability at most :math:`e^{-\ell}`, :math:`\ell` = ``log_term``."""
    trace = torch.diagonal(cov, dim1=-2, dim2=-1).sum(-1)
    top = torch.linalg.eigvalsh(cov)[..., -1]
    return trace.sqrt() + (2.0 * top * log_term).sqrt()


def step_covariance(
    problem, theta_k: torch.Tensor, theta_next: torch.Tensor, alpha: float, lam: float, n: int
) -> torch.Tensor:
    r""":math:`A_k`: the asymptotic covariance of the DPO estimate of :math:`\theta_{k+1}` from
    n pairs drawn from :math:`\pi_k`; :math:`(\beta^2 I_k)^{-1} / n` at :math:`\lambda = 0`,
    the ridge sandwich otherwise (see the module docstring)."""
    beta2 = problem.beta**2
    label_info = beta2 * pair_fisher(problem, theta_k, one_step_limit(problem, theta_k, alpha))
    if lam == 0.0:
        spectrum = torch.linalg.eigvalsh(label_info)
        if not spectrum[0] > 1e-12 * spectrum[-1].abs():
            C, K, d = problem.features.shape
            raise ConfigError(
                "lam", f"0 leaves the DPO estimate undefined: pairs drawn from this policy do not "
                f"identify theta in every direction of R^{d} (contexts * (K - 1) = {C * (K - 1)} "
                "differences, or margins so large that the labels are deterministic); use a "
                "ridge, e.g. --lam 1e-3, or smaller scales")
        return torch.linalg.inv(label_info) / n
    eye = torch.eye(problem.dim, dtype=theta_k.dtype, device=theta_k.device)
    hess_inv = torch.linalg.inv(beta2 * pair_fisher(problem, theta_k, theta_next) + lam * eye)
    return hess_inv @ label_info @ hess_inv / n


def _max_margin(problem, theta_label: torch.Tensor) -> float:
    """max over pairs of |beta (theta_label - theta_ref) . (phi_y - phi_y')|."""
    logits = problem.logits(theta_label - problem.theta_ref)
    return float(problem.beta * (logits.amax(-1) - logits.amin(-1)).amax())


@dataclass
class IterativeBound:
    """The S4 bound and the linear-Gaussian predictions per iteration t = 0..T."""

    config: SimulationConfig
    delta: float
    frame: pd.DataFrame

    def noise_floor(self) -> float:
        r"""The predicted noise level at :math:`T`, :math:`\sqrt{r^2 - p^2}` with :math:`r` the
        ``predicted_rms`` and :math:`p` the ``population_dist``: the floor that the error
        settles on once the initial term is forgotten."""
        last = self.frame.iloc[-1]
        return math.sqrt(max(last["predicted_rms"] ** 2 - last["population_dist"] ** 2, 0.0))

    def to_dict(self) -> dict:
        """``{"params": ..., "iterations": [{"t": ..., "bound": ...}, ...]}``, the shape of
        ``srlm simulate --json`` (missing values as null)."""
        rows = self.frame.astype(object).where(self.frame.notna(), None).to_dict("records")
        return {"params": {**asdict(self.config), "delta": self.delta}, "iterations": rows}


def iterative_bound(config: SimulationConfig, delta: float = 0.05) -> IterativeBound:
    """Evaluate the S4 bound for ``config`` (its seeds are irrelevant: the bound is
    deterministic) with failure probability ``delta`` over all T steps together."""
    config = config.validate()
    validate_delta(delta)
    if config.reference != "fixed":
        raise ConfigError("reference", "the S4 bound holds for the fixed reference only")
    runner = SelfRewardingRunner(replace(config, n=0, seeds=1))
    problem = runner.problem
    if config.lam == 0.0:  # S1: theta_bar_{t+1} = theta* + (1 - alpha)(theta_bar_t - theta*)
        thetas = [runner.initial_thetas()[0]]
        for _ in range(config.iters):
            thetas.append(one_step_limit(problem, thetas[-1], config.alpha))
        thetas = torch.stack(thetas)
    else:  # the ridge moves the fixed point: solve each population step
        thetas = runner.run().thetas[:, 0]
    # thetas: the population trajectory theta_bar_t, shape (T+1, d)
    T, alpha, n = config.iters, config.alpha, config.n
    a = 1.0 - alpha
    log_term = math.log(max(T, 1) / delta)

    kappa_sigma = metrics.feature_condition_number(problem, thetas).cpu().tolist()
    fishers = policy_fisher(problem, thetas)  # F(theta_bar_t), the Hessian of the KL
    eps, trace, eps_kappa, step_cov = [], [], [], []
    for k in range(T):
        if n == 0:
            cov = torch.zeros(problem.dim, problem.dim, dtype=thetas.dtype, device=thetas.device)
        else:
            cov = step_covariance(problem, thetas[k], thetas[k + 1], alpha, config.lam, n)
        step_cov.append(cov)
        eps.append(float(gaussian_norm_quantile(cov, log_term)))
        trace.append(float(torch.trace(cov)))
        if config.lam == 0.0 and n > 0:
            if k == 0:  # the step covariance above exists, so H_* is invertible
                h_star_inv = torch.linalg.inv(metrics.pair_covariance(problem, problem.theta_star))
                star_quantile = float(gaussian_norm_quantile(h_star_inv, log_term))
            margin = _max_margin(problem, one_step_limit(problem, thetas[k], alpha))
            c_k = math.exp(-margin) / (1.0 + math.exp(-margin)) ** 2  # sigma'(margin), margin >= 0
            kappa = kappa_sigma[k]
            scale = problem.beta**2 * c_k * n
            eps_kappa.append(math.sqrt(kappa / scale) * star_quantile if scale > 0 else math.inf)
        else:
            eps_kappa.append(0.0 if n == 0 else math.nan)

    population = metrics.param_distance(problem, thetas).cpu().tolist()
    population_kl = metrics.kl_target_to_policy(problem, thetas).cpu().tolist()
    eps_max = max(eps, default=0.0)
    rows = []
    for t in range(T + 1):
        weights = [a ** (t - 1 - k) for k in range(t)]
        noise = sum(w * e for w, e in zip(weights, eps[:t], strict=True))
        noise_trace = sum(w * math.sqrt(s) for w, s in zip(weights, trace[:t], strict=True))
        noise_kappa = sum(w * e for w, e in zip(weights, eps_kappa[:t], strict=True))
        variance = sum(w * w * s for w, s in zip(weights, trace[:t], strict=True))
        fisher_t = fishers[t]
        kl_noise = sum(
            w * w * float(torch.trace(fisher_t @ cov))
            for w, cov in zip(weights, step_cov[:t], strict=True)
        )
        geometric = _GEOMETRIC_SUM(alpha, t) if t > 0 else 0.0
        rows.append(
            {
                "t": t,
                "bound": population[t] + noise,
                "bound_trace": population[t] + noise_trace,
                "bound_uniform": population[t] + eps_max * geometric,
                "bound_kappa": population[t] + noise_kappa,
                "population_dist": population[t],
                "eps": eps[t - 1] if t > 0 else 0.0,
                "predicted_rms": math.sqrt(population[t] ** 2 + variance),
                "predicted_kl": population_kl[t] + 0.5 * kl_noise,
                "kappa_sigma": kappa_sigma[t],
            }
        )
    return IterativeBound(config=config, delta=delta, frame=pd.DataFrame(rows))


@dataclass(frozen=True)
class EnvelopeCheck:
    r"""The S4 envelope tested from both sides on simulated errors: ``coverage`` (share of runs
    under the bound at every round) at least ``1 - delta``, and the bound over the measured
    95% quantile of the error at every round :math:`t \ge 1` (``ratio_lo`` to ``ratio_hi``)
    inside ``band``."""

    coverage: float
    ratio_lo: float
    ratio_hi: float
    delta: float
    band: tuple[float, float]

    @property
    def valid(self) -> bool:
        """Coverage at least nominal."""
        return self.coverage >= 1.0 - self.delta

    @property
    def tight(self) -> bool:
        """Bound over the 95% quantile inside the band at every round."""
        return self.band[0] <= self.ratio_lo and self.ratio_hi <= self.band[1]

    @property
    def passes(self) -> bool:
        """Both sides: valid and inside the band."""
        return self.valid and self.tight


def envelope_check(dist, bound, delta: float, band: tuple[float, float]) -> EnvelopeCheck:
    """Test the bound from both sides: ``dist`` the errors, shape (T+1, seeds); ``bound`` the
    bound per round, shape (T+1,).  A bound with too small a noise term fails the coverage or
    the band's lower end (the bound under the 95% quantile); one with too large a noise term
    fails the band's upper end."""
    dist, bound = np.asarray(dist, float), np.asarray(bound, float)
    coverage = float((dist <= bound[:, None]).all(axis=0).mean())
    ratio = bound[1:] / np.quantile(dist[1:], 0.95, axis=1)
    return EnvelopeCheck(coverage, float(ratio.min()), float(ratio.max()), delta,
                         (float(band[0]), float(band[1])))


def slack_factors(bound: float, bound_trace: float, predicted_rms: float, dist) -> dict:
    r"""The bound at one round over the measured 95% quantile of ``dist`` (errors over seeds),
    as the exact product of four factors: ``margin`` = bound / bound_trace (the
    high-probability margin :math:`\sqrt{2\lVert A_k\rVert\log(T/\delta)}`: concentration
    and union bound), ``triangle`` = bound_trace / predicted_rms (norms added as if aligned
    against independent errors added in quadrature), ``model`` = predicted / measured root
    mean square (the Gaussian law's level) and ``quantile`` = measured root mean square / 95%
    quantile."""
    dist = np.asarray(dist, float)
    rms, q95 = float(np.sqrt(np.mean(dist**2))), float(np.quantile(dist, 0.95))
    return {"margin": bound / bound_trace, "triangle": bound_trace / predicted_rms,
            "model": predicted_rms / rms, "quantile": rms / q95, "ratio": bound / q95}
