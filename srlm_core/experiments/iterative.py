"""S4 experiment: the error after many self-rewarding iterations against the sample size n.

For each n of a doubling grid, ``seeds`` independent runs of ``iters`` rounds (fixed
reference, lambda = 0) from the same initial model; T is large enough that (1 - alpha)^T e_0
is far below the statistical floor, so the error at T is the floor.  Stored per n: the
per-seed ||theta_T - theta*|| and KL(pi* || pi_T), whether the S4 bound
(:func:`srlm_core.model.bounds.iterative_bound`) held at every t <= T, and the bound and the
linear-Gaussian predictions at T.  The chapter fits log error against log n (S4 predicts
slope -1/2 for the distance and -1 for the KL) and reports the coverage.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from srlm_core.errors import ConfigError
from srlm_core.model import metrics
from srlm_core.model.bounds import iterative_bound, validate_delta
from srlm_core.model.self_rewarding import SelfRewardingRunner, SimulationConfig
from srlm_core.stats import fit_slope

TITLE = "S4: error at large T against n per iteration, and coverage of the iterative bound"
TOLERANCE = {"rtol": 1e-6, "atol": 1e-9}


@dataclass(frozen=True)
class Config:
    """n runs over ``n_min * 2**j`` up to ``n_max``."""

    alpha: float = 0.5
    n_min: int = 250
    n_max: int = 16000
    iters: int = 10
    init_dist: float = 2.0
    d: int = 8
    K: int = 8
    contexts: int = 32
    seeds: int = 64
    delta: float = 0.05
    seed: int = 0
    device: str = "cpu"

    def grid(self) -> list[int]:
        ns, n = [], self.n_min
        while n <= self.n_max:
            ns.append(n)
            n *= 2
        return ns

    def simulation(self, n: int) -> SimulationConfig:
        return SimulationConfig(
            alpha=self.alpha, n=n, iters=self.iters, d=self.d, K=self.K,
            contexts=self.contexts, init_dist=self.init_dist, seeds=self.seeds,
            seed=self.seed, device=self.device,
        )

    def validate(self) -> Config:
        if self.n_min < 1:
            raise ConfigError("n_min", f"must be >= 1, got {self.n_min}")
        if self.n_max < self.n_min:
            raise ConfigError("n_max", f"must be >= n_min ({self.n_min}), got {self.n_max}")
        validate_delta(self.delta)
        self.simulation(self.n_min).validate()
        return self


def run(config: Config) -> dict:
    per_n = []
    for n in config.grid():
        sim = config.simulation(n)
        result = SelfRewardingRunner(sim).run()
        dist = metrics.param_distance(result.problem, result.thetas).cpu().numpy()  # (T+1, S)
        kl = metrics.kl_target_to_policy(result.problem, result.thetas).cpu().numpy()
        frame = iterative_bound(replace(sim, device="cpu"), delta=config.delta).frame
        bound = frame["bound"].to_numpy()
        per_n.append(
            {
                "n": n,
                "dist_T": dist[-1].tolist(),
                "kl_T": kl[-1].tolist(),
                "covered_all_t": (dist <= bound[:, None]).all(axis=0).tolist(),
                "bound_T": float(bound[-1]),
                "bound_uniform_T": float(frame["bound_uniform"].iloc[-1]),
                "bound_kappa_T": float(frame["bound_kappa"].iloc[-1]),
                "predicted_rms_T": float(frame["predicted_rms"].iloc[-1]),
                "predicted_kl_T": float(frame["predicted_kl"].iloc[-1]),
                "population_dist_T": float(frame["population_dist"].iloc[-1]),
            }
        )
    slopes = {}
    for key in ("dist_T", "kl_T"):
        x = np.concatenate([np.full(config.seeds, np.log(row["n"])) for row in per_n])
        y = np.log(np.concatenate([row[key] for row in per_n]))
        fit = fit_slope(x, y)
        slopes[key] = {"slope": fit.slope, "lo": fit.lo, "hi": fit.hi, "intercept": fit.intercept}
    coverage = float(np.mean([c for row in per_n for c in row["covered_all_t"]]))
    return {"per_n": per_n, "slopes": slopes, "coverage": coverage}
