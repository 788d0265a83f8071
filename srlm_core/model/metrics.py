r"""What the book measures about a policy :math:`\pi_\theta` (S1, S3 and S5).

All functions take theta of shape (..., d) and return one value per leading index.
"""

from __future__ import annotations

import torch

from srlm_core.model.judge import judge_rewards
from srlm_core.model.policy import LinearSoftmaxProblem


def param_distance(problem: LinearSoftmaxProblem, theta: torch.Tensor) -> torch.Tensor:
    r""":math:`e_t = \|\theta - \theta^*\|_2`."""
    return (theta - problem.theta_star).norm(dim=-1)


def kl_target_to_policy(problem: LinearSoftmaxProblem, theta: torch.Tensor) -> torch.Tensor:
    r""":math:`\operatorname{KL}(\pi^* \,\|\, \pi_\theta)
    = \mathbb E_x \sum_y \pi^*(y|x) \log(\pi^*(y|x) / \pi_\theta(y|x))`."""
    log_star = problem.log_probs(problem.theta_star)
    per_context = (log_star.exp() * (log_star - problem.log_probs(theta))).sum(-1)
    return per_context @ problem.context_probs


def log_ratio_span(problem: LinearSoftmaxProblem, theta: torch.Tensor) -> torch.Tensor:
    r""":math:`\max_x \operatorname{span}_y \log(\pi_\theta(y|x) / \pi^*(y|x))`, the quantity
    that bounds :math:`\log \kappa` (S3)."""
    ratio = problem.log_probs(theta) - problem.log_probs(problem.theta_star)
    return (ratio.amax(-1) - ratio.amin(-1)).amax(-1)


def condition_number(problem: LinearSoftmaxProblem, theta: torch.Tensor) -> torch.Tensor:
    r"""Policy condition number :math:`\kappa(\pi) = \max_{x,y} \pi^*(y|x) / \pi(y|x) \ge 1`
    (S3)."""
    ratio = problem.log_probs(problem.theta_star) - problem.log_probs(theta)
    return ratio.amax(dim=(-2, -1)).exp()


def pair_covariance(problem: LinearSoftmaxProblem, theta: torch.Tensor) -> torch.Tensor:
    r""":math:`H_\pi = \mathbb E_x \mathbb E_{y, y' \sim \pi}[(\phi_y - \phi_{y'})
    (\phi_y - \phi_{y'})^\top] = 2\, \mathbb E_x \operatorname{Cov}_\pi(\phi | x)`."""
    probs = problem.log_probs(theta).exp()  # (..., C, K)
    phi = problem.features  # (C, K, d)
    mean = torch.einsum("...ck,ckd->...cd", probs, phi)
    second = torch.einsum("...ck,ckd,cke->...cde", probs, phi, phi)
    cov = second - mean.unsqueeze(-1) * mean.unsqueeze(-2)
    return 2.0 * torch.einsum("c,...cde->...de", problem.context_probs, cov)


def feature_condition_number(problem: LinearSoftmaxProblem, theta: torch.Tensor) -> torch.Tensor:
    r""":math:`\kappa_\Sigma(\pi) = \lambda_{\max}(H_\pi^{-1/2} H_{\pi^*} H_\pi^{-1/2})` (S3),
    via the Cholesky factor of :math:`H_\pi` (a generalised symmetric eigenproblem).

    Infinite where :math:`H_\pi` is singular to working precision (smallest eigenvalue at
    most 1e-12 of the largest): when the pair differences do not span :math:`\mathbb R^d`
    (``contexts * (K - 1) < d``) or the policy is so peaked that no pair varies; NaN where
    ``theta`` is not finite."""
    h_pi = pair_covariance(problem, theta)
    h_star = pair_covariance(problem, problem.theta_star).expand_as(h_pi)
    eye = torch.eye(h_pi.shape[-1], dtype=h_pi.dtype, device=h_pi.device)
    finite = torch.isfinite(h_pi).all(-1).all(-1)  # NaN parameters give NaN, not an error
    h_pi = torch.where(finite[..., None, None], h_pi, eye)
    spectrum = torch.linalg.eigvalsh(h_pi)
    chol, info = torch.linalg.cholesky_ex(h_pi)
    singular = (info != 0) | (spectrum[..., 0] <= 1e-12 * spectrum[..., -1].abs())
    chol = torch.where(singular[..., None, None], eye, chol)  # any factor: masked below
    left = torch.linalg.solve_triangular(chol, h_star, upper=False)
    whitened = torch.linalg.solve_triangular(chol, left.transpose(-1, -2), upper=False)
    kappa = torch.linalg.eigvalsh(whitened).amax(-1)
    kappa = torch.where(singular, torch.full_like(kappa, torch.inf), kappa)
    return torch.where(finite, kappa, torch.full_like(kappa, torch.nan))


def effective_dimension(eigenvalues: torch.Tensor, lam: float) -> torch.Tensor:
    r""":math:`d_{\mathrm{eff}}(\lambda) = \operatorname{tr}(\Sigma (\Sigma + \lambda I)^{-1})
    = \sum_j \mu_j / (\mu_j + \lambda)` (S5)."""
    return (eigenvalues / (eigenvalues + lam)).sum(-1)


def consistency_residual(
    problem: LinearSoftmaxProblem, theta: torch.Tensor, alpha: float
) -> torch.Tensor:
    r"""How far the model is from agreeing with its own judge (S1, internal consistency).

    .. math::

       \mathbb E_x \mathbb E_{y, y' \sim \pi_\theta} \bigl|\sigma(r_t(y) - r_t(y'))
       - \sigma(\beta (\theta - \theta_{\mathrm{ref}}) \cdot (\phi_y - \phi_{y'}))\bigr|:

    the gap between the self-judge's preference probability and the preference implied by the
    policy's own DPO reward.  It is zero exactly at the fixed point :math:`\pi = \pi^*`.
    """
    rewards = judge_rewards(problem, theta, alpha)
    implicit = problem.beta * problem.logits(theta - problem.theta_ref)
    judge_pref = torch.sigmoid(rewards.unsqueeze(-1) - rewards.unsqueeze(-2))
    policy_pref = torch.sigmoid(implicit.unsqueeze(-1) - implicit.unsqueeze(-2))
    probs = problem.log_probs(theta).exp()
    pair_weight = probs.unsqueeze(-1) * probs.unsqueeze(-2)
    per_context = (pair_weight * (judge_pref - policy_pref).abs()).sum(dim=(-2, -1))
    return per_context @ problem.context_probs


def best_responses(problem: LinearSoftmaxProblem) -> torch.Tensor:
    r""":math:`y^\star(x) = \arg\max_y \pi^*(y|x)`, the target's most likely response per
    prompt, shape (C,) (the coverage form of S2)."""
    return problem.logits(problem.theta_star).argmax(-1)


def coverage_coefficient(
    problem: LinearSoftmaxProblem, theta: torch.Tensor, best: torch.Tensor | None = None
) -> torch.Tensor:
    r"""Coverage coefficient :math:`\kappa_0(x) = 1 / \pi_\theta(y^\star(x)|x)` per prompt,
    shape (..., C); ``best`` defaults to :func:`best_responses`.  Its average over prompts is
    the :math:`C_{\mathrm{cov}}` of Huang et al. (2025)."""
    best = best_responses(problem) if best is None else best
    log_probs = problem.log_probs(theta)
    index = best.expand(*log_probs.shape[:-1]).unsqueeze(-1)
    return (-log_probs.gather(-1, index).squeeze(-1)).exp()


def feature_coverage(
    problem: LinearSoftmaxProblem, theta: torch.Tensor, best: torch.Tensor | None = None
) -> torch.Tensor:
    r"""Feature coverage of the best response per prompt, shape (..., C):

    .. math::

       \kappa_\phi(x) = 1 + 2\rho(x)\, v_x^\top H_\pi^{+} v_x, \qquad
       v_x = \phi(x, y^\star(x)) - \mathbb E_{\pi_\theta}\phi(x, \cdot),

    with :math:`H_\pi` of :func:`pair_covariance` (pseudo-inverse: it is singular for one-hot
    features).  It equals :func:`coverage_coefficient` for one-hot features and never exceeds
    it; with shared features the pairs of other prompts inform :math:`y^\star` too."""
    best = best_responses(problem) if best is None else best
    probs = problem.log_probs(theta).exp()  # (..., C, K)
    phi = problem.features
    mean = torch.einsum("...ck,ckd->...cd", probs, phi)
    v = phi[torch.arange(phi.shape[0], device=phi.device), best] - mean  # (..., C, d)
    h_plus = torch.linalg.pinv(pair_covariance(problem, theta), hermitian=True, rtol=1e-10)
    quadratic = torch.einsum("...cd,...de,...ce->...c", v, h_plus, v)
    return 1.0 + 2.0 * problem.context_probs * quadratic
