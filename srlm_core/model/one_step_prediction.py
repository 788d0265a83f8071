"""Fisher information of a self-rewarding step and the predicted one-step KL (theory.md, S2).

One DPO step from pi_0 with a fixed reference is a well-specified logistic regression: the
self-judge's margin is beta (alpha w* + (1 - alpha)(theta_0 - theta_ref)) . dphi, so the
estimate theta_hat_1 targets the population limit

    theta_1 = theta* + (1 - alpha)(theta_0 - theta*),

and sqrt(n) (theta_hat_1 - theta_1) -> N(0, (beta^2 I_0)^{-1}) with the pair Fisher information

    I_0 = E_{x ~ rho} E_{y, y' ~ pi_0} [sigma'(beta (theta_1 - theta_ref) . dphi) dphi dphi^T].

With F(theta) = E_x Cov_{pi_theta}(phi | x) the Fisher matrix of the policy (the Hessian of
theta -> KL(pi* || pi_theta)), the second-order prediction is

    E KL(pi* || pi_hat_1) ~ 1/2 (1 - alpha)^2 ||theta_0 - theta*||_F^2
                            + tr(F I_0^{-1}) / (2 n beta^2)

with F = F(theta*): a floor that no n removes, plus a variance term.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from srlm_core.model.metrics import kl_target_to_policy, pair_covariance
from srlm_core.model.policy import LinearSoftmaxProblem


def one_step_limit(
    problem: LinearSoftmaxProblem, theta0: torch.Tensor, alpha: float
) -> torch.Tensor:
    """theta_1 = theta* + (1 - alpha)(theta_0 - theta*): the n = infinity limit of one step (S2)."""
    return problem.theta_star + (1.0 - alpha) * (theta0 - problem.theta_star)


def policy_fisher(problem: LinearSoftmaxProblem, theta: torch.Tensor) -> torch.Tensor:
    """F(theta) = E_x Cov_{pi_theta}(phi | x) = H_pi / 2, the Hessian of KL(pi* || pi_theta)."""
    return 0.5 * pair_covariance(problem, theta)


def pair_fisher(
    problem: LinearSoftmaxProblem, theta_sampling: torch.Tensor, theta_label: torch.Tensor
) -> torch.Tensor:
    """I = E_x E_{y,y' ~ pi_sampling}[sigma'(beta (theta_label - theta_ref).dphi) dphi dphi^T].

    Pairs are drawn from the model being updated; labels follow the logistic model whose
    parameter is the step's target theta_label (for one step, :func:`one_step_limit`).
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
    """The S2 decomposition of E KL(pi* || pi_hat_1) for one initial model.

    Attributes:
        floor: 1/2 (1 - alpha)^2 ||theta_0 - theta*||_F^2 with F = F(theta*) (the statement).
        variance: tr(F I_0^{-1}) / (2 beta^2): the variance term is ``variance / n``.
        exact_floor: KL(pi* || pi_{theta_1}), the floor without the quadratic approximation.
        variance_at_limit: tr(F(theta_1) I_0^{-1}) / (2 beta^2): the variance term with the
            curvature of the KL at theta_1, where the estimate concentrates, not at theta*.
        param_variance: tr(I_0^{-1}) / beta^2, so that E||theta_hat_1 - theta_1||^2 ~ it / n.
    """

    floor: float
    variance: float
    exact_floor: float
    variance_at_limit: float
    param_variance: float

    def kl(self, n: float) -> float:
        """The statement's prediction: floor + variance / n."""
        return self.floor + self.variance / n

    def kl_refined(self, n: float) -> float:
        """Exact floor + curvature at theta_1: the expansion around where theta_hat_1 lands."""
        return self.exact_floor + self.variance_at_limit / n


def predict_one_step(
    problem: LinearSoftmaxProblem, theta0: torch.Tensor, alpha: float
) -> OneStepPrediction:
    """Evaluate the S2 prediction for one initial parameter vector theta0 of shape (d,)."""
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
    """Second-order E KL(pi* || pi_hat_t) for t = 0..iters rounds of n samples each (S2's
    contrast): the error obeys theta_{k+1} - theta* = (1 - alpha)(theta_k - theta*) + xi_k with
    Cov xi_k ~ (beta^2 I_k)^{-1} / n, I_k the pair Fisher information on the population path, so

        E KL_t ~ 1/2 (1 - alpha)^{2t} ||theta_0 - theta*||_F^2
                 + sum_{k<t} (1 - alpha)^{2(t-1-k)} tr(F I_k^{-1}) / (2 n beta^2)."""
    rho2 = (1.0 - alpha) ** 2
    delta = theta0 - problem.theta_star
    bias0 = float(delta @ policy_fisher(problem, problem.theta_star) @ delta)  # ||.||_F^2
    noise, theta, out = 0.0, theta0, [0.5 * bias0]
    for t in range(1, iters + 1):
        noise = rho2 * noise + predict_one_step(problem, theta, alpha).variance / n
        theta = one_step_limit(problem, theta, alpha)
        out.append(0.5 * rho2**t * bias0 + noise)
    return out
