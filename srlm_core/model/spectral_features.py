"""Linear-softmax problems with a prescribed feature spectrum (theory.md, S5).

The design: prompts x_1 .. x_C, two responses each, and features

    phi(x_c, y_k)_j = sqrt(mu_j) H_C[c, a_j] H_2[k, 1],   mu_j = mu_1 j^(-p),  j = 1 .. d,

with H_C, H_2 Sylvester-Hadamard matrices and a_1 .. a_d distinct columns (a seeded random
choice, nested in d).  Hadamard columns are orthogonal and H_2[:, 1] = (1, -1) sums to zero, so
under the uniform reference policy pi_ref (theta_ref = 0) the within-prompt feature covariance is
exactly Sigma = E_x Cov_{pi_ref}(phi | x) = diag(mu_1 .. mu_d).  With mu_1 = 1 / zeta(p),
||phi||^2 = sum_{j<=d} mu_j < 1 for every d.

The true reward lies in the top direction, w* = signal e_1, so the log-odds of the two responses,
beta w* . (phi(x, y_1) - phi(x, y_2)) = +-2 beta signal sqrt(mu_1), do not depend on d: pi*, pi_ref
and KL(pi* || pi_ref) are the same for every d.  Growing d only adds nuisance directions of
variance mu_j that carry no reward.  Because the margin |m| is the same for every pair, the
Fisher information of the DPO pairs sampled from pi_ref is exactly proportional to Sigma
(:meth:`SpectralDesign.curvature`).
"""

from __future__ import annotations

from dataclasses import dataclass

import scipy.linalg
import scipy.optimize
import scipy.special
import torch

from srlm_core.errors import ConfigError, require
from srlm_core.model.policy import DTYPE, LinearSoftmaxProblem

RESPONSES = 2


@dataclass(frozen=True)
class SpectralDesign:
    """A family of problems indexed by the dimension d <= ``contexts`` (a power of two).

    Attributes:
        p: decay exponent of the spectrum mu_j ∝ j^(-p), p > 1.
        contexts: number of prompts C; the largest admissible d.
        signal: ||w*||, along the top eigendirection e_1.
        beta: KL strength.
        seed: seeds the choice of Hadamard columns.
    """

    p: float = 2.0
    contexts: int = 1024
    signal: float = 1.5
    beta: float = 1.0
    seed: int = 0

    def validate(self) -> SpectralDesign:
        """Raise :class:`ConfigError` naming the first invalid field."""
        power_of_two = self.contexts >= 2 and self.contexts & (self.contexts - 1) == 0
        checks = [
            ("p", self.p > 1.0, "must be > 1 (a summable spectrum)"),
            ("contexts", power_of_two, "must be a power of two >= 2 (Sylvester-Hadamard)"),
            ("signal", self.signal >= 0.0, "must be >= 0"),
            ("beta", self.beta > 0.0, "must be positive"),
            ("seed", self.seed >= 0, "must be >= 0"),
        ]
        require(self, *checks)
        return self

    def check_dim(self, d: int) -> None:
        if not 1 <= d <= self.contexts:
            raise ConfigError("d", f"must be in [1, contexts = {self.contexts}], got {d!r}")

    @property
    def top_eigenvalue(self) -> float:
        """mu_1 = 1 / zeta(p), so that sum_j mu_j < 1 and ||phi|| < 1 for every d."""
        return float(1.0 / scipy.special.zeta(self.p))

    def eigenvalues(self, d: int) -> torch.Tensor:
        """mu_j = mu_1 j^(-p), j = 1 .. d: the spectrum of Sigma."""
        self.check_dim(d)
        j = torch.arange(1, d + 1, dtype=DTYPE)
        return self.top_eigenvalue * j ** (-self.p)

    def columns(self, d: int) -> torch.Tensor:
        """The Hadamard columns a_1 .. a_d: a seeded permutation of 0 .. C-1, nested in d."""
        self.check_dim(d)
        g = torch.Generator().manual_seed(self.seed)
        return torch.randperm(self.contexts, generator=g)[:d]

    def problem(self, d: int) -> LinearSoftmaxProblem:
        """The problem in dimension d (features of shape (C, 2, d), theta_ref = 0)."""
        self.validate()
        hadamard = torch.tensor(scipy.linalg.hadamard(self.contexts), dtype=DTYPE)
        sign = torch.tensor([1.0, -1.0], dtype=DTYPE)  # column 1 of H_2
        scale = self.eigenvalues(d).sqrt()
        features = hadamard[:, self.columns(d)].unsqueeze(1) * sign[None, :, None] * scale
        w_star = torch.zeros(d, dtype=DTYPE)
        w_star[0] = self.signal
        return LinearSoftmaxProblem(
            features=features,
            context_probs=torch.full((self.contexts,), 1.0 / self.contexts, dtype=DTYPE),
            theta_ref=torch.zeros(d, dtype=DTYPE),
            w_star=w_star,
            beta=self.beta,
        )

    @property
    def pair_scale(self) -> float:
        """a = 2 beta sqrt(mu_1): a pair of distinct responses has margin +-a v at u = v e_1."""
        return 2.0 * self.beta * self.top_eigenvalue**0.5

    @property
    def margin(self) -> float:
        """|r*(x, y_1) - r*(x, y_2)| = 2 beta signal sqrt(mu_1), the same for every prompt."""
        return self.pair_scale * self.signal

    def curvature(self) -> float:
        """gamma with I = gamma Sigma, I = beta^2 E[sigma'(m) dphi dphi^T] the Fisher information
        of one DPO pair (y, y' ~ pi_ref independently, perfect judge): a pair differs with
        probability 1/2, and then dphi = +-2 phi(x, y_1), so gamma = 2 beta^2 sigma'(m)."""
        m = torch.tensor(self.margin, dtype=DTYPE)
        return float(2.0 * self.beta**2 * torch.sigmoid(m) * torch.sigmoid(-m))

    def population_ridge(self, lam: float) -> float:
        """The population DPO solution with ridge lambda > 0 (pairs from pi_ref, perfect judge).

        By the symmetry of the design it is u_lambda = v e_1, and v solves the first-order
        condition (1/2) a (sigma(a v) - sigma(a W)) + lambda v = 0 with a = 2 beta sqrt(mu_1)
        (a pair differs with probability 1/2, and then its margin is +-a v)."""
        a, signal, expit = self.pair_scale, self.signal, scipy.special.expit

        def gradient(v: float) -> float:
            return 0.5 * a * (expit(a * v) - expit(a * signal)) + lam * v

        if signal == 0.0:
            return 0.0
        return float(scipy.optimize.brentq(gradient, 0.0, signal, xtol=1e-15, rtol=1e-15))

    def sandwich_coefficients(self, v: float) -> tuple[float, float]:
        """(h, s) with Hessian H = h Sigma and score covariance S = s Sigma of one DPO pair at
        u = v e_1: h = 2 beta^2 sigma'(m_v) and s = 2 beta^2 [(sigma(m_v) - sigma(m))^2
        + sigma(m) sigma(-m)], with m_v = a v the margin there and m the true one
        (h = s = gamma at v = W)."""
        m_v, m = self.pair_scale * v, self.margin
        expit = scipy.special.expit
        h = 2.0 * self.beta**2 * expit(m_v) * expit(-m_v)
        s = 2.0 * self.beta**2 * ((expit(m_v) - expit(m)) ** 2 + expit(m) * expit(-m))
        return float(h), float(s)
