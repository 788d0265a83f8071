r"""Why iterating loses what one step found in the coverage sweep (chapter 2, C5), and what
removes the loss.

In the tabular coverage problem (:func:`srlm_core.experiments.coverage.tabular_problem`) with
a perfect judge, one step with the largest budget succeeds on nearly every prompt, and
:math:`T` rounds of :math:`n/T` pairs on far fewer.  The suspected mechanism has two steps.
(1) A prompt's pairs are separable: :math:`y^\star` wins every pair it is in (with
:math:`\alpha = 1` and a target mass of 0.9 it loses one with probability under 2%), so the
unpenalised estimate does not exist and the step, held only by a ridge of
:math:`10^{-4}/n`, pushes :math:`\pi_1(y^\star)` to nearly 1.  (2) The next round samples its
pairs from that over-sharpened policy, so nearly all of them are ties
:math:`(y^\star, y^\star)`, which carry no information; with the reference fixed at
:math:`\pi_0`, the next fit falls back to :math:`u = 0` on the prompt, i.e. to :math:`\pi_0`.

The module runs the same iteration at one (:math:`\alpha`, :math:`\kappa_0`, budget) with
two interventions, each aimed at one step: a larger ridge (``ridges``, in pseudo-pairs,
:math:`\lambda = \text{ridge}/n`), which keeps the estimate finite and moderate, and pairs
drawn from :math:`(1 - m)\pi_t + m\,\pi_{\mathrm{ref}}` (``mixes``), which keeps the next
round's pairs informative.  Per arm, :math:`T` and round it stores per seed the number of
prompts that succeed (:math:`\pi_t(y^\star) \ge 1/2`), the share of tie pairs, the number of
prompts where :math:`y^\star` is in at least one informative pair (*informed*) and the number
where the unpenalised per-prompt estimate exists (the win graph of the prompt's responses is
strongly connected).

The margins of the predictions are fields of :class:`Config`, committed before the run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats

from srlm_core.errors import require, require_at_least
from srlm_core.experiments import named, row_names
from srlm_core.experiments.coverage import tabular_problem
from srlm_core.model import metrics
from srlm_core.model.pair_counts import dpo_update_counts, pair_index, sample_pair_counts
from srlm_core.options import option
from srlm_core.stats import mean_interval, minimum_detectable_difference

TITLE = ("Coverage collapse: T rounds against one step at equal budget, by ridge and by "
         "sampling from a mixture with the reference")
TOLERANCE = {"rtol": 1e-6, "atol": 1e-9}
LEVEL = 0.95
#: An arm's numbers: its row of :func:`table` and, per round, its success and tie shares.
CELL_FIELDS = (
    "success", "lo", "hi", "diff", "diff_lo", "diff_hi", "mdd", "ties_later", "mass_first",
    "exists", "informed_later", "first", "rounds_success", "rounds_ties",
)
#: The glue names of each arm (ridge, mixture, T) of the book's run, in the order of
#: CELL_FIELDS.
CELL_NAMES = {
    (0.0001, 0.0, 1): ("clp_success_r00001_m0_T1", "clp_lo_r00001_m0_T1", "clp_hi_r00001_m0_T1",
                       "clp_diff_r00001_m0_T1", "clp_diff_lo_r00001_m0_T1",
                       "clp_diff_hi_r00001_m0_T1", "clp_mdd_r00001_m0_T1",
                       "clp_ties_later_r00001_m0_T1", "clp_mass_first_r00001_m0_T1",
                       "clp_exists_r00001_m0_T1", "clp_informed_later_r00001_m0_T1",
                       "clp_first_r00001_m0_T1", "clp_rounds_success_r00001_m0_T1",
                       "clp_rounds_ties_r00001_m0_T1"),
    (0.0001, 0.0, 2): ("clp_success_r00001_m0_T2", "clp_lo_r00001_m0_T2", "clp_hi_r00001_m0_T2",
                       "clp_diff_r00001_m0_T2", "clp_diff_lo_r00001_m0_T2",
                       "clp_diff_hi_r00001_m0_T2", "clp_mdd_r00001_m0_T2",
                       "clp_ties_later_r00001_m0_T2", "clp_mass_first_r00001_m0_T2",
                       "clp_exists_r00001_m0_T2", "clp_informed_later_r00001_m0_T2",
                       "clp_first_r00001_m0_T2", "clp_rounds_success_r00001_m0_T2",
                       "clp_rounds_ties_r00001_m0_T2"),
    (0.0001, 0.0, 4): ("clp_success_r00001_m0_T4", "clp_lo_r00001_m0_T4", "clp_hi_r00001_m0_T4",
                       "clp_diff_r00001_m0_T4", "clp_diff_lo_r00001_m0_T4",
                       "clp_diff_hi_r00001_m0_T4", "clp_mdd_r00001_m0_T4",
                       "clp_ties_later_r00001_m0_T4", "clp_mass_first_r00001_m0_T4",
                       "clp_exists_r00001_m0_T4", "clp_informed_later_r00001_m0_T4",
                       "clp_first_r00001_m0_T4", "clp_rounds_success_r00001_m0_T4",
                       "clp_rounds_ties_r00001_m0_T4"),
    (0.0001, 0.5, 1): ("clp_success_r00001_m05_T1", "clp_lo_r00001_m05_T1", "clp_hi_r00001_m05_T1",
                       "clp_diff_r00001_m05_T1", "clp_diff_lo_r00001_m05_T1",
                       "clp_diff_hi_r00001_m05_T1", "clp_mdd_r00001_m05_T1",
                       "clp_ties_later_r00001_m05_T1", "clp_mass_first_r00001_m05_T1",
                       "clp_exists_r00001_m05_T1", "clp_informed_later_r00001_m05_T1",
                       "clp_first_r00001_m05_T1", "clp_rounds_success_r00001_m05_T1",
                       "clp_rounds_ties_r00001_m05_T1"),
    (0.0001, 0.5, 2): ("clp_success_r00001_m05_T2", "clp_lo_r00001_m05_T2", "clp_hi_r00001_m05_T2",
                       "clp_diff_r00001_m05_T2", "clp_diff_lo_r00001_m05_T2",
                       "clp_diff_hi_r00001_m05_T2", "clp_mdd_r00001_m05_T2",
                       "clp_ties_later_r00001_m05_T2", "clp_mass_first_r00001_m05_T2",
                       "clp_exists_r00001_m05_T2", "clp_informed_later_r00001_m05_T2",
                       "clp_first_r00001_m05_T2", "clp_rounds_success_r00001_m05_T2",
                       "clp_rounds_ties_r00001_m05_T2"),
    (0.0001, 0.5, 4): ("clp_success_r00001_m05_T4", "clp_lo_r00001_m05_T4", "clp_hi_r00001_m05_T4",
                       "clp_diff_r00001_m05_T4", "clp_diff_lo_r00001_m05_T4",
                       "clp_diff_hi_r00001_m05_T4", "clp_mdd_r00001_m05_T4",
                       "clp_ties_later_r00001_m05_T4", "clp_mass_first_r00001_m05_T4",
                       "clp_exists_r00001_m05_T4", "clp_informed_later_r00001_m05_T4",
                       "clp_first_r00001_m05_T4", "clp_rounds_success_r00001_m05_T4",
                       "clp_rounds_ties_r00001_m05_T4"),
    (1.0, 0.0, 1): ("clp_success_r1_m0_T1", "clp_lo_r1_m0_T1", "clp_hi_r1_m0_T1",
                    "clp_diff_r1_m0_T1", "clp_diff_lo_r1_m0_T1", "clp_diff_hi_r1_m0_T1",
                    "clp_mdd_r1_m0_T1", "clp_ties_later_r1_m0_T1", "clp_mass_first_r1_m0_T1",
                    "clp_exists_r1_m0_T1", "clp_informed_later_r1_m0_T1", "clp_first_r1_m0_T1",
                    "clp_rounds_success_r1_m0_T1", "clp_rounds_ties_r1_m0_T1"),
    (1.0, 0.0, 2): ("clp_success_r1_m0_T2", "clp_lo_r1_m0_T2", "clp_hi_r1_m0_T2",
                    "clp_diff_r1_m0_T2", "clp_diff_lo_r1_m0_T2", "clp_diff_hi_r1_m0_T2",
                    "clp_mdd_r1_m0_T2", "clp_ties_later_r1_m0_T2", "clp_mass_first_r1_m0_T2",
                    "clp_exists_r1_m0_T2", "clp_informed_later_r1_m0_T2", "clp_first_r1_m0_T2",
                    "clp_rounds_success_r1_m0_T2", "clp_rounds_ties_r1_m0_T2"),
    (1.0, 0.0, 4): ("clp_success_r1_m0_T4", "clp_lo_r1_m0_T4", "clp_hi_r1_m0_T4",
                    "clp_diff_r1_m0_T4", "clp_diff_lo_r1_m0_T4", "clp_diff_hi_r1_m0_T4",
                    "clp_mdd_r1_m0_T4", "clp_ties_later_r1_m0_T4", "clp_mass_first_r1_m0_T4",
                    "clp_exists_r1_m0_T4", "clp_informed_later_r1_m0_T4", "clp_first_r1_m0_T4",
                    "clp_rounds_success_r1_m0_T4", "clp_rounds_ties_r1_m0_T4"),
    (1.0, 0.5, 1): ("clp_success_r1_m05_T1", "clp_lo_r1_m05_T1", "clp_hi_r1_m05_T1",
                    "clp_diff_r1_m05_T1", "clp_diff_lo_r1_m05_T1", "clp_diff_hi_r1_m05_T1",
                    "clp_mdd_r1_m05_T1", "clp_ties_later_r1_m05_T1", "clp_mass_first_r1_m05_T1",
                    "clp_exists_r1_m05_T1", "clp_informed_later_r1_m05_T1", "clp_first_r1_m05_T1",
                    "clp_rounds_success_r1_m05_T1", "clp_rounds_ties_r1_m05_T1"),
    (1.0, 0.5, 2): ("clp_success_r1_m05_T2", "clp_lo_r1_m05_T2", "clp_hi_r1_m05_T2",
                    "clp_diff_r1_m05_T2", "clp_diff_lo_r1_m05_T2", "clp_diff_hi_r1_m05_T2",
                    "clp_mdd_r1_m05_T2", "clp_ties_later_r1_m05_T2", "clp_mass_first_r1_m05_T2",
                    "clp_exists_r1_m05_T2", "clp_informed_later_r1_m05_T2", "clp_first_r1_m05_T2",
                    "clp_rounds_success_r1_m05_T2", "clp_rounds_ties_r1_m05_T2"),
    (1.0, 0.5, 4): ("clp_success_r1_m05_T4", "clp_lo_r1_m05_T4", "clp_hi_r1_m05_T4",
                    "clp_diff_r1_m05_T4", "clp_diff_lo_r1_m05_T4", "clp_diff_hi_r1_m05_T4",
                    "clp_mdd_r1_m05_T4", "clp_ties_later_r1_m05_T4", "clp_mass_first_r1_m05_T4",
                    "clp_exists_r1_m05_T4", "clp_informed_later_r1_m05_T4", "clp_first_r1_m05_T4",
                    "clp_rounds_success_r1_m05_T4", "clp_rounds_ties_r1_m05_T4"),
    (10.0, 0.0, 1): ("clp_success_r10_m0_T1", "clp_lo_r10_m0_T1", "clp_hi_r10_m0_T1",
                     "clp_diff_r10_m0_T1", "clp_diff_lo_r10_m0_T1", "clp_diff_hi_r10_m0_T1",
                     "clp_mdd_r10_m0_T1", "clp_ties_later_r10_m0_T1", "clp_mass_first_r10_m0_T1",
                     "clp_exists_r10_m0_T1", "clp_informed_later_r10_m0_T1", "clp_first_r10_m0_T1",
                     "clp_rounds_success_r10_m0_T1", "clp_rounds_ties_r10_m0_T1"),
    (10.0, 0.0, 2): ("clp_success_r10_m0_T2", "clp_lo_r10_m0_T2", "clp_hi_r10_m0_T2",
                     "clp_diff_r10_m0_T2", "clp_diff_lo_r10_m0_T2", "clp_diff_hi_r10_m0_T2",
                     "clp_mdd_r10_m0_T2", "clp_ties_later_r10_m0_T2", "clp_mass_first_r10_m0_T2",
                     "clp_exists_r10_m0_T2", "clp_informed_later_r10_m0_T2", "clp_first_r10_m0_T2",
                     "clp_rounds_success_r10_m0_T2", "clp_rounds_ties_r10_m0_T2"),
    (10.0, 0.0, 4): ("clp_success_r10_m0_T4", "clp_lo_r10_m0_T4", "clp_hi_r10_m0_T4",
                     "clp_diff_r10_m0_T4", "clp_diff_lo_r10_m0_T4", "clp_diff_hi_r10_m0_T4",
                     "clp_mdd_r10_m0_T4", "clp_ties_later_r10_m0_T4", "clp_mass_first_r10_m0_T4",
                     "clp_exists_r10_m0_T4", "clp_informed_later_r10_m0_T4", "clp_first_r10_m0_T4",
                     "clp_rounds_success_r10_m0_T4", "clp_rounds_ties_r10_m0_T4"),
    (10.0, 0.5, 1): ("clp_success_r10_m05_T1", "clp_lo_r10_m05_T1", "clp_hi_r10_m05_T1",
                     "clp_diff_r10_m05_T1", "clp_diff_lo_r10_m05_T1", "clp_diff_hi_r10_m05_T1",
                     "clp_mdd_r10_m05_T1", "clp_ties_later_r10_m05_T1", "clp_mass_first_r10_m05_T1",
                     "clp_exists_r10_m05_T1", "clp_informed_later_r10_m05_T1",
                     "clp_first_r10_m05_T1", "clp_rounds_success_r10_m05_T1",
                     "clp_rounds_ties_r10_m05_T1"),
    (10.0, 0.5, 2): ("clp_success_r10_m05_T2", "clp_lo_r10_m05_T2", "clp_hi_r10_m05_T2",
                     "clp_diff_r10_m05_T2", "clp_diff_lo_r10_m05_T2", "clp_diff_hi_r10_m05_T2",
                     "clp_mdd_r10_m05_T2", "clp_ties_later_r10_m05_T2", "clp_mass_first_r10_m05_T2",
                     "clp_exists_r10_m05_T2", "clp_informed_later_r10_m05_T2",
                     "clp_first_r10_m05_T2", "clp_rounds_success_r10_m05_T2",
                     "clp_rounds_ties_r10_m05_T2"),
    (10.0, 0.5, 4): ("clp_success_r10_m05_T4", "clp_lo_r10_m05_T4", "clp_hi_r10_m05_T4",
                     "clp_diff_r10_m05_T4", "clp_diff_lo_r10_m05_T4", "clp_diff_hi_r10_m05_T4",
                     "clp_mdd_r10_m05_T4", "clp_ties_later_r10_m05_T4", "clp_mass_first_r10_m05_T4",
                     "clp_exists_r10_m05_T4", "clp_informed_later_r10_m05_T4",
                     "clp_first_r10_m05_T4", "clp_rounds_success_r10_m05_T4",
                     "clp_rounds_ties_r10_m05_T4"),
}


@dataclass(frozen=True)
class Config:
    """The tabular problem of the coverage sweep (``contexts``, ``K``, ``kappa``, ``target``,
    ``beta``) at signal share ``alpha`` and total budget ``budget`` pairs per prompt over
    :math:`\\kappa_0`, split over :math:`T` of ``rounds`` rounds; arms: every ridge of
    ``ridges`` (pseudo-pairs, :math:`\\lambda = \\text{ridge}/n` with n the pairs of a round)
    with ``mixes`` :math:`m` (share of :math:`\\pi_{\\mathrm{ref}}` in the sampling mixture);
    ``seeds`` runs each, all arms on the same generator seed ``seed``.

    Pre-registered margins: the *collapse* of an arm at :math:`T` is a success share below
    one step's (same arm, same budget) by more than ``margin`` (the upper end of the paired 95%
    interval below ``-margin``); *no collapse* is the paired difference within ``margin``
    below (the one-sided test over seeds that it is above ``-margin`` rejects at level 0.05).
    ``tie_level`` is the share of ties in the round after the first above which a round counts
    as *all ties* (the mechanism's second step)."""

    alpha: float = option(1.0, "signal share alpha")
    beta: float = option(1.0, "KL strength beta")
    target: float = option(0.9, "the target's mass on the best answer")
    contexts: int = option(16, "prompts")
    K: int = option(4, "responses per prompt")
    kappa: float = option(8.0, "coverage coefficient kappa_0 of the initial model")
    budget: float = option(16.0, "total pairs per prompt, over kappa_0")
    rounds: tuple[int, ...] = option((1, 2, 4), "numbers of rounds T the budget is split over")
    ridges: tuple[float, ...] = option((1e-4, 1.0, 10.0),
                                       "ridges in pseudo-pairs (lambda = ridge / n, n the pairs "
                                       "of a round)")
    mixes: tuple[float, ...] = option((0.0, 0.5), "shares m of pi_ref in the sampling mixture")
    seeds: int = option(64, "runs per arm")
    seed: int = option(0, "generator seed, the same for every arm")
    margin: float = option(0.1,
                           "pre-registered margin of collapse and of no collapse on the success "
                           "share")
    tie_level: float = option(0.9,
                              "share of ties in the second round above which a round counts as "
                              "all ties")

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        require_at_least(self, 1, "contexts", "seeds")
        require_at_least(self, 2, "K")
        require_at_least(self, 0, "seed")
        require(
            self,
            ("alpha", 0.0 < self.alpha <= 1.0, "must be in (0, 1]"),
            ("beta", 0.0 < self.beta < math.inf, "must be positive and finite"),
            ("target", 0.5 < self.target < 1.0, "must be in (1/2, 1)"),
            ("kappa", self.kappa > 1.0, "must be above 1"),
            ("budget", self.budget > 0.0, "must be positive"),
            ("rounds", bool(self.rounds) and min(self.rounds) >= 1 and 1 in self.rounds,
             "must be at least 1 and include 1 (the single step)"),
            ("ridges", bool(self.ridges) and min(self.ridges) > 0.0, "must be positive"),
            ("mixes", bool(self.mixes) and all(0.0 <= m < 1.0 for m in self.mixes),
             "must be in [0, 1)"),
            ("margin", 0.0 < self.margin < 1.0, "must be in (0, 1)"),
            ("tie_level", 0.0 < self.tie_level < 1.0, "must be in (0, 1)"),
        )
        return self


def strongly_connected(wins: np.ndarray) -> np.ndarray:
    """(..., K, K) booleans ``wins[i, j]`` (i beat j at least once) -> (...): is the win graph
    strongly connected, the condition for a finite per-prompt Bradley-Terry estimate?"""
    K = wins.shape[-1]
    reach = wins | np.eye(K, dtype=bool)
    for k in range(K):
        reach = reach | (reach[..., :, [k]] & reach[..., [k], :])
    return reach.all(axis=(-2, -1))


def round_diagnostics(counts, K: int, best: int = 0) -> dict:
    """Per seed, from one round's :class:`srlm_core.model.pair_counts.PairCounts`: the share of
    tie pairs, the number of prompts where response ``best`` is in an informative pair, and
    the number where the unpenalised per-prompt estimate exists."""
    first, second = (i.cpu().numpy() for i in pair_index(K))
    M, V = counts.counts.cpu().numpy(), counts.wins.cpu().numpy()  # (S, C, P)
    S, C, _ = M.shape
    wins = np.zeros((S, C, K, K), dtype=bool)
    wins[..., first, second] = V > 0.5
    wins[..., second, first] = (M - V) > 0.5
    involved = (first == best) | (second == best)
    return {"ties": (1.0 - M.sum((1, 2)) / counts.n).tolist(),
            "informed": (M[..., involved].sum(-1) > 0).sum(-1).tolist(),
            "exists": strongly_connected(wins).sum(-1).tolist()}


def run_arm(config: Config, ridge: float, mix: float, T: int) -> dict:
    r""":math:`T` rounds of :math:`n = \text{contexts}\cdot\kappa_0\cdot\text{budget}/T` pairs
    from :math:`\theta_0 = \theta_{\mathrm{ref}}` with the fixed reference: per round the
    success count per seed and :func:`round_diagnostics`."""
    problem = tabular_problem(config.contexts, config.K, config.kappa, config.target,
                              config.beta)
    n = max(1, round(config.contexts * config.kappa * config.budget / T))
    generator = torch.Generator().manual_seed(config.seed)
    best = torch.zeros(config.contexts, dtype=torch.long)
    theta = problem.theta_ref.expand(config.seeds, -1).clone()
    rounds = []
    for _ in range(T):
        counts = sample_pair_counts(problem, theta, config.alpha, n, generator, mix)
        theta = dpo_update_counts(problem, counts, ridge / n, problem.theta_ref, theta)
        mass = 1.0 / metrics.coverage_coefficient(problem, theta, best)  # (S, C)
        rounds.append({"success": (mass >= 0.5).sum(-1).tolist(),
                       "mass": mass.mean(-1).tolist(),
                       **round_diagnostics(counts, config.K)})
    return {"ridge": ridge, "mix": mix, "rounds": T, "n_round": n, "per_round": rounds}


def run(config: Config) -> dict:
    """Every arm (ridge, mix) at every T of ``rounds``; see the module docstring."""
    config.validate()
    arms = [run_arm(config, ridge, mix, T) for ridge in config.ridges for mix in config.mixes
            for T in config.rounds]
    return {"contexts": config.contexts, "seeds": config.seeds, "margin": config.margin,
            "tie_level": config.tie_level, "alpha": config.alpha, "kappa": config.kappa,
            "budget": config.budget, "arms": arms}


# ----------------------------------------------------------------------------- analysis


def table(values: dict) -> list[dict]:
    r"""Per arm and :math:`T`: the final success share (mean, 95% interval over seeds), the
    paired difference to the arm's one step with its interval, its minimum detectable
    difference and the one-sided p-value that it is above ``-margin``; the tie share of the
    second round and the share of (prompt, round) where the estimate exists."""
    C, margin = values["contexts"], values["margin"]
    final = {(a["ridge"], a["mix"], a["rounds"]):
             np.asarray(a["per_round"][-1]["success"], float) / C for a in values["arms"]}
    rows = []
    for a in values["arms"]:
        key = (a["ridge"], a["mix"], a["rounds"])
        s, one = final[key], final[(a["ridge"], a["mix"], 1)]
        diff = s - one
        iv, div = mean_interval(s), mean_interval(diff)
        spread = float(diff.std(ddof=1)) if diff.size > 1 else 0.0
        p_above = (float(stats.ttest_1samp(diff, -margin, alternative="greater").pvalue)
                   if spread > 0 else (0.0 if diff.mean() > -margin else 1.0))
        later = a["per_round"][1:]
        rows.append({
            "ridge": a["ridge"], "mix": a["mix"], "rounds": a["rounds"],
            "success": iv.mean, "lo": iv.lo, "hi": iv.hi,
            "first": float(np.mean(a["per_round"][0]["success"]) / C),
            "diff": div.mean, "diff_lo": div.lo, "diff_hi": div.hi,
            "mdd": minimum_detectable_difference(spread, diff.size) if spread > 0 else 0.0,
            "p_above": p_above,
            "ties_later": (float(np.mean([np.mean(r["ties"]) for r in later]))
                           if later else math.nan),
            "mass_first": float(np.mean(a["per_round"][0]["mass"])),
            "exists": float(np.mean([np.mean(r["exists"]) / C for r in a["per_round"]])),
            "informed_later": (float(np.mean([np.mean(r["informed"]) / C for r in later]))
                               if later else math.nan),
        })
    return rows


def collapses(row: dict, margin: float) -> bool:
    """The pre-registered collapse: the paired interval lies below ``-margin``."""
    return row["diff_hi"] < -margin


def holds_up(row: dict, margin: float) -> bool:
    """The pre-registered *no collapse*: the difference is above ``-margin`` (one-sided test
    at level 0.05)."""
    return row["p_above"] < 0.05


def summarise(values: dict) -> dict:
    """The numbers the chapter glues (prefix ``clp_``): per arm and T (:data:`CELL_NAMES`,
    ``clp_<field>_r<ridge>_m<mix>_T<T>``) the final success, its difference to one step with
    interval, the tie share after round one, :math:`\\pi_1(y^\\star)` and the share of rounds
    where the estimate exists, per round (as text) the success and tie shares, the range of
    the estimate's existence over arms; and three verdicts: ``clp_p1`` (the baseline, smallest ridge
    and no mixing, collapses at every T > 1 and its later rounds are at least ``tie_level``
    ties), ``clp_p2`` (every larger ridge without mixing holds up at every T) and ``clp_p3``
    (every mixture holds up at every T with the smallest ridge)."""
    rows, margin = table(values), values["margin"]
    out: dict = {"clp_margin": margin, "clp_tie_level": values["tie_level"],
                 "clp_seeds": values["seeds"], "clp_alpha": values["alpha"],
                 "clp_kappa": values["kappa"], "clp_budget": values["budget"],
                 "clp_contexts": values["contexts"]}
    for r in rows:
        names = row_names(CELL_FIELDS, CELL_NAMES.get((r["ridge"], r["mix"], r["rounds"])))
        out |= named(names, **{field: r[field] for field in CELL_FIELDS[:-2]})
    ridges = sorted({r["ridge"] for r in rows})
    mixes = sorted({r["mix"] for r in rows})
    smallest = ridges[0]
    later = [r for r in rows if r["rounds"] > 1]
    base = [r for r in later if r["ridge"] == smallest and r["mix"] == 0.0]
    p1 = bool(base) and all(collapses(r, margin) and r["ties_later"] >= values["tie_level"]
                            for r in base)
    ridge_arms = [r for r in later if r["ridge"] > smallest and r["mix"] == 0.0]
    mix_arms = [r for r in later if r["ridge"] == smallest and r["mix"] > 0.0]
    p2 = bool(ridge_arms) and all(holds_up(r, margin) for r in ridge_arms)
    p3 = bool(mix_arms) and all(holds_up(r, margin) for r in mix_arms)
    word = {True: "holds", False: "fails"}
    out.update({"clp_p1": word[p1], "clp_p2": word[p2], "clp_p3": word[p3]})
    out["clp_p1_ties_min"] = min((r["ties_later"] for r in base), default=math.nan)
    out["clp_exists_min"] = min(r["exists"] for r in rows)
    out["clp_exists_max"] = max(r["exists"] for r in rows)
    C = values["contexts"]
    for a in values["arms"]:
        names = row_names(CELL_FIELDS, CELL_NAMES.get((a["ridge"], a["mix"], a["rounds"])))
        out |= named(names, rounds_success=", ".join(f"{np.mean(r['success']) / C:.2f}"
                                                     for r in a["per_round"]),
                     rounds_ties=", ".join(f"{np.mean(r['ties']):.2f}" for r in a["per_round"]))
    out["clp_collapsed_arms"] = sum(collapses(r, margin) for r in later)
    out["clp_later_arms"] = len(later)
    out["clp_ridges"] = ", ".join(f"{x:g}" for x in ridges)
    out["clp_mixes"] = ", ".join(f"{x:g}" for x in mixes)
    worst = min((r for r in ridge_arms + mix_arms), key=lambda r: r["diff"], default=None)
    if worst is not None:
        out.update({"clp_worst_diff": worst["diff"], "clp_worst_ridge": f"{worst['ridge']:g}",
                    "clp_worst_mix": f"{worst['mix']:g}", "clp_worst_T": worst["rounds"]})
    return out


def plot(values: dict):
    """Success share after each round (mean over seeds with 95% intervals), one panel per
    sampling mixture, one line per (ridge, T); grey: one step's success at the same budget."""
    import matplotlib.pyplot as plt

    C = values["contexts"]
    mixes = sorted({a["mix"] for a in values["arms"]})
    ridges = sorted({a["ridge"] for a in values["arms"]})
    fig, axes = plt.subplots(1, len(mixes), figsize=(5.2 * len(mixes), 3.8), sharey=True,
                             squeeze=False)
    for ax, mix in zip(axes[0], mixes, strict=True):
        for i, ridge in enumerate(ridges):
            for a in (a for a in values["arms"] if a["mix"] == mix and a["ridge"] == ridge):
                if a["rounds"] == 1:
                    ax.axhline(np.mean(a["per_round"][0]["success"]) / C, color=f"C{i}",
                               lw=0.8, ls=":")
                    continue
                ivs = [mean_interval(np.asarray(r["success"], float) / C)
                       for r in a["per_round"]]
                t = np.arange(1, len(ivs) + 1) + 0.04 * i
                mean = np.array([iv.mean for iv in ivs])
                ax.errorbar(t, mean, yerr=[mean - [iv.lo for iv in ivs],
                                           [iv.hi for iv in ivs] - mean],
                            fmt="o-" if a["rounds"] == max(values_rounds(values)) else "s--",
                            ms=4, lw=1, capsize=2, color=f"C{i}",
                            label=f"ridge {ridge:g}/n, T = {a['rounds']}")
        ax.axhline(0.5, color="grey", lw=0.5)
        ax.set(xlabel="round", title=rf"pairs from $(1-m)\pi_t+m\,\pi_{{ref}}$, m = {mix:g}",
               ylim=(-0.03, 1.03))
        ax.set_xticks(range(1, max(values_rounds(values)) + 1))
    axes[0][0].set_ylabel(r"share of prompts with $\pi_t(y^\star)\geq 1/2$")
    axes[0][-1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def values_rounds(values: dict) -> list[int]:
    """The T of the arms."""
    return sorted({a["rounds"] for a in values["arms"]})
