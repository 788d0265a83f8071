r"""The iterated self-rewarding procedure in the model world (S1-S4).

Each round: the current model judges n pairs it sampled itself (:mod:`srlm_core.model.judge`),
then a DPO step (:mod:`srlm_core.model.dpo`) updates it.  The DPO reference is either fixed at
:math:`\pi_{\mathrm{ref}}` (the contraction of S1) or moving,
:math:`\pi_{\mathrm{ref}} \leftarrow \pi_t` (as in many iterative-DPO recipes).  Seeds are
batched along the first tensor axis.

Two engines draw and fit a round, with the same distribution of :math:`\theta_{t+1}`:
``samples`` draws the n pairs one by one (the reference implementation, :math:`O(n d^2)` per
Newton step), ``counts`` draws their counts per triple :math:`(x, y, y')` and fits on them
(:mod:`srlm_core.model.pair_counts`, cost independent of n).  ``auto`` takes counts when
:math:`n > C K^2`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd
import torch

from srlm_core.device import resolve_device
from srlm_core.errors import ConfigError, require, require_one_of
from srlm_core.model import metrics
from srlm_core.model.dpo import dpo_update, fit_logistic
from srlm_core.model.judge import judge_rewards, sample_pairs
from srlm_core.model.pair_counts import (
    PairCounts,
    dpo_update_counts,
    mle_missing,
    sample_pair_counts,
)
from srlm_core.model.policy import (
    MAX_SCALE,
    LinearSoftmaxProblem,
    ProblemConfig,
    initial_parameters,
)
from srlm_core.options import option
from srlm_core.stats import mean_interval

REFERENCES = ("fixed", "moving")
ENGINES = ("auto", "counts", "samples")
#: Largest n: the count engine holds counts in float64, exact integers up to :math:`2^{53}`.
MAX_N = 2**53
#: Share of the available memory a run may plan to use.
MEMORY_SHARE = 0.8


@dataclass(frozen=True)
class SimulationConfig(ProblemConfig):
    """Parameters of one simulation: its problem (the fields of
    :class:`~srlm_core.model.policy.ProblemConfig`) and its run; the names match the
    ``srlm simulate`` options.

    ``n = 0`` means the population update (n = infinity)."""

    alpha: float = option(0.5, "signal share alpha, in (0, 1]")
    n: int = option(1000, "pairs per round (0: the population update)")
    iters: int = option(6, "rounds")
    init_dist: float = option(2.0, "initial distance e_0 to the target")
    lam: float = option(0.0, "ridge of the DPO fit")
    seeds: int = option(8, "runs, batched")
    reference: str = option("fixed", "DPO reference: fixed (pi_ref) or moving (pi_t)")
    engine: str = option("auto",
                         "counts, samples or auto (counts when n > contexts K^2); see the module")
    device: str = option("cpu", "cpu, cuda or auto")

    @classmethod
    def on(cls, problem: ProblemConfig, **run) -> SimulationConfig:
        """The simulation of ``run`` (its fields by name) on ``problem``."""
        return cls(**asdict(problem), **run)

    def validate(self) -> SimulationConfig:
        """Raise :class:`~srlm_core.errors.ConfigError` naming the first invalid field: values
        out of range, non-finite or absurd scales, and sizes whose memory
        (:meth:`memory_bytes`) exceeds what the device has available."""
        scale = f"must be finite and at most {MAX_SCALE:g}"
        checks = [
            ("alpha", 0.0 < self.alpha <= 1.0, "must be in (0, 1]"),
            *self.checks(),
            ("n", self.n >= 0, "must be >= 1 (or 0 for the population update)"),
            ("n", self.n <= MAX_N, "must be at most 2**53 (counts are exact float64 integers)"),
            ("iters", self.iters >= 0, "must be >= 0"),
            ("init_dist", self.init_dist >= 0.0, "must be >= 0"),
            ("init_dist", self.init_dist <= MAX_SCALE, scale),
            ("lam", self.lam >= 0.0, "must be >= 0"),
            ("lam", self.lam <= MAX_SCALE, scale),
            ("seeds", self.seeds >= 1, "must be >= 1"),
            ("reference", self.reference in REFERENCES, f"must be one of {', '.join(REFERENCES)}"),
        ]
        require(self, *checks)
        require_one_of(self, "engine", ENGINES)
        device = resolve_device(self.device)
        self.require_memory(available_memory(device))
        return self

    def resolved_engine(self) -> str:
        """``population`` (n = 0), ``counts`` or ``samples``: what ``engine`` runs here."""
        if self.n == 0:
            return "population"
        if self.engine == "auto":
            return "counts" if self.n > self.contexts * self.K**2 else "samples"
        return self.engine

    def memory_bytes(self) -> dict[str, int]:
        """Estimated peak bytes of a run, by the field that drives each part: ``n``, the
        per-sample pairs (indices, probability rows, feature differences and the Newton
        products: :math:`8 S n (K + 3 d + 8)` with S seeds); ``contexts``, the cells of the
        count and population engines (:math:`8 S C K (12 K + 3 d)`); and ``d``, the
        features, Hessians and the history of parameters."""
        S, n, d, K, C = self.seeds, self.n, self.d, self.K, self.contexts
        engine = self.resolved_engine()
        parts = {"d": 8 * (3 * C * K * d + 6 * S * d * d + (self.iters + 1) * S * d)}
        if engine == "samples":
            parts["n"] = 8 * S * n * (K + 3 * d + 8)
        parts["contexts"] = 8 * S * C * K * (12 * K + 3 * d)
        return parts

    def require_memory(self, available: int) -> None:
        """Raise :class:`~srlm_core.errors.ConfigError` naming the field behind the largest
        part of :meth:`memory_bytes` when the total exceeds ``MEMORY_SHARE * available``."""
        parts = self.memory_bytes()
        total = sum(parts.values())
        if total <= MEMORY_SHARE * available:
            return
        field = max(parts, key=parts.get)
        hint = {"n": "use --engine counts (its memory does not grow with n) or fewer --seeds",
                "contexts": "use fewer --contexts, --K or --seeds",
                "d": "use a smaller --d or fewer --seeds"}[field]
        raise ConfigError(field, f"{getattr(self, field)} needs about {_gib(total)} of memory "
                          f"({self.resolved_engine()} engine, {self.seeds} seeds), more than "
                          f"the {_gib(available)} available; {hint}")


def _gib(size: float) -> str:
    """Bytes in GiB, TiB, PiB or EiB, three significant digits."""
    for power, unit in enumerate(("GiB", "TiB", "PiB"), start=3):
        if size < 1000 * 1024**power:
            return f"{size / 1024**power:.3g} {unit}"
    return f"{size / 1024**6:.3g} EiB"


def available_memory(device: torch.device) -> int:
    """Bytes available for a run on ``device``: free GPU memory, else the system's available
    memory (psutil, else ``os.sysconf``)."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:  # pragma: no cover - psutil ships with the lock
        import os

        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


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
        self.problem = (config.make() if problem is None else problem).to(self.device)

    def initial_thetas(self) -> torch.Tensor:
        """The initial parameters, one copy per seed: shape (S, d)."""
        theta0 = initial_parameters(self.problem, self.config.init_dist, self.config.seed)
        return theta0.expand(self.config.seeds, -1).clone()

    def step(
        self, theta: torch.Tensor, generator: torch.Generator, reference: torch.Tensor
    ) -> torch.Tensor:
        r""":math:`\theta_{t+1}` from :math:`\theta_t` with DPO reference ``reference``, by
        the config's engine.  Without ridge, a sample with no maximum-likelihood estimate
        raises :class:`~srlm_core.errors.ConfigError` on ``lam``."""
        c, p = self.config, self.problem
        engine = c.resolved_engine()
        if engine == "population":
            return population_update(p, theta, c.alpha, c.lam, reference)
        if engine == "counts":
            counts = sample_pair_counts(p, theta, c.alpha, c.n, generator)
            theta_next = dpo_update_counts(p, counts, c.lam, reference, theta)
        else:
            pairs = sample_pairs(p, theta, c.alpha, c.n, generator)
            dphi = pairs.feature_differences(p)
            theta_next = dpo_update(dphi, pairs.label, p.beta, c.lam, reference, theta)
            del dphi
            counts = PairCounts.from_pairs(pairs, p) if c.lam == 0.0 else None
        if c.lam == 0.0:
            self._require_mle(counts, theta_next - reference)
        return theta_next

    def _require_mle(self, counts: PairCounts, u: torch.Tensor) -> None:
        missing = mle_missing(self.problem, counts, u)
        if missing.any():
            raise ConfigError("lam", f"0 leaves the DPO step undefined: in {int(missing.sum())} "
                              f"of {len(missing)} seeds the {counts.n} pairs have no "
                              f"maximum-likelihood estimate (they are separable or do not span "
                              f"R^{self.problem.dim}); use a ridge, e.g. --lam 1e-3, or a "
                              f"larger --n")

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
