r"""S2 in coverage form: how many pairs one step needs when :math:`\pi_0` rarely writes the best
answer, with shared features, and T rounds at the same total budget.

The DPO reference is the initial model, :math:`\pi_{\mathrm{ref}} = \pi_0` (the setting of
Huang et al., ICLR 2025: the target is :math:`\pi^\star \propto \pi_0 e^{r^\star/\beta}`), the
best answer is the target's most likely one, :math:`y^\star(x) = \arg\max_y \pi^\star(y|x)`,
and its coverage coefficient is :math:`\kappa_0(x) = 1/\pi_0(y^\star(x)|x)`.  A step
*succeeds* on a prompt when :math:`\pi_1(y^\star|x) \ge 1/2`.  The ridge is a vanishing
number of pseudo-pairs, :math:`\lambda = \text{ridge}/n`: it fixes the directions no pair
informs (a response nobody sampled keeps :math:`u = 0`,
:func:`srlm_core.theory.coverage_law.unseen_response`) and otherwise leaves the step the
unpenalised DPO step.  Three parts:

* **tabular, one step** - ``contexts`` prompts with ``K`` one-hot responses; :math:`\pi_0`
  puts :math:`1/\kappa_0` on :math:`y^\star` and spreads the rest evenly, the target puts
  ``target`` on it.  For every :math:`\kappa_0` of ``kappas`` and pairs per prompt
  :math:`m = n/C = \text{ratio}\cdot\kappa_0`, the share of prompts where one step succeeds,
  against the coverage bound :math:`1 - (1-\rho(1-(1-1/\kappa_0)^2))^n` (the probability that
  :math:`y^\star` is in at least one pair, :func:`srlm_core.theory.coverage_law.miss_probability`);
* **featured, one step** - random unit features in :math:`\mathbb R^d`, ``instances`` problems,
  starts at distance ``starts`` from the target in a random direction; on the prompts where
  the target puts at least ``min_target_mass`` on :math:`y^\star` and :math:`\pi_0` at most
  ``max_start_mass``, success against :math:`n\rho(x)/\kappa_0(x)` and against
  :math:`n\rho(x)/\kappa_\phi(x)` (:func:`srlm_core.model.metrics.feature_coverage`);
* **iterating at equal budget** - in the tabular problem, for every signal share of ``alphas``,
  :math:`T` rounds of :math:`n/T` pairs (fixed reference) for :math:`T` in ``rounds``, with a
  total of ``budget`` :math:`\cdot\,\kappa_0` pairs per prompt, against one step with all of
  them; the population prediction is :func:`srlm_core.theory.coverage_law.population_mass`.

The statistics of the values are :mod:`srlm_core.experiments.coverage_analysis`, the tables of
glue names :mod:`srlm_core.experiments.coverage_names`; the figures are drawn by
:mod:`srlm_core.experiments.coverage_figures` (its plot functions are this experiment's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from srlm_core.errors import require, require_at_least
from srlm_core.experiments import named
from srlm_core.experiments.coverage_analysis import (
    LEVEL,
    budget_to_half,
    crossing,
    crossing_exponent,
    featured_curve,
    featured_low_coverage,
    featured_units,
    iterative_table,
    one_step_mass,
    tabular_curves,
)
from srlm_core.experiments.coverage_figures import plot_iterative, plot_single_step  # noqa: F401
from srlm_core.experiments.coverage_names import (
    FEATURED_CROSS_NAMES,
    HALF_NAMES,
    KAPPA_NAMES,
    KMAX_NAMES,
)
from srlm_core.model import metrics
from srlm_core.model.policy import (
    DTYPE,
    LinearSoftmaxProblem,
    initial_parameters,
    make_problem,
)
from srlm_core.model.self_rewarding import SelfRewardingRunner, SimulationConfig
from srlm_core.options import option
from srlm_core.stats import binomial_count_range
from srlm_core.theory import coverage_law

TITLE = ("Coverage form of the single-step limit: one step against pairs per prompt over "
         "kappa_0 (tabular and featured) and T rounds at equal budget")
TOLERANCE = {"rtol": 1e-6, "atol": 1e-9}

@dataclass(frozen=True)
class Config:
    """The chapter's sweep.  Tabular: ``contexts``, ``K``, ``kappas``, ``ratios`` (pairs per
    prompt over :math:`\\kappa_0`), ``seeds``; featured: ``d``, ``featured_K``,
    ``featured_contexts``, ``signal``, ``starts``, ``instances``, ``featured_n``,
    ``featured_seeds``; iterating: ``alphas``, ``rounds``, ``budgets`` (total pairs per prompt
    over :math:`\\kappa_0`), ``iter_seeds``.  ``alpha`` is the signal share of the one-step
    parts, ``ridge`` the ridge in pseudo-pairs (:math:`\\lambda = \\text{ridge}/n`)."""

    alpha: float = option(1.0, "signal share alpha of the one-step parts")
    beta: float = option(1.0, "KL strength beta")
    ridge: float = option(1e-4, "ridge in pseudo-pairs (lambda = ridge / n)")
    target: float = option(0.9, "the target's mass on the best answer (tabular)")
    contexts: int = option(16, "prompts (tabular)")
    K: int = option(4, "responses per prompt (tabular)")
    kappas: tuple[float, ...] = option((8.0, 32.0, 128.0, 512.0),
                                       "coverage coefficients kappa_0 of the initial model "
                                       "(tabular)")
    ratios: tuple[float, ...] = option((0.0625, 0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0),
                                       "pairs per prompt over kappa_0 (tabular)")
    seeds: int = option(64, "runs per cell (tabular)")
    d: int = option(8, "feature dimension (featured)")
    featured_K: int = option(8, "responses per prompt (featured)")
    featured_contexts: int = option(32, "prompts (featured)")
    signal: float = option(8.0, "norm of the target w* (featured)")
    starts: tuple[float, ...] = option((8.0, 12.0, 16.0),
                                       "initial distances to the target (featured)")
    instances: int = option(8, "random problems (featured)")
    featured_n: tuple[int, ...] = option(
        (8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384), "pair counts n (featured)")
    featured_seeds: int = option(32, "runs per instance and cell (featured)")
    min_target_mass: float = option(0.75,
                                    "prompts counted need at least this target mass on the best "
                                    "answer (featured)")
    max_start_mass: float = option(0.25,
                                   "prompts counted need at most this initial mass on the best "
                                   "answer (featured)")
    alphas: tuple[float, ...] = option((1.0, 0.75, 0.5), "signal shares alpha (iterating)")
    rounds: tuple[int, ...] = option((1, 2, 4), "numbers of rounds T (iterating)")
    budgets: tuple[float, ...] = option((0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0),
                                        "total pairs per prompt over kappa_0 (iterating)")
    iter_seeds: int = option(32, "runs per cell (iterating)")
    seed: int = option(0, "generator seed")

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        require_at_least(self, 1, "contexts", "seeds", "d", "featured_contexts", "instances",
                         "featured_seeds", "iter_seeds")
        require_at_least(self, 2, "K", "featured_K")
        require_at_least(self, 0, "seed")
        require(
            self,
            ("alpha", 0.0 < self.alpha <= 1.0, "must be in (0, 1]"),
            ("beta", 0.0 < self.beta < math.inf, "must be positive and finite"),
            ("ridge", 0.0 < self.ridge < math.inf, "must be positive (it fixes unseen responses)"),
            ("target", 0.5 < self.target < 1.0, "must be in (1/2, 1)"),
            ("kappas", bool(self.kappas) and min(self.kappas) > 1.0, "must be above 1"),
            ("ratios", bool(self.ratios) and min(self.ratios) > 0.0, "must be positive"),
            ("signal", self.signal > 0.0, "must be positive"),
            ("starts", bool(self.starts) and min(self.starts) > 0.0, "must be positive"),
            ("featured_n", bool(self.featured_n) and min(self.featured_n) >= 1,
             "must be at least 1"),
            ("min_target_mass", 0.5 < self.min_target_mass < 1.0, "must be in (1/2, 1)"),
            ("max_start_mass", 0.0 < self.max_start_mass < 0.5, "must be in (0, 1/2)"),
            ("alphas", bool(self.alphas) and all(0.0 < a <= 1.0 for a in self.alphas),
             "must be in (0, 1]"),
            ("rounds", bool(self.rounds) and min(self.rounds) >= 1 and 1 in self.rounds,
             "must be at least 1 and include 1 (the single step)"),
            ("budgets", bool(self.budgets) and min(self.budgets) > 0.0, "must be positive"),
        )
        return self

    def simulation(self, problem: LinearSoftmaxProblem, n: int, alpha: float, iters: int,
                   seeds: int) -> SimulationConfig:
        """The runner's settings for ``iters`` rounds of ``n`` pairs in ``problem``."""
        C, K, d = problem.features.shape
        return SimulationConfig(alpha=alpha, beta=self.beta, n=n, iters=iters, d=d, K=K,
                                contexts=C, lam=self.ridge / n, seeds=seeds, seed=self.seed)


def tabular_problem(contexts: int, K: int, kappa: float, target: float,
                    beta: float = 1.0) -> LinearSoftmaxProblem:
    r"""One-hot features; in every prompt :math:`\pi_0` puts :math:`1/\kappa_0` on response 0
    (:math:`y^\star`) and the rest evenly on the others; the reference is :math:`\pi_0`; the
    reward is on :math:`y^\star` only, :math:`r^\star = \beta\log(O_\star(\kappa_0-1))` with
    :math:`O_\star` the target odds, so that :math:`\pi^\star(y^\star) =` ``target``."""
    d = contexts * K
    features = torch.eye(d, dtype=DTYPE).reshape(contexts, K, d)
    theta0 = torch.zeros(contexts, K, dtype=DTYPE)
    theta0[:, 0] = math.log((K - 1) / (kappa - 1))
    w_star = torch.zeros(contexts, K, dtype=DTYPE)
    w_star[:, 0] = math.log(target / (1 - target) * (kappa - 1))
    return LinearSoftmaxProblem(features, torch.full((contexts,), 1.0 / contexts, dtype=DTYPE),
                                theta0.reshape(-1), w_star.reshape(-1), beta)


def featured_problem(config: Config, instance: int, start: float) -> LinearSoftmaxProblem:
    r"""Random unit features (:func:`srlm_core.model.policy.make_problem`, seed ``instance``)
    with target :math:`\theta^\star` of norm ``signal``; :math:`\theta_0` at distance ``start``
    in a random direction (:func:`srlm_core.model.policy.initial_parameters`) is also the
    reference, so the reward is :math:`w^\star = \theta^\star - \theta_0`."""
    base = make_problem(d=config.d, K=config.featured_K, contexts=config.featured_contexts,
                        beta=config.beta, signal=config.signal, seed=instance)
    theta0 = initial_parameters(base, start, seed=instance)
    return LinearSoftmaxProblem(base.features, base.context_probs, theta0,
                                base.theta_star - theta0, base.beta)


def rounds_from_start(config: Config, problem: LinearSoftmaxProblem, n: int, alpha: float,
                      iters: int, seeds: int) -> torch.Tensor:
    r""":math:`\theta_T` after ``iters`` rounds of ``n`` pairs from :math:`\theta_0 =
    \theta_{\mathrm{ref}}` with the fixed reference, ``seeds`` runs: shape (seeds, d).  Each
    round is :meth:`srlm_core.model.self_rewarding.SelfRewardingRunner.step`."""
    runner = SelfRewardingRunner(config.simulation(problem, n, alpha, iters, seeds), problem)
    generator = torch.Generator().manual_seed(config.seed)
    theta = problem.theta_ref.expand(seeds, -1).clone()
    for _ in range(iters):
        theta = runner.step(theta, generator, problem.theta_ref)
    return theta


def _success(problem: LinearSoftmaxProblem, theta: torch.Tensor,
             best: torch.Tensor) -> torch.Tensor:
    """(seeds, C) booleans: :math:`\\pi(y^\\star|x) \\ge 1/2`."""
    return metrics.coverage_coefficient(problem, theta, best) <= 2.0


def encode_counts(success: torch.Tensor) -> str:
    """Per seed, the number of prompts that succeeded, as one space-separated string."""
    return " ".join(str(int(k)) for k in success.sum(-1).tolist())


def encode_bits(success: torch.Tensor) -> str:
    """Per seed, one ``0``/``1`` character per prompt; seeds separated by spaces."""
    return " ".join("".join("1" if s else "0" for s in row) for row in success.tolist())


def tabular_bound(contexts: int, kappa: float, n: int) -> float:
    """The probability that :math:`y^\\star` is in at least one of a prompt's pairs: the most a
    step can succeed (:func:`srlm_core.theory.coverage_law.miss_probability`)."""
    per_pair = (1.0 - 1.0 / kappa) ** 2
    return 1.0 - (1.0 - (1.0 - per_pair) / contexts) ** n


def _run_tabular(config: Config) -> dict:
    cells = []
    for kappa in config.kappas:
        problem = tabular_problem(config.contexts, config.K, kappa, config.target, config.beta)
        best = torch.zeros(config.contexts, dtype=torch.long)
        for ratio in config.ratios:
            n = max(1, round(config.contexts * kappa * ratio))
            theta = rounds_from_start(config, problem, n, config.alpha, 1, config.seeds)
            cells.append({"kappa": kappa, "ratio": ratio, "n": n,
                          "m": n / config.contexts,
                          "bound": tabular_bound(config.contexts, kappa, n),
                          "successes": encode_counts(_success(problem, theta, best))})
    return {"contexts": config.contexts, "K": config.K, "kappas": list(config.kappas),
            "ratios": list(config.ratios), "seeds": config.seeds, "cells": cells}


def _run_featured(config: Config) -> dict:
    starts = []
    for instance in range(config.instances):
        for start in config.starts:
            problem = featured_problem(config, instance, start)
            best = metrics.best_responses(problem)
            theta0 = problem.theta_ref
            star_mass = 1.0 / metrics.coverage_coefficient(problem, problem.theta_star, best)
            kappa0 = metrics.coverage_coefficient(problem, theta0, best)
            eligible = (star_mass >= config.min_target_mass) & (
                1.0 / kappa0 <= config.max_start_mass)
            keep = eligible.nonzero().squeeze(-1)
            success = []
            for n in config.featured_n:
                theta = rounds_from_start(config, problem, n, config.alpha, 1,
                                          config.featured_seeds)
                success.append(encode_bits(_success(problem, theta, best)[:, keep]))
            starts.append({
                "instance": instance, "start": start, "contexts": keep.tolist(),
                "rho": problem.context_probs[keep].tolist(),
                "kappa0": kappa0[keep].tolist(),
                "kappa_phi": metrics.feature_coverage(problem, theta0, best)[keep].tolist(),
                "target_mass": star_mass[keep].tolist(),
                "kappa": float(metrics.condition_number(problem, theta0)),
                "kappa_sigma": float(metrics.feature_condition_number(problem, theta0)),
                "success": success,
            })
    return {"n": list(config.featured_n), "seeds": config.featured_seeds, "starts": starts}


def _run_iterative(config: Config) -> dict:
    cells = []
    for alpha in config.alphas:
        for kappa in config.kappas:
            problem = tabular_problem(config.contexts, config.K, kappa, config.target,
                                      config.beta)
            best = torch.zeros(config.contexts, dtype=torch.long)
            for budget in config.budgets:
                for T in config.rounds:
                    n = max(1, round(config.contexts * kappa * budget / T))
                    theta = rounds_from_start(config, problem, n, alpha, T, config.iter_seeds)
                    cells.append({
                        "alpha": alpha, "kappa": kappa, "budget": budget, "rounds": T,
                        "n_round": n,
                        "population": coverage_law.population_mass(alpha, T, kappa, config.target),
                        "successes": encode_counts(_success(problem, theta, best)),
                    })
    thresholds = [{"alpha": alpha, "rounds": T,
                   "kappa_max": coverage_law.kappa_max(alpha, T, config.target)}
                  for alpha in config.alphas for T in config.rounds]
    return {"alphas": list(config.alphas), "rounds": list(config.rounds),
            "budgets": list(config.budgets), "seeds": config.iter_seeds,
            "contexts": config.contexts, "cells": cells,
            "thresholds": [{**t, "kappa_max": t["kappa_max"] if math.isfinite(t["kappa_max"])
                            else None} for t in thresholds]}


def run(config: Config) -> dict:
    r"""The three parts of the module docstring, each round a
    :meth:`srlm_core.model.self_rewarding.SelfRewardingRunner.step`.  Stored: per tabular
    cell the number of prompts where the step succeeded, per seed (:func:`encode_counts`),
    and the coverage bound; per featured start the eligible prompts' :math:`\rho`,
    :math:`\kappa_0`, :math:`\kappa_\phi` and target mass, :math:`\kappa(\pi_0)` and
    :math:`\kappa_\Sigma(\pi_0)`, and per :math:`n` the success of every seed on every
    eligible prompt (:func:`encode_bits`); per iterating cell the number of prompts that
    succeeded after the last round, per seed, and the population prediction."""
    config.validate()
    return {"alpha": config.alpha, "target": config.target, "ridge": config.ridge,
            "tabular": _run_tabular(config), "featured": _run_featured(config),
            "iterative": _run_iterative(config)}




def _word(holds: bool) -> str:
    return "holds" if holds else "fails"


def _ratio_text(value: float) -> str:
    return "never within the grid" if not math.isfinite(value) else f"{value:.2g}"


def design(config: Config) -> dict:
    """The sweep's run parameters as the chapter states them (prefix ``cov_``), glued from the
    record's config so that the prose cannot drift from the run."""
    def listed(xs) -> str:
        return ", ".join(f"{x:g}" for x in xs)

    return {"cov_contexts": config.contexts, "cov_K": config.K, "cov_target": config.target,
            "cov_alpha": config.alpha, "cov_ratio_min": f"{min(config.ratios):g}",
            "cov_ratio_max": f"{max(config.ratios):g}", "cov_d": config.d,
            "cov_feat_K": config.featured_K, "cov_feat_contexts": config.featured_contexts,
            "cov_signal": f"{config.signal:g}", "cov_starts": listed(config.starts),
            "cov_n_min": min(config.featured_n), "cov_n_max": f"{max(config.featured_n):,}",
            "cov_min_target_mass": config.min_target_mass,
            "cov_max_start_mass": config.max_start_mass}


def summarise(values: dict) -> dict:
    r"""The numbers and verdict words the chapter glues (prefix ``cov_``): the coverage bound
    against every tabular cell (C1) with the count's binomial expected-miss baseline
    (:func:`srlm_core.stats.binomial_count_range`: an exact bound leaves the interval's lower
    end above it in 2.5% of cells) and the verdict ``cov_c1_nominal``, the crossings
    :math:`m_{1/2}/\kappa_0` and their exponent (C2, with ``cov_c2_growth``: the pairs
    needed grow ``more slowly than``, ``faster than`` or ``in proportion to``
    :math:`\kappa_0` by the exponent's interval), the featured success at low
    :math:`n\rho/\kappa_0` against the tabular bound (C3),
    :math:`\kappa_\phi\le\kappa_0` and the featured crossings in both units (C4), and the
    iterating comparisons where one step's population limit reaches 1/2 (C5: the count of
    cells where iterating gains against the count chance alone gives, ``within`` or
    ``beyond`` its central range, and the median and largest minimum detectable difference
    of those paired comparisons) and where it does not (C6)."""
    out: dict = {}
    curves = tabular_curves(values)
    below = [lo <= bound + 1e-12 for c in curves
             for lo, bound in zip(c["lo"], c["bound"], strict=True)]
    out["cov_c1"] = _word(all(below))
    out["cov_c1_count"] = f"{sum(below)} of {len(below)}"
    # an exact bound leaves the lower end of a two-sided 95% interval above it in 2.5% of cells
    c1_range = binomial_count_range(len(below), 1.0 - (1.0 - LEVEL) / 2)
    out["cov_c1_expected"] = c1_range.expected
    out["cov_c1_range"] = f"{c1_range.lo}\u2013{c1_range.hi}"
    out["cov_c1_nominal"] = "consistent with" if sum(below) >= c1_range.lo else "below"
    gaps = [bound - mean for c in curves for mean, bound in zip(c["mean"], c["bound"],
                                                                  strict=True)]
    out["cov_c1_max_excess"] = float(max(0.0, -min(gaps)))
    out.update({"cov_seeds": values["tabular"]["seeds"],
                "cov_feat_seeds": values["featured"]["seeds"],
                "cov_feat_instances": featured_units(values),
                "cov_iter_seeds": values["iterative"]["seeds"]})
    out["cov_kappa_list"] = ", ".join(f"{c['kappa']:g}" for c in curves)
    by_kappa = [float(max(b - m for m, b in zip(c["mean"], c["bound"], strict=True)))
                for c in curves]
    for c, gap in zip(curves, by_kappa):
        out |= named(KAPPA_NAMES.get(c["kappa"]), gap=gap, cross=c["crossing"],
                     cross_lo=c["crossing_lo"], cross_hi=c["crossing_hi"])
    # "attained": the bound's largest gap to the measured mean shrinks as kappa_0 grows and
    # is below 0.05 at the largest kappa_0
    out["cov_c1_attained"] = ("is attained for large" if by_kappa[-1] < min(0.05, by_kappa[0])
                              else "is not attained even for large")
    crosses = [c["crossing"] for c in curves]
    out["cov_cross_min"], out["cov_cross_max"] = float(min(crosses)), float(max(crosses))
    bound_half = [crossing(np.asarray(c["x"]), np.asarray(c["bound"])) for c in curves]
    out["cov_bound_cross"] = float(np.mean(bound_half))
    exponent = crossing_exponent(curves)
    out["cov_exponent"], out["cov_exponent_lo"], out["cov_exponent_hi"] = (
        exponent["value"], exponent["lo"], exponent["hi"])
    out["cov_c2"] = _word(exponent["lo"] <= 1.0 <= exponent["hi"])
    out["cov_c2_growth"] = ("more slowly than" if exponent["hi"] < 1.0 else
                            "faster than" if exponent["lo"] > 1.0 else "in proportion to")
    # featured
    low = featured_low_coverage(values)
    out.update({"cov_feat_low": low["value"], "cov_feat_low_lo": low["lo"],
                "cov_feat_low_hi": low["hi"], "cov_feat_low_bound": low["bound"],
                "cov_feat_low_count": low["count"]})
    out["cov_c3"] = _word(low["lo"] > low["bound"])
    starts = values["featured"]["starts"]
    k0 = np.concatenate([s["kappa0"] for s in starts])
    kphi = np.concatenate([s["kappa_phi"] for s in starts])
    out["cov_feat_prompts"] = int(k0.size)
    out["cov_feat_kappa0_median"] = float(np.median(k0))
    out["cov_feat_kappa0_max"] = float(k0.max())
    out["cov_feat_kphi_median"] = float(np.median(kphi))
    out["cov_feat_kphi_max"] = float(kphi.max())
    out["cov_feat_kphi_le"] = "in every one" if bool(np.all(kphi <= k0 * (1 + 1e-9))) else \
        f"in {int(np.sum(kphi <= k0 * (1 + 1e-9)))}"
    out["cov_feat_kappa_sigma_max"] = float(max(s["kappa_sigma"] for s in starts))
    out["cov_feat_kappa_max"] = float(max(s["kappa"] for s in starts))
    tab_cross = float(np.exp(np.mean(np.log(crosses))))
    out["cov_tab_cross"] = tab_cross
    for scale, names in FEATURED_CROSS_NAMES.items():
        curve = featured_curve(values, scale)
        out |= named(names, cross=curve["crossing"], cross_lo=curve["crossing_lo"],
                     cross_hi=curve["crossing_hi"])
    phi_ratio = out["cov_feat_cross_kphi"] / tab_cross
    out["cov_feat_phi_ratio"] = phi_ratio
    out["cov_feat_k0_ratio"] = tab_cross / out["cov_feat_cross_k0"]
    out["cov_c4"] = _word(out["cov_feat_kphi_le"] == "in every one"
                          and 0.25 <= phi_ratio <= 4.0)
    # iterating
    table = iterative_table(values)
    it = values["iterative"]
    t_max = max(it["rounds"])
    limits = {(t["alpha"], t["rounds"]): (math.inf if t["kappa_max"] is None
                                          else t["kappa_max"]) for t in it["thresholds"]}
    reachable = [r for r in table if r["rounds"] == t_max
                 and r["kappa"] <= limits[(r["alpha"], 1)]]
    gains = [r for r in reachable if r["diff_lo"] > 0.0]
    out["cov_t_max"] = t_max
    out["cov_c5"] = _word(not gains)
    out["cov_c5_cells"] = len(reachable)
    out["cov_c5_gains"] = len(gains)
    out["cov_c5_worse"] = sum(r["diff_hi"] < 0.0 for r in reachable)
    # with no true gain anywhere, a cell's interval lies above 0 by chance in at most 2.5%
    chance = binomial_count_range(len(reachable), (1.0 - LEVEL) / 2) if reachable else None
    out["cov_c5_chance_hi"] = chance.hi if chance else 0
    out["cov_c5_chance_expected"] = chance.expected if chance else 0.0
    out["cov_c5_chance"] = ("within" if len(gains) <= out["cov_c5_chance_hi"]
                            else "beyond")
    mdds = [r["diff_mdd"] for r in reachable if math.isfinite(r["diff_mdd"])]
    out["cov_c5_mdd"] = float(np.median(mdds)) if mdds else math.nan
    out["cov_c5_mdd_max"] = float(max(mdds)) if mdds else math.nan
    out["cov_c5_where"] = "; ".join(
        f"\u03b1 = {r['alpha']:g}, \u03ba\u2080 = {r['kappa']:g}, budget {r['budget']:g}, "
        f"where one step's population limit is {one_step_mass(values, r):.2f}"
        for r in gains) or "none"
    floor_cells = [r for r in table if r["rounds"] == t_max
                   and limits[(r["alpha"], 1)] < r["kappa"] <= limits[(r["alpha"], t_max)]
                   and r["budget"] == max(it["budgets"])]
    out["cov_c6"] = _word(bool(floor_cells) and all(r["diff_lo"] > 0.0 for r in floor_cells))
    out["cov_c6_count"] = f"{sum(r['diff_lo'] > 0.0 for r in floor_cells)} of {len(floor_cells)}"
    for alpha in it["alphas"]:
        limit = limits[(alpha, 1)]
        if alpha in KMAX_NAMES:
            out[KMAX_NAMES[alpha]] = "no limit" if math.isinf(limit) else f"{limit:.0f}"
    for h in budget_to_half(values):
        out |= named(HALF_NAMES.get((h["alpha"], h["kappa"], h["rounds"])),
                     half=_ratio_text(h["budget_half"]), last=h["last"]["mean"])
    example = [r for r in floor_cells if r["alpha"] == min(it["alphas"])]
    if example:
        r = max(example, key=lambda r: r["kappa"])
        one = next(o for o in table if (o["alpha"], o["kappa"], o["budget"], o["rounds"])
                   == (r["alpha"], r["kappa"], r["budget"], 1))
        out.update({"cov_ex_alpha": r["alpha"], "cov_ex_kappa": r["kappa"],
                    "cov_ex_budget": r["budget"], "cov_ex_iter": r["mean"],
                    "cov_ex_iter_lo": r["lo"], "cov_ex_iter_hi": r["hi"],
                    "cov_ex_one": one["mean"], "cov_ex_one_lo": one["lo"],
                    "cov_ex_one_hi": one["hi"], "cov_ex_pop_one": one["population"],
                    "cov_ex_pop_iter": r["population"]})
    return out

