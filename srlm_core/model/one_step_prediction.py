r"""Fisher information of a self-rewarding step and the predicted one-step KL (S2).

One DPO step from :math:`\pi_0` with a fixed reference is a well-specified logistic
regression: the self-judge's margin is
:math:`\beta (\alpha w^* + (1 - \alpha)(\theta_0 - \theta_{\mathrm{ref}})) \cdot \Delta\phi`,
so the estimate :math:`\hat\theta_1` targets the population limit

.. math:: \theta_1 = \theta^* + (1 - \alpha)(\theta_0 - \theta^*),

and :math:`\sqrt n (\hat\theta_1 - \theta_1) \to N(0, (\beta^2 I_0)^{-1})` with the pair
Fisher information

.. math::

   I_0 = \mathbb E_{x \sim \rho} \mathbb E_{y, y' \sim \pi_0}
   [\sigma'(\beta (\theta_1 - \theta_{\mathrm{ref}}) \cdot \Delta\phi)\,
   \Delta\phi \Delta\phi^\top].

With :math:`F(\theta) = \mathbb E_x \operatorname{Cov}_{\pi_\theta}(\phi | x)` the Fisher
matrix of the policy (the Hessian of
:math:`\theta \mapsto \operatorname{KL}(\pi^* \,\|\, \pi_\theta)`), the second-order
prediction is

.. math::

   \mathbb E \operatorname{KL}(\pi^* \,\|\, \hat\pi_1) \approx
   \tfrac12 (1 - \alpha)^2 \|\theta_0 - \theta^*\|_F^2
   + \frac{\operatorname{tr}(F I_0^{-1})}{2 n \beta^2}

with :math:`F = F(\theta^*)`: a floor that no :math:`n` removes, plus a variance term.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from srlm_core.model.metrics import kl_target_to_policy, pair_covariance
from srlm_core.model.policy import LinearSoftmaxProblem


def one_step_limit(
    problem: LinearSoftmaxProblem, theta0: torch.Tensor, alpha: float
) -> torch.Tensor:
    r""":math:`\theta_1 = \theta^* + (1 - \alpha)(\theta_0 - \theta^*)`: the
    :math:`n = \infty` limit of one step (S2)."""
    return problem.theta_star + (1.0 - alpha) * (theta0 - problem.theta_star)


def policy_fisher(problem: LinearSoftmaxProblem, theta: torch.Tensor) -> torch.Tensor:
    r""":math:`F(\theta) = \mathbb E_x \operatorname{Cov}_{\pi_\theta}(\phi | x) = H_\pi / 2`,
    the Hessian of :math:`\operatorname{KL}(\pi^* \,\|\, \pi_\theta)`."""
    return 0.5 * pair_covariance(problem, theta)


def pair_fisher(
    problem: LinearSoftmaxProblem, theta_sampling: torch.Tensor, theta_label: torch.Tensor
) -> torch.Tensor:
    r""":math:`I = \mathbb E_x \mathbb E_{y, y' \sim \pi_{\mathrm{sampling}}}
    [\sigma'(\beta (\theta_{\mathrm{label}} - \theta_{\mathrm{ref}}) \cdot \Delta\phi)\,
    \Delta\phi \Delta\phi^\top]`.

    Pairs are drawn from the model being updated; labels follow the logistic model whose
    parameter is the step's target ``theta_label`` (for one step, :func:`one_step_limit`).
    Shapes: theta (..., d) -> (..., d, d)."""
    phi = problem.features
    dphi = phi.unsqueeze(2) - phi.unsqueeze(1)  # (C, K, K, d)
    probs = problem.log_probs(theta_sampling).exp()  # (..., C, K)
    weight = probs.unsqueeze(-1) * probs.unsqueeze(-2)  # (..., C, K, K)
    margin = problem.beta * torch.einsum(
        "ckld,...d->...ckl", dphi, theta_label - problem.theta_ref
    )
    slope = torch.sigmoid(margin) * torch.sigmoid(-margin)  # sigma'(margin)
    return torch.einsum(
        "c,...ckl,ckld,ckle->...de", problem.context_probs, weight * slope, dphi, dphi
    )


@dataclass(frozen=True)
class OneStepPrediction:
    r"""The S2 decomposition of :math:`\mathbb E \operatorname{KL}(\pi^* \,\|\, \hat\pi_1)` for
    one initial model."""

    #: :math:`\tfrac12 (1 - \alpha)^2 \|\theta_0 - \theta^*\|_F^2` with :math:`F = F(\theta^*)`
    #: (the statement).
    floor: float
    #: :math:`\operatorname{tr}(F I_0^{-1}) / (2 \beta^2)`: the variance term is
    #: ``variance / n``.
    variance: float
    #: :math:`\operatorname{KL}(\pi^* \,\|\, \pi_{\theta_1})`, the floor without the quadratic
    #: approximation.
    exact_floor: float
    #: :math:`\operatorname{tr}(F(\theta_1) I_0^{-1}) / (2 \beta^2)`: the variance term with the
    #: curvature of the KL at :math:`\theta_1`, where the estimate concentrates, not at
    #: :math:`\theta^*`.
    variance_at_limit: float
    #: :math:`\operatorname{tr}(I_0^{-1}) / \beta^2`, so that
    #: :math:`\mathbb E \|\hat\theta_1 - \theta_1\|^2 \approx` ``param_variance / n``.
    param_variance: float

    def kl(self, n: float) -> float:
        """The statement's prediction: floor + variance / n."""
        return self.floor + self.variance / n

    def kl_refined(self, n: float) -> float:
        r"""Exact floor + curvature at :math:`\theta_1`: the expansion around where
        :math:`\hat\theta_1` lands."""
        return self.exact_floor + self.variance_at_limit / n


def predict_one_step(
    problem: LinearSoftmaxProblem, theta0: torch.Tensor, alpha: float
) -> OneStepPrediction:
    """Evaluate the S2 prediction for one initial parameter vector ``theta0`` of shape (d,)."""
    beta = problem.beta
    theta1 = one_step_limit(problem, theta0, alpha)
    f_star = policy_fisher(problem, problem.theta_star)
    f_one = policy_fisher(problem, theta1)
    info_inv = torch.linalg.inv(pair_fisher(problem, theta0, theta1))
    bias = theta1 - problem.theta_star
    return OneStepPrediction(
        floor=float(0.5 * bias @ f_star @ bias),
        variance=float(torch.trace(f_star @ info_inv) / (2 * beta**2)),
        exact_floor=float(kl_target_to_policy(problem, theta1)),
        variance_at_limit=float(torch.trace(f_one @ info_inv) / (2 * beta**2)),
        param_variance=float(torch.trace(info_inv) / beta**2),
    )


def predict_iterated_kl(
    problem: LinearSoftmaxProblem, theta0: torch.Tensor, alpha: float, n: int, iters: int
) -> list[float]:
    r"""Second-order :math:`\mathbb E \operatorname{KL}(\pi^* \,\|\, \hat\pi_t)` for
    :math:`t = 0, \dots,` ``iters`` rounds of n samples each (S2's contrast): the error obeys
    :math:`\theta_{k+1} - \theta^* = (1 - \alpha)(\theta_k - \theta^*) + \xi_k` with
    :math:`\operatorname{Cov} \xi_k \approx (\beta^2 I_k)^{-1} / n`, :math:`I_k` the pair
    Fisher information on the population path, so

    .. math::

       \mathbb E \operatorname{KL}_t \approx \tfrac12 (1 - \alpha)^{2t}
       \|\theta_0 - \theta^*\|_F^2 + \sum_{k<t} (1 - \alpha)^{2(t-1-k)}
       \frac{\operatorname{tr}(F I_k^{-1})}{2 n \beta^2}.
    """
    rho2 = (1.0 - alpha) ** 2
    delta = theta0 - problem.theta_star
    bias0 = float(delta @ policy_fisher(problem, problem.theta_star) @ delta)  # ||.||_F^2
    noise, theta, out = 0.0, theta0, [0.5 * bias0]
    for t in range(1, iters + 1):
        noise = rho2 * noise + predict_one_step(problem, theta, alpha).variance / n
        theta = one_step_limit(problem, theta, alpha)
        out.append(0.5 * rho2**t * bias0 + noise)
    return out
