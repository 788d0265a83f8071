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

The numbers and verdicts of the values are :mod:`srlm_core.experiments.judge_failures_analysis`,
the tables of glue names :mod:`srlm_core.experiments.judge_failures_names`; the figures and the
closing table are drawn by :mod:`srlm_core.experiments.judge_failures_figures` (its plot
functions are this experiment's).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from srlm_core.errors import require, require_at_least, require_positive, require_shares
from srlm_core.experiments import named, row_names
from srlm_core.experiments.judge_failures_analysis import (
    APPROX_RTOL,
    arm_numbers,
    mean_and_interval,
    scalar_numbers,
    vanishing_numbers,
    verdicts,
)
from srlm_core.experiments.judge_failures_figures import plot, plot_vanishing  # noqa: F401
from srlm_core.experiments.judge_failures_names import (
    ARM_FIELDS,
    ARM_NAMES,
    NOISE_NAMES,
    SCALAR_NAMES,
    VANISHING_NAMES,
)
from srlm_core.model import metrics
from srlm_core.model.judge_variants import (
    JudgeVariant,
    VariantRunner,
    two_response_problem,
)
from srlm_core.model.policy import ProblemConfig
from srlm_core.model.self_rewarding import SelfRewardingRunner, SimulationConfig
from srlm_core.options import nested, option
from srlm_core.theory import judge_departures


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
    problem: ProblemConfig = nested(ProblemConfig(),
                                   "the random problems (instance i: seed + i)")
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
        settings = {"n": 0, "iters": 0, "seeds": 1, "init_dist": self.init_dist, **overrides}
        return SimulationConfig.on(self.problem.instance(instance), alpha=alpha, **settings)

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
        require_positive(self, "saturating", "noise", "init_dist", "tol", "blowup")
        require_positive(self.problem, "signal")
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
    problem = two_response_problem(w=config.problem.signal, beta=config.problem.beta)
    world = {judge_departures.alpha: config.alpha, judge_departures.beta: config.problem.beta,
             judge_departures.w: config.problem.signal}
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
        sim = SimulationConfig.on(replace(config.problem, d=1, K=2, contexts=1),
                                  alpha=config.alpha, n=0, iters=0, seeds=1,
                                  init_dist=config.init_dist)
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
                predicted = judge_departures.solve_fixed_point(law, values, config.problem.signal)
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
    return {"alpha": c.alpha, "beta": c.problem.beta, "bias": c.bias, "signal": c.problem.signal,
            "instances": c.instances, "n": c.n, "seeds": c.seeds, "init_dist": c.init_dist,
            "arms": arms, "scalar": scalar, "vanishing": fading, "noise_finite": finite}



def design(config: Config) -> dict:
    """The run parameters the chapter states (prefix ``jf_``), glued from the config so that
    the prose cannot drift from the run."""
    def listed(xs) -> str:
        return ", ".join(f"{x:g}" for x in xs)

    return {"jf_alpha": f"{config.alpha:g}", "jf_beta": f"{config.problem.beta:g}",
            "jf_signal": f"{config.problem.signal:g}", "jf_bias_alphas": listed(config.bias_alphas),
            "jf_s_sat": f"{config.saturating:g}",
            "jf_s_amp_weak": f"{min(config.amplifying):g}",
            "jf_s_amp_strong": f"{max(config.amplifying):g}", "jf_d": config.problem.d,
            "jf_K": config.problem.K, "jf_contexts": config.problem.contexts,
            "jf_tol": f"{config.tol:.0e}",
            "jf_blowup": f"{config.blowup:g}"}


def summarise(values: dict) -> dict:
    r"""Per arm the :func:`~srlm_core.experiments.judge_failures_analysis.arm_numbers`
    (:data:`~srlm_core.experiments.judge_failures_names.ARM_NAMES`); the bias displacement growth
    from the largest to the smallest share (measured and :math:`\alpha_{\max}/\alpha_{\min}`); per
    scalar case the :func:`~srlm_core.experiments.judge_failures_analysis.scalar_numbers`; for the
    vanishing signal the :func:`~srlm_core.experiments.judge_failures_analysis.vanishing_numbers`,
    the largest gap of a rate to :math:`1 - \alpha` and whether the smallest share's floor ratio
    holds its prediction; for the confidence noise with finite samples the excess squared error over
    the population gap per n (:data:`~srlm_core.experiments.judge_failures_names.NOISE_NAMES`); and
    the chapter's :func:`~srlm_core.experiments.judge_failures_analysis.verdicts`."""
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
            excess[row["n"]] = mean_and_interval(
                (np.asarray(row["noisy"]) - np.asarray(row["clean"])) / sq_gap)
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
