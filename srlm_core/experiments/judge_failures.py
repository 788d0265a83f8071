r"""When self-rewarding fails: judges that break the assumptions of S1, derived and simulated.

Each *arm* replaces the theory's judge by a :class:`srlm_core.model.judge_variants.JudgeVariant`
(a feature bias, a saturating or amplifying self-preference, noise that grows with the
model's confidence) and iterates the population round (:math:`n = \infty`) with a fixed
reference on ``instances`` independently drawn problems (the unit of independence), from
distance ``init_dist`` to the target, until a round moves :math:`\theta` by less than
``tol`` (*converged*), :math:`\lVert u_t\rVert_2` exceeds ``blowup`` or turns non-finite
(*diverged*), or ``max_rounds`` pass.  Measured per instance:

* the contraction rate: the geometric mean of :math:`e_{t+1}/e_t`,
  :math:`e_t = \lVert\theta_t - \theta_\infty\rVert_2`, over the rounds where the error has
  fallen below ``linear_below`` times its start (the linear regime near the fixed point);
* the linearised prediction: with J the Jacobian of the population map at
  :math:`\theta_\infty` (central differences), the geometric mean of
  :math:`\lVert J e_t\rVert/\lVert e_t\rVert` over the same rounds, and J's spectral
  radius (the asymptotic rate); for the theory and the bias the derived :math:`1 - \alpha`;
* the fixed point's distance :math:`\lVert\theta_\infty - \theta^*\rVert_2` and
  :math:`\operatorname{KL}(\pi^* \,\|\, \pi_\infty)`, against the derived
  :math:`w^* + b\,c_\psi/(\alpha\beta)` for the bias.

The *scalar world* (:func:`srlm_core.model.judge_variants.two_response_problem`) checks the
SymPy maps of :mod:`srlm_core.theory.judge_departures` exactly: fixed point and local rate.
The *vanishing signal* arm runs the theory's judge at shrinking :math:`\alpha`: the
population rate against :math:`1 - \alpha`, and with ``n`` pairs per round the stationary
mean squared error of runs started at the target (rounds after ``burn_in_rounds``) against the
derived :math:`\sigma^2/(\alpha(2 - \alpha))`, relative to the largest share.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sympy as sp
import torch

from srlm_core.errors import require, require_at_least, require_positive, require_shares
from srlm_core.experiments import named, row_names
from srlm_core.model import metrics
from srlm_core.model.judge_variants import (
    JudgeVariant,
    VariantRunner,
    two_response_problem,
)
from srlm_core.model.self_rewarding import SelfRewardingRunner, SimulationConfig
from srlm_core.options import option
from srlm_core.stats import mean_interval
from srlm_core.theory import judge_departures

#: what each kind of departure violates (the table's first column)
NEEDS = {
    "theory": "none (the theory's judge)",
    "bias": "no judge term outside r* and the log-ratio",
    "saturating": "self-preference linear in the log-ratio",
    "amplifying": "self-preference linear in the log-ratio",
    "confidence_noise": "label noise independent of the model (Bradley-Terry only)",
    "vanishing": "signal share alpha bounded away from 0",
}
#: relative gap below which a measured rate or fixed point "matches" its prediction
MATCH_RTOL = 0.01
#: the same for the probit approximation of the noisy judge's scalar law
APPROX_RTOL = 0.05
#: The quantities of a population arm (:func:`arm_numbers`), in the order of the rows of
#: :data:`ARM_NAMES`; the last three only where the arm has a closed form.
ARM_FIELDS = (
    "converged", "contracts", "rate", "rate_lo", "rate_hi", "rate_pred", "rate_gap",
    "rate_verdict", "radius", "unorm", "side", "dist", "dist_lo", "dist_hi", "kl", "kl_lo",
    "kl_hi", "dist_pred", "kl_pred", "dist_gap",
)
#: The glue names of each population arm of the book's run.
ARM_NAMES = {
    "theory": ("converged_theory", "contracts_theory", "rate_theory", "rate_theory_lo",
               "rate_theory_hi", "rate_pred_theory", "rate_gap_theory", "rate_verdict_theory",
               "radius_theory", "unorm_theory", "side_theory", "dist_theory", "dist_theory_lo",
               "dist_theory_hi", "kl_theory", "kl_theory_lo", "kl_theory_hi", "dist_pred_theory",
               "kl_pred_theory", "dist_gap_theory"),
    "bias_a50": ("converged_bias_a50", "contracts_bias_a50", "rate_bias_a50", "rate_bias_a50_lo",
                 "rate_bias_a50_hi", "rate_pred_bias_a50", "rate_gap_bias_a50",
                 "rate_verdict_bias_a50", "radius_bias_a50", "unorm_bias_a50", "side_bias_a50",
                 "dist_bias_a50", "dist_bias_a50_lo", "dist_bias_a50_hi", "kl_bias_a50",
                 "kl_bias_a50_lo", "kl_bias_a50_hi", "dist_pred_bias_a50", "kl_pred_bias_a50",
                 "dist_gap_bias_a50"),
    "bias_a25": ("converged_bias_a25", "contracts_bias_a25", "rate_bias_a25", "rate_bias_a25_lo",
                 "rate_bias_a25_hi", "rate_pred_bias_a25", "rate_gap_bias_a25",
                 "rate_verdict_bias_a25", "radius_bias_a25", "unorm_bias_a25", "side_bias_a25",
                 "dist_bias_a25", "dist_bias_a25_lo", "dist_bias_a25_hi", "kl_bias_a25",
                 "kl_bias_a25_lo", "kl_bias_a25_hi", "dist_pred_bias_a25", "kl_pred_bias_a25",
                 "dist_gap_bias_a25"),
    "bias_a10": ("converged_bias_a10", "contracts_bias_a10", "rate_bias_a10", "rate_bias_a10_lo",
                 "rate_bias_a10_hi", "rate_pred_bias_a10", "rate_gap_bias_a10",
                 "rate_verdict_bias_a10", "radius_bias_a10", "unorm_bias_a10", "side_bias_a10",
                 "dist_bias_a10", "dist_bias_a10_lo", "dist_bias_a10_hi", "kl_bias_a10",
                 "kl_bias_a10_lo", "kl_bias_a10_hi", "dist_pred_bias_a10", "kl_pred_bias_a10",
                 "dist_gap_bias_a10"),
    "saturating": ("converged_saturating", "contracts_saturating", "rate_saturating",
                   "rate_saturating_lo", "rate_saturating_hi", "rate_pred_saturating",
                   "rate_gap_saturating", "rate_verdict_saturating", "radius_saturating",
                   "unorm_saturating", "side_saturating", "dist_saturating", "dist_saturating_lo",
                   "dist_saturating_hi", "kl_saturating", "kl_saturating_lo", "kl_saturating_hi"),
    "amplifying_weak": ("converged_amplifying_weak", "contracts_amplifying_weak",
                        "rate_amplifying_weak", "rate_amplifying_weak_lo",
                        "rate_amplifying_weak_hi", "rate_pred_amplifying_weak",
                        "rate_gap_amplifying_weak", "rate_verdict_amplifying_weak",
                        "radius_amplifying_weak", "unorm_amplifying_weak", "side_amplifying_weak",
                        "dist_amplifying_weak", "dist_amplifying_weak_lo",
                        "dist_amplifying_weak_hi", "kl_amplifying_weak", "kl_amplifying_weak_lo",
                        "kl_amplifying_weak_hi"),
    "amplifying_strong": ("converged_amplifying_strong", "contracts_amplifying_strong",
                          "rate_amplifying_strong", "rate_amplifying_strong_lo",
                          "rate_amplifying_strong_hi", "rate_pred_amplifying_strong",
                          "rate_gap_amplifying_strong", "rate_verdict_amplifying_strong",
                          "radius_amplifying_strong", "unorm_amplifying_strong",
                          "side_amplifying_strong", "dist_amplifying_strong",
                          "dist_amplifying_strong_lo", "dist_amplifying_strong_hi",
                          "kl_amplifying_strong", "kl_amplifying_strong_lo",
                          "kl_amplifying_strong_hi"),
    "confidence_noise": ("converged_confidence_noise", "contracts_confidence_noise",
                         "rate_confidence_noise", "rate_confidence_noise_lo",
                         "rate_confidence_noise_hi", "rate_pred_confidence_noise",
                         "rate_gap_confidence_noise", "rate_verdict_confidence_noise",
                         "radius_confidence_noise", "unorm_confidence_noise",
                         "side_confidence_noise", "dist_confidence_noise",
                         "dist_confidence_noise_lo", "dist_confidence_noise_hi",
                         "kl_confidence_noise", "kl_confidence_noise_lo", "kl_confidence_noise_hi"),
}
#: The glue names of each scalar case's numbers (:func:`scalar_numbers`).
SCALAR_NAMES = {
    "saturating": {"status": "scalar_saturating_status", "fixed": "scalar_saturating_fixed",
                   "fixed_pred": "scalar_saturating_fixed_pred", "rate": "scalar_saturating_rate",
                   "rate_pred": "scalar_saturating_rate_pred",
                   "fixed_gap_pct": "scalar_saturating_fixed_gap_pct",
                   "verdict": "scalar_saturating_verdict",
                   "rate_verdict": "scalar_saturating_rate_verdict"},
    "amplifying_weak": {"status": "scalar_amplifying_weak_status",
                        "fixed": "scalar_amplifying_weak_fixed",
                        "fixed_pred": "scalar_amplifying_weak_fixed_pred",
                        "rate": "scalar_amplifying_weak_rate",
                        "rate_pred": "scalar_amplifying_weak_rate_pred",
                        "fixed_gap_pct": "scalar_amplifying_weak_fixed_gap_pct",
                        "verdict": "scalar_amplifying_weak_verdict",
                        "rate_verdict": "scalar_amplifying_weak_rate_verdict",
                        "above": "scalar_amplifying_weak_above"},
    "amplifying_strong": {"status": "scalar_amplifying_strong_status",
                          "fixed": "scalar_amplifying_strong_fixed",
                          "fixed_pred": "scalar_amplifying_strong_fixed_pred",
                          "rate": "scalar_amplifying_strong_rate",
                          "rate_pred": "scalar_amplifying_strong_rate_pred",
                          "above": "scalar_amplifying_strong_above"},
    "confidence_noise": {"status": "scalar_confidence_noise_status",
                         "fixed": "scalar_confidence_noise_fixed",
                         "fixed_pred": "scalar_confidence_noise_fixed_pred",
                         "rate": "scalar_confidence_noise_rate",
                         "rate_pred": "scalar_confidence_noise_rate_pred",
                         "fixed_gap_pct": "scalar_confidence_noise_fixed_gap_pct",
                         "verdict": "scalar_confidence_noise_verdict",
                         "rate_verdict": "scalar_confidence_noise_rate_verdict"},
}
#: The glue names of the vanishing signal's numbers per share (:func:`vanishing_numbers`).
VANISHING_NAMES = {
    0.5: {"rate": "van_rate_a50", "rate_pred": "van_rate_pred_a50", "floor": "van_floor_a50",
          "floor_lo": "van_floor_a50_lo", "floor_hi": "van_floor_a50_hi", "ratio": "van_ratio_a50",
          "ratio_lo": "van_ratio_a50_lo", "ratio_hi": "van_ratio_a50_hi",
          "ratio_pred": "van_ratio_pred_a50", "rounds": "van_rounds_a50"},
    0.2: {"rate": "van_rate_a20", "rate_pred": "van_rate_pred_a20", "floor": "van_floor_a20",
          "floor_lo": "van_floor_a20_lo", "floor_hi": "van_floor_a20_hi", "ratio": "van_ratio_a20",
          "ratio_lo": "van_ratio_a20_lo", "ratio_hi": "van_ratio_a20_hi",
          "ratio_pred": "van_ratio_pred_a20", "rounds": "van_rounds_a20"},
    0.1: {"rate": "van_rate_a10", "rate_pred": "van_rate_pred_a10", "floor": "van_floor_a10",
          "floor_lo": "van_floor_a10_lo", "floor_hi": "van_floor_a10_hi", "ratio": "van_ratio_a10",
          "ratio_lo": "van_ratio_a10_lo", "ratio_hi": "van_ratio_a10_hi",
          "ratio_pred": "van_ratio_pred_a10", "rounds": "van_rounds_a10"},
    0.05: {"rate": "van_rate_a5", "rate_pred": "van_rate_pred_a5", "floor": "van_floor_a5",
           "floor_lo": "van_floor_a5_lo", "floor_hi": "van_floor_a5_hi", "ratio": "van_ratio_a5",
           "ratio_lo": "van_ratio_a5_lo", "ratio_hi": "van_ratio_a5_hi",
           "ratio_pred": "van_ratio_pred_a5", "rounds": "van_rounds_a5"},
}
#: The glue names of the confidence noise's excess squared error (over the population gap;
#: mean and interval) and the clean floor, per n.
NOISE_NAMES = {
    1000: {"excess": "noise_excess_n1000", "excess_lo": "noise_excess_n1000_lo",
           "excess_hi": "noise_excess_n1000_hi", "floor": "noise_floor_n1000"},
    16000: {"excess": "noise_excess_n16000", "excess_lo": "noise_excess_n16000_lo",
            "excess_hi": "noise_excess_n16000_hi", "floor": "noise_floor_n16000"},
}
#: The glue names of the bias displacement predicted per share (the chapter's derivation).
PREDICTION_NAMES = {0.5: "jf_pred_a50", 0.25: "jf_pred_a25", 0.1: "jf_pred_a10"}


@dataclass(frozen=True)
class Config:
    """The chapter's run.  ``bias_alphas``: the signal shares of the bias arm;
    ``saturating``, ``amplifying`` (weak, strong) and ``noise``: the strengths s of the
    other arms (all at ``alpha``); ``vanishing_alphas``: decreasing shares of the last arm,
    with ``n`` pairs, ``seeds`` runs per instance and ``vanishing_rounds`` rounds."""

    alpha: float = option(0.5, "signal share alpha of the saturating, amplifying and noise arms")
    bias: float = option(0.2, "strength of the feature bias")
    bias_alphas: tuple[float, ...] = option((0.5, 0.25, 0.1), "signal shares of the bias arm")
    saturating: float = option(1.0, "strength s of the saturating self-preference")
    amplifying: tuple[float, ...] = option((1.0, 2.5),
                                           "strengths s of the amplifying self-preference (weak, "
                                           "strong)")
    noise: float = option(1.0, "strength s of the confidence-dependent noise")
    vanishing_alphas: tuple[float, ...] = option((0.5, 0.2, 0.1, 0.05),
                                                 "decreasing signal shares of the "
                                                 "vanishing-signal arm")
    vanishing_rounds: int = option(40, "rounds of the vanishing-signal runs")
    burn_in_rounds: int = option(30, "rounds dropped before the stationary mean squared error")
    n: int = option(4000, "pairs per round of the vanishing-signal runs")
    seeds: int = option(8, "runs per instance of the vanishing-signal arm")
    noise_ns: tuple[int, ...] = option((1000, 16000), "pair counts of the finite-n noise runs")
    noise_rounds: int = option(12, "rounds of the finite-n noise runs")
    noise_tail: int = option(4, "last rounds of a noise run whose mean square is averaged")
    instances: int = option(8, "random problems (the unit of independence)")
    d: int = option(8, "feature dimension")
    K: int = option(8, "responses per prompt")
    contexts: int = option(32, "prompts")
    beta: float = option(1.0, "KL strength beta")
    signal: float = option(1.0, "norm of the target w*")
    init_dist: float = option(2.0, "initial distance to the target")
    max_rounds: int = option(300, "most population rounds")
    plot_rounds: int = option(25, "rounds shown in the figures")
    tol: float = option(1e-12, "a run has converged when a round moves theta by less than this")
    blowup: float = option(10.0, "a run has diverged when ||u_t|| exceeds this")
    linear_below: float = option(1e-2,
                                 "the linear regime is the rounds whose error is below this share "
                                 "of its start")
    linear_floor: float = option(1e-7,
                                 "rounds whose next error is below this share of the start are "
                                 "left out of the rate (rounding)")
    seed: int = option(0, "seed of instance 0 (instance i uses seed + i)")

    def arms(self) -> list[tuple[str, JudgeVariant, float]]:
        """(name, judge, alpha) of every population arm of the general problem."""
        arms = [("theory", JudgeVariant(), self.alpha)]
        arms += [(f"bias_a{round(100 * a)}", JudgeVariant("bias", self.bias), a)
                 for a in self.bias_alphas]
        arms.append(("saturating", JudgeVariant("saturating", self.saturating), self.alpha))
        arms += [(f"amplifying_{label}", JudgeVariant("amplifying", s), self.alpha)
                 for label, s in zip(("weak", "strong"), self.amplifying)]
        arms.append(("confidence_noise", JudgeVariant("confidence_noise", self.noise),
                     self.alpha))
        return arms

    def simulation(self, alpha: float, instance: int, **overrides) -> SimulationConfig:
        """The population simulation of one instance (problem seed ``seed + instance``)."""
        fields = {"n": 0, "iters": 0, "seeds": 1, **overrides}
        return SimulationConfig.taking(self, alpha=alpha, seed=self.seed + instance, **fields)

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        require_shares(self, "bias_alphas")
        require_shares(self, "vanishing_alphas")
        require(self, ("alpha", 0.0 < self.alpha < 1.0, "must be in (0, 1)"),
                ("amplifying", len(self.amplifying) == 2 and min(self.amplifying) > 0,
                 "must be two positive strengths (weak, strong)"),
                ("burn_in_rounds", 0 <= self.burn_in_rounds < self.vanishing_rounds,
                 "must be in [0, vanishing_rounds)"),
                ("linear_below", 0.0 < self.linear_below < 1.0, "must be in (0, 1)"),
                ("linear_floor", 0.0 < self.linear_floor < self.linear_below,
                 "must be in (0, linear_below)"))
        require_at_least(self, 1, "n", "seeds", "max_rounds", "plot_rounds", "noise_tail")
        require(self, ("noise_ns", len(self.noise_ns) >= 1 and min(self.noise_ns) >= 1,
                       "must be one or more sample sizes >= 1"),
                ("noise_rounds", self.noise_rounds > self.noise_tail,
                 "must exceed noise_tail"))
        require_at_least(self, 2, "instances")
        require_positive(self, "saturating", "noise", "init_dist", "tol", "blowup", "signal")
        self.simulation(self.alpha, 0).validate()
        return self


def iterate(runner: SelfRewardingRunner, max_rounds: int, tol: float, blowup: float):
    r"""Population rounds from the runner's :math:`\theta_0` until converged, diverged or
    ``max_rounds``; returns (the list of :math:`\theta_t` of shape (1, d), status) with status
    ``converged``, ``diverged`` or ``unfinished``."""
    p = runner.problem
    theta = runner.initial_thetas()
    history = [theta]
    generator = torch.Generator().manual_seed(runner.config.seed)
    for _ in range(max_rounds):
        nxt = runner.step(theta, generator, p.theta_ref)
        if not torch.isfinite(nxt).all() or (nxt - p.theta_ref).norm() > blowup:
            return history, "diverged"
        history.append(nxt)
        if (nxt - theta).norm() < tol:
            return history, "converged"
        theta = nxt
    return history, "unfinished"


def linear_window(errors: np.ndarray, below: float, floor: float = 1e-7) -> list[int]:
    r"""The rounds t with :math:`e_t \le` ``below`` :math:`e_0` and
    :math:`e_{t+1} \ge` ``floor`` :math:`e_0` (the linear regime near the fixed point); if
    none, every t with :math:`e_{t+1} \ge` ``floor`` :math:`e_0`."""
    e = np.asarray(errors, float) / errors[0]
    pairs = [t for t in range(len(e) - 1) if e[t + 1] >= floor and e[t] > 0]
    return [t for t in pairs if e[t] <= below] or pairs


def linear_rate(errors: np.ndarray, below: float, floor: float = 1e-7) -> float:
    r"""Geometric mean of :math:`e_{t+1}/e_t` over :func:`linear_window`."""
    e = np.asarray(errors, float)
    return float(np.exp(np.mean([np.log(e[t + 1] / e[t])
                                 for t in linear_window(e, below, floor)])))


def jacobian(runner: SelfRewardingRunner, theta: torch.Tensor, h: float = 1e-5) -> np.ndarray:
    r""":math:`J = \partial\theta_{t+1}/\partial\theta_t` at ``theta`` (1, d), by central
    differences of the runner's population step (one batched call)."""
    d = theta.shape[-1]
    eye = torch.eye(d, dtype=theta.dtype)
    batch = torch.cat([theta + h * eye, theta - h * eye])
    out = runner.step(batch, torch.Generator(), runner.problem.theta_ref)
    return ((out[:d] - out[d:]) / (2 * h)).T.numpy()


def linearised_rate(jac: np.ndarray, errors: np.ndarray, window: list[int]) -> float:
    r"""The rate the linearised map predicts on the measured rounds: the geometric mean of
    :math:`\lVert J e_t\rVert / \lVert e_t\rVert` over ``window``, with
    :math:`e_t = \theta_t - \theta_\infty` (rows of ``errors``).  It tends to the spectral
    radius of J as the error aligns with the leading eigenvector."""
    ratios = [np.linalg.norm(jac @ errors[t]) / np.linalg.norm(errors[t]) for t in window]
    return float(np.exp(np.mean(np.log(ratios))))


def measure_arm(config: Config, name: str, judge: JudgeVariant, alpha: float) -> dict:
    """One arm on every instance: status, rounds, measured and predicted rate, distance of
    the fixed point to the target and KL, their bias predictions, and the first
    ``plot_rounds`` errors to the target and to the fixed point."""
    rows = {k: [] for k in ("status", "rounds", "rate", "rate_predicted", "dist", "kl",
                            "dist_predicted", "kl_predicted", "u_norm", "radius", "to_target",
                            "to_fixed")}
    for i in range(config.instances):
        runner = VariantRunner(config.simulation(alpha, i), judge)
        p = runner.problem
        history, status = iterate(runner, config.max_rounds, config.tol, config.blowup)
        thetas = torch.cat(history)
        to_target = metrics.param_distance(p, thetas).numpy()
        last = thetas[-1:]
        to_fixed = (thetas - last).norm(dim=-1).numpy()
        exact = judge.is_theory or judge.kind == "bias"
        if status == "converged":
            window = linear_window(to_fixed[:-1], config.linear_below, config.linear_floor)
            rate = linear_rate(to_fixed[:-1], config.linear_below, config.linear_floor)
            jac = jacobian(runner, last)
            radius = float(np.abs(np.linalg.eigvals(jac)).max())
            predicted = (1 - alpha) if exact else linearised_rate(
                jac, (thetas - last).numpy(), window)
        else:
            rate = float(to_target[-1] / to_target[-2])
            predicted = radius = None
        if exact:
            shift = 0.0 if judge.is_theory else judge.strength / (alpha * p.beta)
            fixed = p.theta_star + shift * runner.direction
            rows["dist_predicted"].append(float(abs(shift)))
            rows["kl_predicted"].append(max(float(metrics.kl_target_to_policy(p, fixed)), 0.0))
        else:
            rows["dist_predicted"].append(None)
            rows["kl_predicted"].append(None)
        rows["status"].append(status)
        rows["rounds"].append(len(history) - 1)
        rows["rate"].append(rate)
        rows["rate_predicted"].append(predicted)
        rows["radius"].append(radius)
        rows["dist"].append(float(to_target[-1]))
        rows["kl"].append(max(float(metrics.kl_target_to_policy(p, last)[0]), 0.0))
        rows["u_norm"].append(float((last - p.theta_ref).norm()))
        rows["to_target"].append(to_target[: config.plot_rounds + 1].tolist())
        rows["to_fixed"].append(to_fixed[: config.plot_rounds + 1].tolist())
    return {"name": name, "kind": judge.kind, "strength": judge.strength, "alpha": alpha,
            **rows}


def scalar_world(config: Config) -> list[dict]:
    r"""The two-response problem (:math:`w =` ``signal``) under the saturating, both
    amplifying and the noisy judge: the measured fixed point and rate of the population
    iteration against the SymPy map's (``sympy.nsolve``; the probit approximation for the
    noise), and whether the amplifying strength exceeds the derived threshold
    :math:`s_c`."""
    problem = two_response_problem(w=config.signal, beta=config.beta)
    world = {judge_departures.alpha: config.alpha, judge_departures.beta: config.beta,
             judge_departures.w: config.signal}
    s_c = float(judge_departures.amplifying_threshold().critical_s.subs(world))
    saturating = judge_departures.nonlinear_map(judge_departures.saturating_g())
    amplifying = judge_departures.nonlinear_map(judge_departures.amplifying_g())
    cases = [("saturating", config.saturating, saturating),
             ("amplifying_weak", config.amplifying[0], amplifying),
             ("amplifying_strong", config.amplifying[1], amplifying),
             ("confidence_noise", config.noise, judge_departures.confidence_noise_map())]
    out = []
    for name, strength, law in cases:
        kind = name.split("_")[0] if name.startswith("amplifying") else name
        judge = JudgeVariant(kind, strength)
        sim = SimulationConfig(alpha=config.alpha, beta=config.beta, n=0, iters=0, seeds=1,
                               d=1, K=2, contexts=1, init_dist=config.init_dist,
                               signal=config.signal, seed=config.seed)
        runner = VariantRunner(sim, judge, problem=problem)
        history, status = iterate(runner, config.max_rounds, config.tol, config.blowup)
        u_path = torch.cat(history)[:, 0].numpy()
        values = {**world, judge_departures.s: strength}
        row = {"name": name, "strength": strength, "status": status,
               "threshold": s_c if kind == "amplifying" else None,
               "u_path": u_path[: config.plot_rounds + 1].tolist()}
        if status == "converged":
            u_inf = float(u_path[-1])
            predicted = judge_departures.solve_fixed_point(law, values, u_inf)
            row.update(fixed=u_inf, fixed_predicted=predicted,
                       rate=linear_rate(np.abs(u_path[:-1] - u_inf), config.linear_below,
                                       config.linear_floor),
                       rate_predicted=judge_departures.local_rate(law, values, predicted))
        else:
            try:
                predicted = judge_departures.solve_fixed_point(law, values, config.signal)
            except (ValueError, ZeroDivisionError):  # nsolve finds no root: none exists
                predicted = None
            row.update(fixed=None, fixed_predicted=predicted, rate=None, rate_predicted=None)
        out.append(row)
    return out


def vanishing(config: Config) -> dict:
    r"""The theory's judge at each share of ``vanishing_alphas``, per instance: the
    population rate (geometric mean of :math:`e_{t+1}/e_t` over ``plot_rounds`` rounds) and
    the finite-n stationary mean of :math:`e_t^2` (``seeds`` runs started at the target,
    rounds after ``burn_in_rounds``)."""
    rates, floors = [], []
    for a in config.vanishing_alphas:
        rate_row, floor_row = [], []
        for i in range(config.instances):
            runner = SelfRewardingRunner(config.simulation(a, i, iters=config.plot_rounds))
            e = metrics.param_distance(runner.problem, runner.run().thetas)[:, 0].numpy()
            rate_row.append(linear_rate(e, below=1.0))
            noisy = config.simulation(a, i, n=config.n, seeds=config.seeds, init_dist=0.0,
                                      iters=config.vanishing_rounds, engine="counts")
            result = SelfRewardingRunner(noisy).run()
            sq = metrics.param_distance(result.problem, result.thetas)[
                config.burn_in_rounds + 1:].numpy() ** 2
            floor_row.append(float(sq.mean()))
        rates.append(rate_row)
        floors.append(floor_row)
    return {"alphas": list(config.vanishing_alphas), "rate": rates, "floor": floors}


def noisy_finite_n(config: Config) -> dict:
    r"""The confidence-noise judge with finite samples: per sample size of ``noise_ns`` and
    instance, the mean of :math:`\lVert\theta_t - \theta^*\rVert_2^2` over the last
    ``noise_tail`` of ``noise_rounds`` rounds and ``seeds`` runs, for the noisy judge and for
    the theory's judge at the same n (the floor).  Their difference, the *excess*, estimates
    the squared distance of the noisy fixed point to the target, whatever n."""
    noisy_judge = JudgeVariant("confidence_noise", config.noise)
    rows = []
    for n in config.noise_ns:
        noisy, clean = [], []
        for i in range(config.instances):
            sim = config.simulation(config.alpha, i, n=n, seeds=config.seeds,
                                    iters=config.noise_rounds)
            for judge, sink in ((noisy_judge, noisy), (JudgeVariant(), clean)):
                result = VariantRunner(sim, judge).run()
                dist = metrics.param_distance(result.problem, result.thetas)
                sink.append(float((dist[-config.noise_tail:] ** 2).mean()))
        rows.append({"n": n, "noisy": noisy, "clean": clean})
    return {"rows": rows}


def run(config: Config) -> dict:
    """Every population arm (:func:`measure_arm`), the scalar world (:func:`scalar_world`),
    the vanishing signal (:func:`vanishing`) and the noisy judge with finite samples
    (:func:`noisy_finite_n`)."""
    c = config.validate()
    arms = [measure_arm(c, name, judge, a) for name, judge, a in c.arms()]
    scalar = scalar_world(c)
    fading = vanishing(c)
    finite = noisy_finite_n(c)
    return {"alpha": c.alpha, "beta": c.beta, "bias": c.bias, "signal": c.signal,
            "instances": c.instances, "n": c.n, "seeds": c.seeds, "init_dist": c.init_dist,
            "arms": arms, "scalar": scalar, "vanishing": fading, "noise_finite": finite}


def _interval(values) -> tuple[float, float, float]:
    iv = mean_interval(values)
    return iv.mean, iv.lo, iv.hi


def _matches(measured: float, predicted: float | None, rtol: float = MATCH_RTOL) -> str:
    if predicted is None:
        return "no prediction"
    return "matches" if abs(measured - predicted) <= rtol * abs(predicted) else "departs"


def design(config: Config) -> dict:
    """The run parameters the chapter states (prefix ``jf_``), glued from the config so that
    the prose cannot drift from the run."""
    def listed(xs) -> str:
        return ", ".join(f"{x:g}" for x in xs)

    return {"jf_alpha": f"{config.alpha:g}", "jf_beta": f"{config.beta:g}",
            "jf_signal": f"{config.signal:g}", "jf_bias_alphas": listed(config.bias_alphas),
            "jf_s_sat": f"{config.saturating:g}",
            "jf_s_amp_weak": f"{min(config.amplifying):g}",
            "jf_s_amp_strong": f"{max(config.amplifying):g}", "jf_d": config.d,
            "jf_K": config.K, "jf_contexts": config.contexts, "jf_tol": f"{config.tol:.0e}",
            "jf_blowup": f"{config.blowup:g}"}


def arm_numbers(arm: dict, signal: float) -> dict:
    r"""One population arm (:data:`ARM_FIELDS`): the number of instances that converge, the
    verdict ``contracts`` / ``does not contract`` (every instance converged or not), the rate's
    mean and 95% interval over instances and the mean prediction with the verdict ``matches`` /
    ``departs`` (largest relative gap within :data:`MATCH_RTOL`), the spectral radius of the
    Jacobian, :math:`\lVert u_\infty\rVert` and whether it lies ``beyond`` or ``short of``
    :math:`\lVert w^*\rVert` (``signal``), the fixed point's distance and KL (mean,
    interval; predicted for the arms with a closed form)."""
    ok = [s == "converged" for s in arm["status"]]
    out = {"converged": int(sum(ok)),
           "contracts": "contracts" if all(ok) else (
               "does not contract" if not any(ok) else "contracts on some instances")}
    out["rate"], out["rate_lo"], out["rate_hi"] = _interval(arm["rate"])
    preds = [p for p in arm["rate_predicted"] if p is not None]
    if preds and all(ok):
        out["rate_pred"] = float(np.mean(preds))
        gap = max(abs(r / p - 1) for r, p in zip(arm["rate"], arm["rate_predicted"]))
        out["rate_gap"] = float(gap)
        out["rate_verdict"] = "matches" if gap <= MATCH_RTOL else "departs"
    else:
        out["rate_pred"] = None
        out["rate_gap"] = None
        out["rate_verdict"] = "no fixed point"
    radii = [r for r in arm["radius"] if r is not None]
    out["radius"] = float(np.mean(radii)) if radii else None
    out["unorm"] = float(np.mean(arm["u_norm"]))
    gap = out["unorm"] - signal
    out["side"] = "at" if abs(gap) < 1e-6 else ("beyond" if gap > 0 else "short of")
    out["dist"], out["dist_lo"], out["dist_hi"] = _interval(arm["dist"])
    out["kl"], out["kl_lo"], out["kl_hi"] = _interval(arm["kl"])
    if arm["dist_predicted"][0] is not None:
        out["dist_pred"] = float(np.mean(arm["dist_predicted"]))
        out["kl_pred"] = float(np.mean(arm["kl_predicted"]))
        out["dist_gap"] = float(max(abs(m - p) for m, p in zip(arm["dist"],
                                                                  arm["dist_predicted"])))
    return out


def scalar_numbers(row: dict) -> dict:
    """One scalar case (:data:`SCALAR_NAMES`): its status, fixed point and rate against the
    SymPy values, with the fixed point's gap in percent and the verdicts where it has one."""
    out = {"status": row["status"], "fixed": row["fixed"], "fixed_pred": row["fixed_predicted"],
           "rate": row["rate"], "rate_pred": row["rate_predicted"]}
    if row["fixed"] is not None:
        rtol = APPROX_RTOL if row["name"] == "confidence_noise" else MATCH_RTOL
        out |= {"fixed_gap_pct": float(100 * abs(row["fixed"] / row["fixed_predicted"] - 1)),
                "verdict": _matches(row["fixed"], row["fixed_predicted"], rtol),
                "rate_verdict": _matches(row["rate"], row["rate_predicted"], rtol)}
    return out


def vanishing_numbers(fade: dict) -> dict:
    r"""The vanishing signal per share (:data:`VANISHING_NAMES`): the mean rate and its
    prediction :math:`1 - \alpha`, the finite-n floor and its ratio to the largest share's
    (mean and 95% interval over instances, the unit of independence) against
    :math:`\alpha_0(2 - \alpha_0)/(\alpha(2 - \alpha))`, and the rounds to a hundredth."""
    a0, floors0 = fade["alphas"][0], np.asarray(fade["floor"][0])
    out = {}
    for a, rate, floor in zip(fade["alphas"], fade["rate"], fade["floor"]):
        numbers = {"rate": float(np.mean(rate)), "rate_pred": 1 - a}
        numbers["floor"], numbers["floor_lo"], numbers["floor_hi"] = _interval(floor)
        numbers["ratio"], numbers["ratio_lo"], numbers["ratio_hi"] = _interval(
            np.asarray(floor) / floors0)
        numbers["ratio_pred"] = a0 * (2 - a0) / (a * (2 - a))
        numbers["rounds"] = float(math.log(0.01) / math.log(1 - a))
        out[a] = numbers
    return out


def summarise(values: dict) -> dict:
    r"""Per arm the :func:`arm_numbers` (:data:`ARM_NAMES`); the bias displacement growth from
    the largest to the smallest share (measured and :math:`\alpha_{\max}/\alpha_{\min}`);
    per scalar case the :func:`scalar_numbers`; for the vanishing signal the
    :func:`vanishing_numbers`, the largest gap of a rate to :math:`1 - \alpha` and whether the
    smallest share's floor ratio holds its prediction; for the confidence noise with finite
    samples the excess squared error over the population gap per n (:data:`NOISE_NAMES`); and
    the chapter's :func:`verdicts`."""
    out = {"alpha": values["alpha"], "bias_b": values["bias"], "n_instances":
           values["instances"], "n_pairs": values["n"], "e0": values["init_dist"]}
    arms = {arm["name"]: arm_numbers(arm, values["signal"]) for arm in values["arms"]}
    for name, numbers in arms.items():
        out |= named(row_names(ARM_FIELDS, ARM_NAMES.get(name)), **numbers)
    bias = [a for a in values["arms"] if a["kind"] == "bias"]
    if len(bias) >= 2:
        first, last = bias[0], bias[-1]
        out["bias_growth"] = float(np.mean(last["dist"]) / np.mean(first["dist"]))
        out["bias_growth_pred"] = float(first["alpha"] / last["alpha"])
        out["bias_alpha_min"] = last["alpha"]
    out["scalar_approx_rtol_pct"] = 100 * APPROX_RTOL
    scalars = {row["name"]: scalar_numbers(row) for row in values["scalar"]}
    for row in values["scalar"]:
        names = SCALAR_NAMES.get(row["name"])
        out |= named(names, **scalars[row["name"]])
        if row["threshold"] is not None:
            out["scalar_threshold"] = row["threshold"]
            out |= named(names, above="above" if row["strength"] > row["threshold"] else "below")
    fade = values["vanishing"]
    fading = vanishing_numbers(fade)
    for a, numbers in fading.items():
        out |= named(VANISHING_NAMES.get(a), **numbers)
    out["van_rate_gap"] = float(max(max(abs(r - (1 - a)) for r in rate)
                                    for a, rate in zip(fade["alphas"], fade["rate"])))
    smallest = fading[fade["alphas"][-1]]
    out["van_alpha_min"] = fade["alphas"][-1]
    out["van_floor_verdict"] = ("inside" if smallest["ratio_lo"] <= smallest["ratio_pred"]
                                <= smallest["ratio_hi"] else "outside")
    noise = [a for a in values["arms"] if a["name"] == "confidence_noise"]
    if noise and values.get("noise_finite") and min(noise[0]["dist"]) > 0:
        sq_gap = np.asarray(noise[0]["dist"]) ** 2  # per instance, population
        out["noise_sq_gap"] = float(sq_gap.mean())
        excess = {}
        for row in values["noise_finite"]["rows"]:
            excess[row["n"]] = _interval((np.asarray(row["noisy"]) - np.asarray(row["clean"]))
                                         / sq_gap)
            mean, lo, hi = excess[row["n"]]
            out |= named(NOISE_NAMES.get(row["n"]), excess=mean, excess_lo=lo, excess_hi=hi,
                         floor=float(np.mean(row["clean"])))
        first = values["noise_finite"]["rows"][0]
        out["noise_n_min"] = first["n"]
        out["noise_small_n"] = ("lower" if np.mean(first["noisy"]) < np.mean(first["clean"])
                                else "higher")
        out["noise_n_max"] = values["noise_finite"]["rows"][-1]["n"]
        out["noise_gap_persists"] = ("persists" if excess[out["noise_n_max"]][1] > 0.5
                                     else "vanishes")
    out.update(verdicts(values, arms, scalars, out))
    return out


def _word(ok: bool) -> str:
    return "holds" if ok else "fails"


def verdicts(values: dict, arms: dict, scalars: dict, out: dict) -> dict:
    r"""The chapter's four predictions, ``holds`` / ``fails``, from the :func:`arm_numbers` and
    :func:`scalar_numbers` by name and the summary ``out``.

    F1 (bias): every bias arm contracts at its :math:`1 - \alpha` (verdict ``matches``) and
    its fixed point lies at :math:`|b|/(\alpha\beta)` within 1e-6 relative.  F2 (nonlinear
    g): the scalar fixed points and rates match SymPy, the strong scalar amplifier diverges;
    in the general problem the saturating and weak amplifying arms contract at their
    linearised rates, below / above :math:`1 - \alpha`, short of / beyond :math:`w^*`, and
    the strong amplifier does not contract.  F3 (confidence noise): it contracts faster than
    :math:`1 - \alpha`, short of :math:`w^*`, at a distance above 1e-3, the probit law
    matches the scalar fixed point within 5%, and with finite samples the excess squared error
    over the theory's judge stays above half the population gap at the largest n.  F4
    (vanishing signal): the population rates are :math:`1 - \alpha` within 1e-3 and the
    floor ratio's interval holds its prediction."""
    a = values["alpha"]
    result = {}
    bias = [arms[n] for n in arms if n.startswith("bias")]
    if bias:
        result["verdict_f1"] = _word(all(
            arm["contracts"] == "contracts" and arm["rate_verdict"] == "matches"
            and arm["dist_gap"] <= 1e-6 * max(arm["dist_pred"], 1e-12) for arm in bias))
    if {"saturating", "amplifying_weak", "amplifying_strong"} <= set(arms):
        scalar_ok = all(scalars.get(n, {}).get("verdict") == "matches"
                        and scalars.get(n, {}).get("rate_verdict") == "matches"
                        for n in ("saturating", "amplifying_weak"))
        sat, weak = arms["saturating"], arms["amplifying_weak"]
        general_ok = (
            sat["contracts"] == "contracts" and sat["rate_verdict"] == "matches"
            and sat["rate"] < 1 - a and sat["side"] == "short of"
            and weak["contracts"] == "contracts" and weak["rate_verdict"] == "matches"
            and weak["rate"] > 1 - a and weak["side"] == "beyond"
            and arms["amplifying_strong"]["contracts"] == "does not contract")
        result["verdict_f2"] = _word(
            scalar_ok and general_ok
            and scalars.get("amplifying_strong", {}).get("status") == "diverged")
    if "confidence_noise" in arms:
        noise = arms["confidence_noise"]
        result["verdict_f3"] = _word(
            noise["contracts"] == "contracts" and noise["rate"] < 1 - a
            and noise["side"] == "short of" and noise["dist"] > 1e-3
            and scalars.get("confidence_noise", {}).get("verdict") == "matches"
            and out.get("noise_gap_persists") == "persists")
    result["verdict_f4"] = _word(out["van_rate_gap"] <= 1e-3
                                 and out["van_floor_verdict"] == "inside")
    return result


def table(values: dict):
    """The chapter's closing table (a pandas DataFrame of strings), every cell from
    :func:`arm_numbers` and :func:`vanishing_numbers`: per departure the need of the guarantee it
    violates, whether the iteration contracts, the measured rate against the prediction, and the
    fixed point's distance to the target and KL."""
    import pandas as pd

    fading = vanishing_numbers(values["vanishing"])

    def fmt(x, spec=".3f"):
        return "-" if x is None else format(x, spec)

    rows = []
    for arm in values["arms"]:
        k = arm["name"]
        label = {"theory": "theory's judge", "saturating": f"saturating g, s = {arm['strength']}",
                 "confidence_noise": f"confidence noise, s = {arm['strength']}"}.get(k)
        if label is None and arm["kind"] == "bias":
            label = f"bias b = {arm['strength']}, alpha = {arm['alpha']}"
        if label is None:
            label = f"amplifying g, s = {arm['strength']}"
        got = arm_numbers(arm, values["signal"])
        dist_pred = got.get("dist_pred")
        rows.append({
            "departure": label,
            "need it violates": NEEDS[arm["kind"]],
            "iteration": got["contracts"],
            "rate (measured)": f"{fmt(got['rate'])} [{fmt(got['rate_lo'])}, "
                               f"{fmt(got['rate_hi'])}]",
            "rate (predicted)": fmt(got["rate_pred"]),
            "rate is": got["rate_verdict"],
            "||theta_inf - theta*||": f"{fmt(got['dist'])}"
                                      + (f" (pred. {fmt(dist_pred)})" if dist_pred is not None
                                         else ""),
            "KL(pi* || pi_inf)": fmt(got["kl"], ".2e"),
        })
    for a in values["vanishing"]["alphas"][1:]:
        got = fading[a]
        rows.append({
            "departure": f"alpha = {a} (theory's judge, n = {values['n']})",
            "need it violates": NEEDS["vanishing"],
            "iteration": "contracts" if got["rate"] < 1 else "does not contract",
            "rate (measured)": fmt(got["rate"]),
            "rate (predicted)": fmt(got["rate_pred"]),
            "rate is": _matches(got["rate"], got["rate_pred"]),
            "||theta_inf - theta*||": f"floor x{got['ratio']:.2f} "
                                      f"(pred. x{got['ratio_pred']:.2f})",
            "KL(pi* || pi_inf)": "-",
        })
    return pd.DataFrame(rows)


def plot(values: dict):
    r"""Left: :math:`\lVert\theta_t - \theta_\infty\rVert_2` (mean over instances, log scale)
    per population arm that converges, against :math:`e_0(1-\alpha)^t` (dashed); right:
    :math:`\lVert\theta_t - \theta^*\rVert_2`, where a displaced fixed point shows as a
    plateau and a diverging arm as a rising line."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    arms = values["arms"]
    colours = dict(zip([a["name"] for a in arms], sns.color_palette("tab10", len(arms))))
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for arm in arms:
        converged = all(s == "converged" for s in arm["status"])
        panels = ((left, "to_fixed"), (right, "to_target")) if converged else \
            ((right, "to_target"),)
        for ax, key in panels:
            length = min(len(r) for r in arm[key])
            mean = np.mean([r[:length] for r in arm[key]], axis=0)
            ax.plot(np.arange(length), mean, marker="o", ms=3, color=colours[arm["name"]],
                    label=arm["name"])
    steps = np.arange(max(len(r) for a in arms for r in a["to_fixed"]))
    left.plot(steps, values["init_dist"] * (1 - values["alpha"]) ** steps, "k--", lw=1,
              label=r"$e_0(1-\alpha)^t$")
    for ax, label in ((left, r"$\|\theta_t-\theta_\infty\|_2$"),
                      (right, r"$\|\theta_t-\theta^\star\|_2$")):
        ax.set_yscale("log")
        ax.set_xlabel("round $t$")
        ax.set_ylabel(label)
    left.set_ylim(bottom=1e-12)
    right.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.tight_layout()
    return fig


def plot_vanishing(values: dict):
    r"""The vanishing signal: the finite-n stationary mean of :math:`e_t^2` relative to the
    largest share (mean and 95% interval over instances) against
    :math:`\alpha_0(2-\alpha_0)/(\alpha(2-\alpha))` (dashed); log-log."""
    import matplotlib.pyplot as plt

    fading = vanishing_numbers(values["vanishing"])
    alphas = values["vanishing"]["alphas"]
    mean = [fading[a]["ratio"] for a in alphas]
    err = [[m - fading[a]["ratio_lo"] for m, a in zip(mean, alphas)],
           [fading[a]["ratio_hi"] - m for m, a in zip(mean, alphas)]]
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    ax.errorbar(alphas, mean, yerr=err, fmt="o", capsize=3, label="measured")
    grid = np.geomspace(min(alphas), max(alphas), 50)
    a0 = alphas[0]
    ax.plot(grid, a0 * (2 - a0) / (grid * (2 - grid)), "k--", lw=1,
            label=r"$\alpha_0(2-\alpha_0)/(\alpha(2-\alpha))$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(alphas, [f"{a:g}" for a in alphas])
    ax.minorticks_off()
    ax.set_xlabel(r"signal share $\alpha$")
    ax.set_ylabel("stationary error$^2$ / that at " + rf"$\alpha={a0}$")
    ax.legend()
    fig.tight_layout()
    return fig


def latex(expr) -> str:
    """``sympy.latex`` of a derived expression, for the chapter's glued formulas."""
    return sp.latex(expr)
