r"""Linear-softmax problems with a prescribed feature spectrum (S5).

The design: prompts :math:`x_1, \dots, x_C`, two responses each, and features

.. math::

   \phi(x_c, y_k)_j = \sqrt{\mu_j}\, H_C[c, a_j]\, H_2[k, 1], \qquad
   \mu_j = \mu_1 j^{-p}, \quad j = 1, \dots, d,

with :math:`H_C, H_2` Sylvester-Hadamard matrices and :math:`a_1, \dots, a_d` distinct columns
(a seeded random choice, nested in :math:`d`).  Hadamard columns are orthogonal and
:math:`H_2[:, 1] = (1, -1)` sums to zero, so under the uniform reference policy
:math:`\pi_{\mathrm{ref}}` (:math:`\theta_{\mathrm{ref}} = 0`) the within-prompt feature
covariance is exactly
:math:`\Sigma = \mathbb E_x \operatorname{Cov}_{\pi_{\mathrm{ref}}}(\phi | x)
= \operatorname{diag}(\mu_1, \dots, \mu_d)`.  With :math:`\mu_1 = 1 / \zeta(p)`,
:math:`\|\phi\|^2 = \sum_{j \le d} \mu_j < 1` for every :math:`d`.

The true reward lies in the top direction, :math:`w^* = \text{signal}\; e_1`, so the log-odds of
the two responses, :math:`\beta\, w^* \cdot (\phi(x, y_1) - \phi(x, y_2))
= \pm 2 \beta\, \text{signal} \sqrt{\mu_1}`, do not depend on :math:`d`: :math:`\pi^*`,
:math:`\pi_{\mathrm{ref}}` and :math:`\operatorname{KL}(\pi^* \,\|\, \pi_{\mathrm{ref}})` are the
same for every :math:`d`.  Growing :math:`d` only adds nuisance directions of variance
:math:`\mu_j` that carry no reward.  Because the margin :math:`|m|` is the same for every pair,
the Fisher information of the DPO pairs sampled from :math:`\pi_{\mathrm{ref}}` is exactly
proportional to :math:`\Sigma` (:meth:`SpectralDesign.curvature`).
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
    """A family of problems indexed by the dimension d <= ``contexts`` (a power of two)."""

    #: decay exponent of the spectrum :math:`\mu_j \propto j^{-p}`, :math:`p > 1`
    p: float = 2.0
    contexts: int = 1024  #: number of prompts C; the largest admissible d
    signal: float = 1.5  #: :math:`\|w^*\|`, along the top eigendirection :math:`e_1`
    beta: float = 1.0  #: KL strength :math:`\beta`
    seed: int = 0  #: seeds the choice of Hadamard columns

    def validate(self) -> SpectralDesign:
        """Raise :class:`~srlm_core.errors.ConfigError` naming the first invalid field."""
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
        """Raise :class:`~srlm_core.errors.ConfigError` unless 1 <= d <= ``contexts``."""
        if not 1 <= d <= self.contexts:
            raise ConfigError("d", f"must be in [1, contexts = {self.contexts}], got {d!r}")

    @property
    def top_eigenvalue(self) -> float:
        r""":math:`\mu_1 = 1 / \zeta(p)`, so that :math:`\sum_j \mu_j < 1` and
        :math:`\|\phi\| < 1` for every d."""
        return float(1.0 / scipy.special.zeta(self.p))

    def eigenvalues(self, d: int) -> torch.Tensor:
        r""":math:`\mu_j = \mu_1 j^{-p}`, :math:`j = 1, \dots, d`: the spectrum of
        :math:`\Sigma`."""
        self.check_dim(d)
        j = torch.arange(1, d + 1, dtype=DTYPE)
        return self.top_eigenvalue * j ** (-self.p)

    def columns(self, d: int) -> torch.Tensor:
        r"""The Hadamard columns :math:`a_1, \dots, a_d`: a seeded permutation of
        :math:`0, \dots, C - 1`, nested in d."""
        self.check_dim(d)
        g = torch.Generator().manual_seed(self.seed)
        return torch.randperm(self.contexts, generator=g)[:d]

    def problem(self, d: int) -> LinearSoftmaxProblem:
        r"""The problem in dimension d (features of shape (C, 2, d),
        :math:`\theta_{\mathrm{ref}} = 0`)."""
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
        r""":math:`a = 2 \beta \sqrt{\mu_1}`: a pair of distinct responses has margin
        :math:`\pm a v` at :math:`u = v e_1`."""
        return 2.0 * self.beta * self.top_eigenvalue**0.5

    @property
    def margin(self) -> float:
        r""":math:`|r^*(x, y_1) - r^*(x, y_2)| = 2 \beta\, \text{signal} \sqrt{\mu_1}`, the same
        for every prompt."""
        return self.pair_scale * self.signal

    def curvature(self) -> float:
        r""":math:`\gamma` with :math:`I = \gamma \Sigma`,
        :math:`I = \beta^2 \mathbb E[\sigma'(m)\, \Delta\phi \Delta\phi^\top]` the Fisher
        information of one DPO pair (:math:`y, y' \sim \pi_{\mathrm{ref}}` independently, perfect
        judge): a pair differs with probability 1/2, and then
        :math:`\Delta\phi = \pm 2 \phi(x, y_1)`, so :math:`\gamma = 2 \beta^2 \sigma'(m)`."""
        m = torch.tensor(self.margin, dtype=DTYPE)
        return float(2.0 * self.beta**2 * torch.sigmoid(m) * torch.sigmoid(-m))

    def population_ridge(self, lam: float) -> float:
        r"""The population DPO solution with ridge :math:`\lambda > 0` (pairs from
        :math:`\pi_{\mathrm{ref}}`, perfect judge).

        By the symmetry of the design it is :math:`u_\lambda = v e_1`, and :math:`v` solves the
        first-order condition :math:`\tfrac12 a (\sigma(a v) - \sigma(a W)) + \lambda v = 0`
        with :math:`a = 2 \beta \sqrt{\mu_1}` (a pair differs with probability 1/2, and then its
        margin is :math:`\pm a v`)."""
        a, signal, expit = self.pair_scale, self.signal, scipy.special.expit

        def gradient(v: float) -> float:
            return 0.5 * a * (expit(a * v) - expit(a * signal)) + lam * v

        if signal == 0.0:
            return 0.0
        return float(scipy.optimize.brentq(gradient, 0.0, signal, xtol=1e-15, rtol=1e-15))

    def sandwich_coefficients(self, v: float) -> tuple[float, float]:
        r"""(h, s) with Hessian :math:`H = h \Sigma` and score covariance :math:`S = s \Sigma` of
        one DPO pair at :math:`u = v e_1`: :math:`h = 2 \beta^2 \sigma'(m_v)` and
        :math:`s = 2 \beta^2 [(\sigma(m_v) - \sigma(m))^2 + \sigma(m) \sigma(-m)]`, with
        :math:`m_v = a v` the margin there and :math:`m` the true one
        (:math:`h = s = \gamma` at :math:`v = W`)."""
        m_v, m = self.pair_scale * v, self.margin
        expit = scipy.special.expit
        h = 2.0 * self.beta**2 * expit(m_v) * expit(-m_v)
        s = 2.0 * self.beta**2 * ((expit(m_v) - expit(m)) ** 2 + expit(m) * expit(-m))
        return float(h), float(s)
