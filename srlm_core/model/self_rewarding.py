r"""The iterated self-rewarding procedure in the model world (S1-S4).

Each round: the current model judges n pairs it sampled itself (:mod:`srlm_core.model.judge`),
then a DPO step (:mod:`srlm_core.model.dpo`) updates it.  The DPO reference is either fixed at
:math:`\pi_{\mathrm{ref}}` (the contraction of S1) or moving,
:math:`\pi_{\mathrm{ref}} \leftarrow \pi_t` (as in many iterative-DPO recipes).  Seeds are
batched along the first tensor axis.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import pandas as pd
import torch

from srlm_core.device import resolve_device
from srlm_core.errors import require
from srlm_core.model import metrics
from srlm_core.model.dpo import dpo_update, fit_logistic
from srlm_core.model.judge import judge_rewards, sample_pairs
from srlm_core.model.policy import LinearSoftmaxProblem, initial_parameters, make_problem
from srlm_core.stats import mean_interval

REFERENCES = ("fixed", "moving")


@dataclass(frozen=True)
class SimulationConfig:
    """Parameters of one simulation; the names match the ``srlm simulate`` options.

    ``n = 0`` means the population update (n = infinity)."""

    alpha: float = 0.5
    beta: float = 1.0
    n: int = 1000
    iters: int = 6
    d: int = 8
    K: int = 8
    contexts: int = 32
    init_dist: float = 2.0
    signal: float = 1.0
    lam: float = 0.0
    seeds: int = 8
    reference: str = "fixed"
    seed: int = 0
    device: str = "cpu"

    def validate(self) -> SimulationConfig:
        """Raise :class:`~srlm_core.errors.ConfigError` naming the first invalid field."""
        checks = [
            ("alpha", 0.0 < self.alpha <= 1.0, "must be in (0, 1]"),
            ("beta", self.beta > 0.0 and math.isfinite(self.beta), "must be positive"),
            ("n", self.n >= 0, "must be >= 1 (or 0 for the population update)"),
            ("iters", self.iters >= 0, "must be >= 0"),
            ("d", self.d >= 1, "must be >= 1"),
            ("K", self.K >= 2, "must be >= 2"),
            ("contexts", self.contexts >= 1, "must be >= 1"),
            ("init_dist", self.init_dist >= 0.0, "must be >= 0"),
            ("signal", self.signal >= 0.0, "must be >= 0"),
            ("lam", self.lam >= 0.0, "must be >= 0"),
            ("seeds", self.seeds >= 1, "must be >= 1"),
            ("reference", self.reference in REFERENCES, f"must be one of {', '.join(REFERENCES)}"),
            ("seed", self.seed >= 0, "must be >= 0"),
        ]
        require(self, *checks)
        resolve_device(self.device)
        return self

    @classmethod
    def taking(cls, config, **overrides) -> SimulationConfig:
        """The simulation that takes every field it shares by name with an experiment's
        ``config``, then ``overrides`` (e.g. the one ``alpha`` or ``n`` of a sweep)."""
        shared = {f.name: getattr(config, f.name) for f in fields(cls) if hasattr(config, f.name)}
        return cls(**{**shared, **overrides})


def population_update(
    problem: LinearSoftmaxProblem,
    theta: torch.Tensor,
    alpha: float,
    lam: float,
    theta_reference: torch.Tensor,
) -> torch.Tensor:
    r"""The :math:`n = \infty` DPO step: logistic regression on every pair :math:`(x, y, y')`
    weighted by :math:`\rho(x) \pi_t(y|x) \pi_t(y'|x)`, with soft labels
    :math:`\sigma(r_t(x, y) - r_t(x, y'))`."""
    S = theta.shape[0]
    phi = problem.features
    dphi = (phi.unsqueeze(2) - phi.unsqueeze(1)).reshape(-1, problem.dim)  # (C*K*K, d)
    probs = problem.log_probs(theta).exp()  # (S, C, K)
    weight = problem.context_probs[:, None, None] * probs.unsqueeze(-1) * probs.unsqueeze(-2)
    rewards = judge_rewards(problem, theta, alpha)
    target = torch.sigmoid(rewards.unsqueeze(-1) - rewards.unsqueeze(-2))
    z = problem.beta * dphi.expand(S, -1, -1)
    u0 = (theta - theta_reference).expand_as(theta)
    u = fit_logistic(z, target.reshape(S, -1), weight.reshape(S, -1), lam, u0)
    return theta_reference + u


@dataclass
class SimulationResult:
    r"""Parameters :math:`\theta_t` for :math:`t = 0, \dots, T` (shape (T+1, S, d)) and the
    problem they live in."""

    config: SimulationConfig
    problem: LinearSoftmaxProblem
    thetas: torch.Tensor

    def metrics(self) -> pd.DataFrame:
        """One row per (t, seed): dist, kl, kappa, kappa_sigma, span, consistency."""
        p, alpha = self.problem, self.config.alpha
        columns = {
            "dist": metrics.param_distance(p, self.thetas),
            "kl": metrics.kl_target_to_policy(p, self.thetas),
            "kappa": metrics.condition_number(p, self.thetas),
            "kappa_sigma": metrics.feature_condition_number(p, self.thetas),
            "span": metrics.log_ratio_span(p, self.thetas),
            "consistency": metrics.consistency_residual(p, self.thetas, alpha),
        }
        T1, S = self.thetas.shape[:2]
        frame = pd.DataFrame({k: v.cpu().numpy().ravel() for k, v in columns.items()})
        frame.insert(0, "seed", [s for _ in range(T1) for s in range(S)])
        frame.insert(0, "t", [t for t in range(T1) for _ in range(S)])
        return frame

    def summary(self) -> list[dict]:
        """Per iteration: dist mean and 95% interval over seeds; means of the other metrics."""
        rows = []
        for t, group in self.metrics().groupby("t"):
            dist = mean_interval(group["dist"])
            rows.append(
                {
                    "t": int(t),
                    "dist_mean": dist.mean,
                    "dist_lo": dist.lo,
                    "dist_hi": dist.hi,
                    "kl_mean": float(group["kl"].mean()),
                    "kappa_mean": float(group["kappa"].mean()),
                    "kappa_sigma_mean": float(group["kappa_sigma"].mean()),
                    "consistency_mean": float(group["consistency"].mean()),
                }
            )
        return rows

    def to_dict(self) -> dict:
        """``{"params": ..., "iterations": summary()}``, the shape of ``srlm simulate --json``."""
        return {"params": asdict(self.config), "iterations": self.summary()}


class SelfRewardingRunner:
    """Runs :class:`SimulationConfig`: T rounds of self-judging and DPO, batched over seeds."""

    def __init__(self, config: SimulationConfig, problem: LinearSoftmaxProblem | None = None):
        self.config = config.validate()
        self.device = resolve_device(config.device)
        if problem is None:
            problem = make_problem(
                d=config.d,
                K=config.K,
                contexts=config.contexts,
                beta=config.beta,
                signal=config.signal,
                seed=config.seed,
            )
        self.problem = problem.to(self.device)

    def initial_thetas(self) -> torch.Tensor:
        """The initial parameters, one copy per seed: shape (S, d)."""
        theta0 = initial_parameters(self.problem, self.config.init_dist, self.config.seed)
        return theta0.expand(self.config.seeds, -1).clone()

    def step(
        self, theta: torch.Tensor, generator: torch.Generator, reference: torch.Tensor
    ) -> torch.Tensor:
        r""":math:`\theta_{t+1}` from :math:`\theta_t` with DPO reference ``reference``."""
        c, p = self.config, self.problem
        if c.n == 0:
            return population_update(p, theta, c.alpha, c.lam, reference)
        pairs = sample_pairs(p, theta, c.alpha, c.n, generator)
        dphi = pairs.feature_differences(p)
        return dpo_update(dphi, pairs.label, p.beta, c.lam, reference, theta)

    def run(self) -> SimulationResult:
        """All rounds, from one generator seeded by the config."""
        c = self.config
        generator = torch.Generator(device=self.device).manual_seed(c.seed)
        theta = self.initial_thetas()
        history = [theta]
        for _ in range(c.iters):
            reference = theta if c.reference == "moving" else self.problem.theta_ref
            theta = self.step(theta, generator, reference)
            history.append(theta)
        return SimulationResult(c, self.problem, torch.stack(history))


def simulate(**options) -> SimulationResult:
    """Convenience: ``simulate(alpha=0.5, n=4000)`` builds the config and runs it."""
    return SelfRewardingRunner(SimulationConfig(**options)).run()
