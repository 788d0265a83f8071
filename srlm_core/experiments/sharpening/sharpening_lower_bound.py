r"""Theorem 4.1 on its hard instance: the failure on the base model's mode against the budget,
for the finite-class ERM and the tabular minimum-norm update, one round or T rounds.

For every budget :math:`N` (pairs in total) the instance is the proof's (Appendix D of Fu et
al.; Huang et al.'s Theorem 3.1) at that budget: ``d`` informative prompts, the condition
number held at most :math:`C` = ``kappa_budget``, and the informative mass shrinking with the
budget, :math:`\epsilon=a\sqrt{dC/N}` (``scale`` :math:`a`), with
:math:`M=\lfloor2(C-1+\epsilon)/\epsilon\rfloor` responses so that
:math:`\kappa_0=1-\epsilon+\epsilon M/2\le C`.  So :math:`N\asymp dM/\epsilon`: the budget
is always just short of seeing every bump.  On each of ``draws`` draws of the hidden bumps
:math:`v` (the unit of the intervals) four learners spend the budget:

* ``erm``: one round of the ERM of Eq. 3 over the finite class
  :math:`\{\pi_v^s\}` (:mod:`srlm_core.model.sharpening.finite_class`, exponents
  :math:`(1+1/\beta)^t`, :math:`t\le T`) on :math:`N` pairs;
* ``tabular``: one round of the tabular minimum-norm update on the same :math:`N` pairs;
* ``erm_loop`` and ``tabular_loop``: :math:`T` rounds of :math:`N/T` fresh pairs each, drawn
  from the current policy (the paper's loop at total budget :math:`N`); the ERM breaks ties
  uniformly in round 1 and towards its own current member afterwards (:func:`erm_loop`).

Each reports Theorem 4.1's event :math:`F_{\mathrm{base}}=\mathbb P_x[\pi(y^{\pi_0})\le\tfrac12]`
and Theorem 5.3's :math:`F_{\mathrm{own}}=\mathbb P_x[\max_y\pi\le\tfrac12]`; beside them the
share of informative prompts whose bump is in no informative pair of the one-round sample,
against its closed form (:func:`srlm_core.theory.sharpening.lower_bound.unseen_probability`),
and the bound's shape :math:`\sqrt{\kappa_0\log|\Pi|/(N\log(N\kappa_0/\log|\Pi|))}` with the
class's own :math:`\log|\Pi|=d\log M+\log(T+1)`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from srlm_core.errors import require, require_at_least, require_positive
from srlm_core.experiments import named
from srlm_core.model.sharpening import finite_class, observables
from srlm_core.model.sharpening.hard_instance import HardInstance, sample_pairs
from srlm_core.model.sharpening.pair_graph import min_norm_update
from srlm_core.options import option
from srlm_core.stats import binomial_count_range, bootstrap_interval, cluster_bootstrap, fit_line
from srlm_core.theory.sharpening import lower_bound

#: the four learners, in the order of the figures
ARMS = ("erm", "tabular", "erm_loop", "tabular_loop")
#: the one-round learner each loop is compared with at equal budget
ONE_ROUND = {"erm_loop": "erm", "tabular_loop": "tabular"}
#: the glue names of the range over budgets of each loop's mean gap to its one-round learner
LOOP_GAP_NAMES = {
    "erm_loop": {"max": "p1_erm_loop_gap_max", "min": "p1_erm_loop_gap_min"},
    "tabular_loop": {"max": "p1_tabular_loop_gap_max", "min": "p1_tabular_loop_gap_min"},
}
#: bootstrap resamples of the intervals over draws
N_BOOT = 2000


@dataclass(frozen=True)
class Config:
    r"""``d``: informative prompts; ``kappa_budget``: :math:`C`, the largest
    :math:`\kappa_0`; ``scale``: :math:`a` in :math:`\epsilon=a\sqrt{dC/N}`; ``budgets``: the
    total numbers of pairs :math:`N`, each a multiple of ``rounds``; ``beta``: the KL strength
    of Eq. 2/3; ``rounds``: :math:`T` of the loops; ``draws``: hidden bump vectors per budget
    (the unit of the intervals); ``seed``: base seed.  Fixed before any run, the predictions'
    margins: ``c0``, the constant under which no learner's :math:`F_{\mathrm{base}}` may fall
    below ``c0`` times the shape; ``slope_margin``, how far the fitted log-log slope may lie
    from the shape's; ``loop_margin``, how much better (in failures per informative prompt) a
    loop may do than one round at equal budget; ``own_ratio``, the largest
    :math:`F_{\mathrm{own}}/F_{\mathrm{base}}` of the one-round ERM (confidently wrong).
    ``fixed_at``: the budget whose instance is also held fixed across every budget (the
    one-round learners only, ``fixed_draws`` draws each)."""

    d: int = option(32, "informative prompts")
    kappa_budget: float = option(16.0, "C, the largest kappa_0")
    scale: float = option(0.5, "a in epsilon = a sqrt(d C / N)")
    budgets: tuple[int, ...] = option((512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072),
                                      "total pair counts N, each a multiple of rounds")
    beta: float = option(0.02, "KL strength beta of Eq. 2/3")
    rounds: int = option(4, "rounds T of the loops")
    draws: int = option(150, "hidden bump vectors per budget (the unit of the intervals)")
    c0: float = option(0.1, "no learner's F_base may fall below c0 times the shape")
    slope_margin: float = option(0.15, "how far the fitted log-log slope may lie from the shape's")
    loop_margin: float = option(0.05,
                                "how much better, in failures per informative prompt, a loop may "
                                "do than one round")
    own_ratio: float = option(0.1,
                              "largest F_own / F_base of the one-round ERM (confidently wrong)")
    fixed_at: int = option(8192, "budget whose instance is also held fixed across every budget")
    fixed_draws: int = option(50, "draws per budget of the fixed instance")
    seed: int = option(0, "base seed")

    def instance(self, budget: int) -> HardInstance:
        """The proof's instance at total budget ``budget`` (module docstring)."""
        epsilon = self.scale * np.sqrt(self.d * self.kappa_budget / budget)
        return HardInstance(self.d, int(2 * (self.kappa_budget - 1 + epsilon) / epsilon),
                            float(epsilon))

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        require_at_least(self, 1, "d", "rounds")
        require_at_least(self, 0, "seed")
        require_at_least(self, 2, "draws", "fixed_draws")
        require_positive(self, "scale", "beta", "c0", "slope_margin", "loop_margin",
                         "own_ratio")
        require(self, ("kappa_budget", self.kappa_budget > 2, "must exceed 2"),
                ("budgets", len(self.budgets) >= 2 and all(
                    b > 0 and b % self.rounds == 0 for b in self.budgets),
                 "needs two or more positive multiples of rounds"),
                ("budgets", self.scale * np.sqrt(self.d * self.kappa_budget / min(self.budgets))
                 <= 1, "the smallest budget makes epsilon exceed 1"),
                ("fixed_at", self.fixed_at in self.budgets, "must be one of the budgets"))
        return self


def _seen(instance: HardInstance, bumps, prompts, first, second) -> np.ndarray:
    """Per informative prompt, whether its bump is in a pair with another response."""
    bump = bumps[prompts - 1]
    seen = np.zeros(instance.d, bool)
    seen[prompts[(first == bump) != (second == bump)] - 1] = True
    return seen


def erm_loop(instance: HardInstance, bumps: np.ndarray, pairs_per_round: int, config: Config,
             powers: tuple[float, ...], rng: np.random.Generator) -> np.ndarray:
    r"""``rounds`` rounds of the finite-class ERM from the base model :math:`\pi_v`, each on
    fresh pairs from the current member; from round 2 on ties go to the learner's own member
    (its bumps, and the exponent of the round's population target :math:`(1+1/\beta)\hat s`).
    Returns the final log-table."""
    log_probs, prefer = instance.log_policy(bumps), None
    for _ in range(config.rounds):
        pairs = sample_pairs(np.exp(log_probs), instance.weights, pairs_per_round, rng)
        chosen, power = finite_class.erm(instance, log_probs, *pairs, config.beta, powers, rng,
                                         prefer)
        log_probs = instance.log_policy(chosen, power)
        prefer = (chosen, min(power * (1 + 1 / config.beta), powers[-1]))
    return log_probs


def tabular_loop(instance: HardInstance, bumps: np.ndarray, pairs_per_round: int,
                 config: Config, rng: np.random.Generator) -> np.ndarray:
    """``rounds`` rounds of the tabular minimum-norm update from the base model, each on fresh
    pairs from the current policy.  Returns the final log-table."""
    log_probs = instance.log_policy(bumps)
    for _ in range(config.rounds):
        pairs = sample_pairs(np.exp(log_probs), instance.weights, pairs_per_round, rng)
        log_probs = min_norm_update(log_probs, *pairs, config.beta)
    return log_probs


def one_draw(config: Config, instance: HardInstance, budget: int, rng: np.random.Generator,
             loops: bool = True) -> dict:
    r"""One draw of the hidden bumps of ``instance`` at one budget: per learner (:data:`ARMS`,
    the loops only with ``loops``) the policy's :math:`F_{\mathrm{base}}` and
    :math:`F_{\mathrm{own}}`, and the share of informative prompts whose bump went unseen in
    the one-round sample."""
    powers = finite_class.exponents(config.beta, config.rounds)
    bumps = instance.draw_bumps(rng)
    start = instance.log_policy(bumps)
    base_modes = observables.modes(start)
    pairs = sample_pairs(np.exp(start), instance.weights, budget, rng)
    per_round = budget // config.rounds
    policies = {
        "erm": instance.log_policy(*finite_class.erm(instance, start, *pairs, config.beta,
                                                     powers, rng)),
        "tabular": min_norm_update(start, *pairs, config.beta),
    }
    if loops:
        policies["erm_loop"] = erm_loop(instance, bumps, per_round, config, powers, rng)
        policies["tabular_loop"] = tabular_loop(instance, bumps, per_round, config, rng)
    out = {"unseen": float(1 - _seen(instance, bumps, *pairs).mean())}
    for arm, log_probs in policies.items():
        probs = np.exp(log_probs)
        out[arm] = (float(observables.failure_base(probs, base_modes, instance.weights)),
                    float(observables.failure_own(probs, instance.weights)))
    return out


def shape(kappa0: float, log_size: float, pairs: float) -> float:
    """Theorem 4.1's shape at these values
    (:func:`srlm_core.theory.sharpening.lower_bound.bound_shape`)."""
    return float(lower_bound.bound_shape(kappa0, log_size, pairs).evalf())


def _unseen(closed: sp.Expr, instance: HardInstance, budget: int) -> float:
    """The closed-form unseen probability on ``instance`` with ``budget`` pairs."""
    return float(closed.subs({lower_bound.eps: instance.epsilon, lower_bound.d: instance.d,
                              lower_bound.M: instance.M, lower_bound.gamma: instance.gamma,
                              lower_bound.n: budget}))


def fixed_instance(config: Config) -> dict:
    r"""The instance of budget ``fixed_at`` held fixed while the budget varies: per budget the
    one-round learners' :math:`F_{\mathrm{base}}` over ``fixed_draws`` draws (seeded by
    ``(seed, budget index, draw, 1)``), the shape with this instance's :math:`\kappa_0` and
    :math:`\log|\Pi|`, and :math:`\epsilon` times the closed-form unseen probability."""
    instance = config.instance(config.fixed_at)
    log_size = finite_class.log_class_size(instance,
                                           finite_class.exponents(config.beta, config.rounds))
    closed = lower_bound.unseen_probability()
    out = {"budget": config.fixed_at, "epsilon": instance.epsilon, "M": instance.M,
           "kappa0": instance.kappa0,
           "coverage": instance.d * instance.M / instance.epsilon, "shape": [],
           "closed": [], "erm_base": [], "tabular_base": []}
    for k, budget in enumerate(config.budgets):
        rows = [one_draw(config, instance, budget, np.random.default_rng([config.seed, k, r, 1]),
                         loops=False) for r in range(config.fixed_draws)]
        out["shape"].append(shape(instance.kappa0, log_size, budget))
        out["closed"].append(instance.epsilon * _unseen(closed, instance, budget))
        for arm in ("erm", "tabular"):
            out[f"{arm}_base"].append([row[arm][0] for row in rows])
    return out


def run(config: Config) -> dict:
    r"""Every budget of ``config``, ``draws`` draws each (seeded by ``(seed, budget index,
    draw)``): per budget the instance (:math:`\epsilon`, :math:`M`, :math:`\kappa_0`,
    :math:`\log|\Pi|`), the shape, the closed-form unseen probability, and per draw the
    unseen share and each learner's :math:`F_{\mathrm{base}}` and :math:`F_{\mathrm{own}}`
    (lists ``[budget][draw]``); and the fixed instance (:func:`fixed_instance`)."""
    c = config.validate()
    powers = finite_class.exponents(c.beta, c.rounds)
    unseen_closed = lower_bound.unseen_probability()
    out = {"budgets": list(c.budgets), "epsilon": [], "M": [], "kappa0": [], "log_size": [],
           "shape": [], "unseen_closed": [], "unseen": [],
           **{f"{arm}_{event}": [] for arm in ARMS for event in ("base", "own")}}
    for k, budget in enumerate(c.budgets):
        instance = c.instance(budget)
        log_size = finite_class.log_class_size(instance, powers)
        out["epsilon"].append(instance.epsilon)
        out["M"].append(instance.M)
        out["kappa0"].append(instance.kappa0)
        out["log_size"].append(log_size)
        out["shape"].append(shape(instance.kappa0, log_size, budget))
        out["unseen_closed"].append(_unseen(unseen_closed, instance, budget))
        rows = [one_draw(c, instance, budget, np.random.default_rng([c.seed, k, r]))
                for r in range(c.draws)]
        out["unseen"].append([row["unseen"] for row in rows])
        for arm in ARMS:
            out[f"{arm}_base"].append([row[arm][0] for row in rows])
            out[f"{arm}_own"].append([row[arm][1] for row in rows])
    out["fixed"] = fixed_instance(c)
    out.update(d=c.d, kappa_budget=c.kappa_budget, scale=c.scale, beta=c.beta, rounds=c.rounds,
               draws=c.draws, c0=c.c0, slope_margin=c.slope_margin, loop_margin=c.loop_margin,
               own_ratio=c.own_ratio)
    return out


def _interval(values) -> tuple[float, float, float]:
    got = bootstrap_interval(values, resamples=N_BOOT)
    return got.mean, got.lo, got.hi


def log_log_slope(rows: np.ndarray, budgets) -> float:
    """The least-squares slope of the log of the mean over draws (rows) on the log budget."""
    return fit_line(np.log(budgets), np.log(np.mean(rows, axis=0))).slope


def summarise(values: dict) -> dict:
    r"""The verdicts, each with its numbers:

    * ``p1_bound_verdict``: ``holds`` when at every budget every learner's mean
      :math:`F_{\mathrm{base}}` has a 95% interval (over draws) reaching ``c0`` times the
      shape, else ``fails``; ``p1_min_ratio``: the smallest mean over shape, and where;
    * ``p1_slope_verdict``: the one-round ERM's log-log slope (interval from resampling draws)
      against the shape's (a deterministic line): ``holds`` when the interval lies within
      ``slope_margin`` of it;
    * ``p1_loop_verdict``: ``holds`` when, at every budget and for both learners, the 95%
      interval of (loop minus one round) :math:`F_{\mathrm{base}}/\epsilon` lies above
      ``-loop_margin``: iterating does not beat one round at equal budget;
    * ``p1_own_verdict``: ``holds`` when the one-round ERM's mean :math:`F_{\mathrm{own}}` is at
      most ``own_ratio`` times its mean :math:`F_{\mathrm{base}}` at every budget;
      ``p1_tab_own_equal``: draws where the tabular update's two events differ;
    * ``p1_unseen_cover``: budgets whose unseen-share interval contains the closed form, and
      ``p1_unseen_range``, the central 95% range of that count for an exact formula."""
    budgets = np.array(values["budgets"], float)
    eps = np.array(values["epsilon"])
    shape_ = np.array(values["shape"])
    out: dict = {}
    ratios, reach = {}, True
    for arm in ARMS:
        rows = np.array(values[f"{arm}_base"])  # [budget][draw]
        for k in range(len(budgets)):
            mean, _, hi = _interval(rows[k])
            ratios[(arm, k)] = mean / shape_[k]
            reach &= hi >= values["c0"] * shape_[k]
    worst = min(ratios, key=ratios.get)
    out.update(p1_bound_verdict="holds" if reach else "fails", p1_min_ratio=float(ratios[worst]),
               p1_min_ratio_arm=worst[0].replace("_", " "),
               p1_min_ratio_budget=int(budgets[worst[1]]), p1_c0=values["c0"])
    erm = np.array(values["erm_base"]).T  # [draw][budget]
    fit = cluster_bootstrap(erm, lambda rows: log_log_slope(rows, budgets), resamples=N_BOOT)
    predicted = fit_line(np.log(budgets), np.log(shape_)).slope
    inside = predicted - values["slope_margin"] <= fit.lo and fit.hi <= (
        predicted + values["slope_margin"])
    out.update(p1_slope=fit.mean, p1_slope_lo=fit.lo, p1_slope_hi=fit.hi,
               p1_slope_pred=predicted, p1_slope_margin=values["slope_margin"],
               p1_slope_verdict="holds" if inside else "fails")
    gaps, worst_gap = [], (np.inf, "", 0)
    for loop, one in ONE_ROUND.items():
        diff = (np.array(values[f"{loop}_base"]) - np.array(values[f"{one}_base"])) / eps[:, None]
        for k in range(len(budgets)):
            mean, lo, _ = _interval(diff[k])
            gaps.append(lo)
            if lo < worst_gap[0]:
                worst_gap = (lo, loop, k)
    out.update(p1_loop_verdict="holds" if min(gaps) >= -values["loop_margin"] else "fails",
               p1_loop_worst_lo=worst_gap[0], p1_loop_margin=values["loop_margin"],
               p1_loop_worst_arm=worst_gap[1].replace("_", " "),
               p1_loop_worst_budget=int(budgets[worst_gap[2]]))
    for loop, one in ONE_ROUND.items():
        diff = (np.mean(values[f"{loop}_base"], axis=1) - np.mean(values[f"{one}_base"], axis=1))
        out.update(named(LOOP_GAP_NAMES[loop], max=float(np.max(diff / eps)),
                         min=float(np.min(diff / eps))))
    own = np.mean(values["erm_own"], axis=1)
    base = np.mean(values["erm_base"], axis=1)
    out.update(p1_own_verdict="holds" if np.all(own <= values["own_ratio"] * base) else "fails",
               p1_own_max_ratio=float(np.max(own / base)), p1_own_ratio=values["own_ratio"],
               p1_erm_own_max=float(np.max(own / eps)),
               p1_erm_base_max=float(np.max(base / eps)),
               p1_tab_own_equal=int(np.sum(np.array(values["tabular_own"])
                                           != np.array(values["tabular_base"]))))
    cover = 0
    for k in range(len(budgets)):
        _, lo, hi = _interval(values["unseen"][k])
        cover += lo <= values["unseen_closed"][k] <= hi
    expected = binomial_count_range(len(budgets), 0.95)
    out.update(p1_unseen_cover=int(cover), p1_n_budgets=len(budgets),
               p1_unseen_range=f"{expected.lo} to {expected.hi}",
               p1_budget_min=int(budgets[0]), p1_budget_max=int(budgets[-1]),
               p1_eps_max=float(eps[0]), p1_eps_min=float(eps[-1]),
               p1_M_min=int(values["M"][0]), p1_M_max=int(values["M"][-1]),
               p1_kappa_budget=values["kappa_budget"], p1_d=values["d"],
               p1_scale=values["scale"],
               p1_beta=values["beta"], p1_rounds=values["rounds"], p1_draws=values["draws"])
    out.update(fixed_summary(values["fixed"], budgets, values["c0"]))
    return out


def fixed_summary(fixed: dict, budgets: np.ndarray, c0: float) -> dict:
    r"""The fixed instance: ``p1_fixed_verdict`` ``drops below`` when at some budget the
    one-round ERM's whole 95% interval of :math:`F_{\mathrm{base}}` lies under ``c0`` times
    the shape (else ``stays above``), and the first such budget over the instance's coverage
    budget :math:`dM/\epsilon`; ``p1_fixed_tab_cover``: budgets whose interval of the
    tabular update's :math:`F_{\mathrm{base}}` contains :math:`\epsilon\,P(\text{unseen})`
    (the tabular update fails exactly where a bump went unseen)."""
    below, cover = [], 0
    for k in range(len(budgets)):
        _, _, hi = _interval(fixed["erm_base"][k])
        below.append(hi < c0 * fixed["shape"][k])
        _, lo, hi = _interval(fixed["tabular_base"][k])
        cover += lo <= fixed["closed"][k] <= hi
    first = int(budgets[below.index(True)]) if any(below) else None
    return {"p1_fixed_verdict": "drops below" if first else "stays above",
            "p1_fixed_first_below": first or "none",
            "p1_fixed_first_below_ratio": first / fixed["coverage"] if first else float("nan"),
            "p1_fixed_eps": fixed["epsilon"], "p1_fixed_M": fixed["M"],
            "p1_fixed_coverage": fixed["coverage"], "p1_fixed_tab_cover": int(cover),
            "p1_fixed_draws": len(fixed["erm_base"][0]), "p1_fixed_at": fixed["budget"]}


#: the learners' labels and colours in the figures
LABELS = {"erm": "finite-class ERM, 1 round", "tabular": "tabular min-norm, 1 round",
          "erm_loop": "finite-class ERM, T rounds", "tabular_loop": "tabular min-norm, T rounds"}
STYLE = {"erm": ("C0", "-"), "tabular": ("C1", "-"), "erm_loop": ("C0", "--"),
         "tabular_loop": ("C1", "--")}


def _band(ax, budgets, rows, color, ls, label, scale=1.0):
    means, los, his = np.array([_interval(np.asarray(r) / s)
                                for r, s in zip(rows, np.broadcast_to(scale, len(rows)))]).T
    ax.plot(budgets, means, color=color, ls=ls, marker="o", ms=3, label=label)
    ax.fill_between(budgets, los, his, color=color, alpha=0.15)


def plot(values: dict):
    r"""Left: :math:`F_{\mathrm{base}}` against the budget :math:`N` for the four learners
    (mean over draws, 95% bootstrap band), the bound's shape (black) and ``c0`` times it
    (dotted), log-log.  Right: per informative prompt (divided by :math:`\epsilon`), the
    one-round learners' :math:`F_{\mathrm{base}}` and :math:`F_{\mathrm{own}}`, and the
    closed-form probability that a bump goes unseen."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(context="notebook", style="whitegrid")
    budgets = np.array(values["budgets"])
    shape_ = np.array(values["shape"])
    eps = np.array(values["epsilon"])
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for arm in ARMS:
        _band(left, budgets, values[f"{arm}_base"], *STYLE[arm], LABELS[arm])
    left.plot(budgets, shape_, color="black", label="shape of the bound")
    left.plot(budgets, values["c0"] * shape_, color="black", ls=":",
              label=f"{values['c0']} × shape")
    left.set(xscale="log", yscale="log", xlabel="total pairs $N$",
             ylabel=r"$F_{\mathrm{base}}=P_x[\pi(y^{\pi_0})\leq 1/2]$")
    left.legend(fontsize=8)
    for arm in ("erm", "tabular"):
        color = STYLE[arm][0]
        _band(right, budgets, values[f"{arm}_base"], color, "-",
              LABELS[arm] + r": $F_{\mathrm{base}}/\epsilon$", eps)
        _band(right, budgets, values[f"{arm}_own"], color, ":",
              LABELS[arm] + r": $F_{\mathrm{own}}/\epsilon$", eps)
    right.plot(budgets, values["unseen_closed"], color="grey", lw=3, alpha=0.5,
               label="P(bump unseen), closed form")
    right.set(xscale="log", xlabel="total pairs $N$", ylabel="share of informative prompts",
              ylim=(-0.03, 1.03))
    right.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_fixed(values: dict):
    r"""One instance held fixed: the one-round learners' :math:`F_{\mathrm{base}}` against the
    budget (mean over draws, 95% bootstrap band), :math:`\epsilon` times the closed-form
    unseen probability (grey), the shape with this instance's constants (black), ``c0`` times
    it (dotted) and the coverage budget :math:`dM/\epsilon` (vertical), log-log."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(context="notebook", style="whitegrid")
    fixed, budgets = values["fixed"], np.array(values["budgets"])
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for arm in ("erm", "tabular"):
        _band(ax, budgets, fixed[f"{arm}_base"], STYLE[arm][0], "-", LABELS[arm])
    ax.plot(budgets, fixed["closed"], color="grey", lw=3, alpha=0.5,
            label=r"$\epsilon\,P$(bump unseen), closed form")
    ax.plot(budgets, fixed["shape"], color="black", label="shape of the bound")
    ax.plot(budgets, values["c0"] * np.array(fixed["shape"]), color="black", ls=":",
            label=f"{values['c0']} × shape")
    ax.axvline(fixed["coverage"], color="black", lw=1, ls="--")
    ax.set(xscale="log", yscale="log", xlabel="total pairs $N$",
           ylabel=r"$F_{\mathrm{base}}$ on one fixed instance",
           ylim=(1e-4, 1.5 * max(fixed["shape"])))
    ax.legend(fontsize=8, loc="lower left")
    return fig
