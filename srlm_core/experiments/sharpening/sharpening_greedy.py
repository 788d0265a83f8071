r"""Proposition 4.3 and its converse: greedy decoding against the mode, by enumerating every
sequence of small autoregressive models.

Two parts.  Proposition 4.3's construction
(:func:`srlm_core.model.sharpening.autoregressive.trap`) for each :math:`p` in ``ps``, with
:math:`\eta=(1-2p)/2` (half the room :math:`2p+\eta\le1` leaves), vocabulary ``trap_vocab``
and horizon ``trap_horizon``: the mode, its probability and greedy's answer.  Then ``draws``
random models (Dirichlet next-token tables, vocabulary ``vocab``, horizon ``horizon``, for
each concentration in ``concentrations``): per model the largest sequence probability
:math:`\max_y\pi(y)`, the probability of greedy's answer and whether greedy returns the mode.
Huang et al.'s Proposition 3.1 says greedy returns the mode whenever
:math:`\max_y\pi(y)>\tfrac12`; with it, :math:`\pi(\text{greedy})>\tfrac12` exactly when
:math:`\max_y\pi(y)>\tfrac12` (a greedy answer above one half is the mode).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from srlm_core.errors import require, require_at_least
from srlm_core.model.sharpening import autoregressive as ar
from srlm_core.options import option
from srlm_core.stats import bootstrap_interval


@dataclass(frozen=True)
class Config:
    r"""``ps``: :math:`\pi(y^\star)` of the constructions, each in (0, 1/2);
    ``trap_vocab``, ``trap_horizon``: their size; ``vocab``, ``horizon``: the random models'
    size; ``concentrations``: their Dirichlet concentrations (small: peaked tables);
    ``draws``: random models per concentration; ``seed``: base seed."""

    ps: tuple[float, ...] = option((0.3, 0.45, 0.49),
                                   "pi(y*) of the constructions, each in (0, 1/2)")
    trap_vocab: int = option(3, "vocabulary of the constructions")
    trap_horizon: int = option(3, "horizon of the constructions")
    vocab: int = option(3, "vocabulary of the random models")
    horizon: int = option(4, "horizon of the random models")
    concentrations: tuple[float, ...] = option((0.2, 0.5, 1.0),
                                               "Dirichlet concentrations of the random models "
                                               "(small: peaked tables)")
    draws: int = option(2000, "random models per concentration")
    seed: int = option(0, "base seed")

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        require(self, ("ps", bool(self.ps) and all(0 < p < 0.5 for p in self.ps),
                       "each must be in (0, 1/2)"),
                ("concentrations", bool(self.concentrations) and all(
                    c > 0 for c in self.concentrations), "each must be positive"))
        require_at_least(self, 2, "trap_vocab", "trap_horizon", "vocab", "horizon", "draws")
        require_at_least(self, 0, "seed")
        return self


def construction(p: float, config: Config) -> dict:
    """Proposition 4.3's model at :math:`p`: its mode, :math:`\\pi(y^\\star)`, the largest
    other sequence probability, and greedy's answer with its probability."""
    tables = ar.trap(p, (1 - 2 * p) / 2, config.trap_horizon, config.trap_vocab)
    joint = ar.sequence_probs(tables)
    mode, picked = ar.mode(tables), ar.greedy(tables)
    others = np.delete(joint.ravel(), np.ravel_multi_index(mode, joint.shape))
    return {"p": p, "mode": list(mode), "greedy": list(picked), "mode_prob": float(joint[mode]),
            "runner_up": float(others.max()), "greedy_prob": float(joint[picked])}


def run(config: Config) -> dict:
    """The constructions and, per concentration, ``draws`` random models (seeded by
    ``(seed, concentration index)``): lists of the largest probability, greedy's probability
    and whether greedy is the mode."""
    c = config.validate()
    random = []
    for k, concentration in enumerate(c.concentrations):
        rng = np.random.default_rng([c.seed, k])
        rows = []
        for _ in range(c.draws):
            tables = ar.random_model(c.vocab, c.horizon, concentration, rng)
            joint = ar.sequence_probs(tables)
            picked = ar.greedy(tables)
            rows.append((float(joint.max()), float(joint[picked]), picked == ar.mode(tables)))
        random.append({"concentration": concentration,
                       "max_prob": [r[0] for r in rows], "greedy_prob": [r[1] for r in rows],
                       "greedy_is_mode": [r[2] for r in rows]})
    return {"constructions": [construction(p, c) for p in c.ps], "random": random,
            "vocab": c.vocab, "horizon": c.horizon, "draws": c.draws,
            "trap_vocab": c.trap_vocab, "trap_horizon": c.trap_horizon}


def summarise(values: dict) -> dict:
    r"""``p1_trap_verdict``: ``fails`` (greedy misses the unique mode) on every construction,
    else ``succeeds on some``; ``p1_converse_violations``: random models with
    :math:`\max\pi>\tfrac12` where greedy is not the mode; ``p1_share_violations``: models
    where :math:`[\pi(\text{greedy})>\tfrac12]\ne[\max\pi>\tfrac12]`; ``p1_converse_verdict``:
    ``holds`` when both are zero; among models with :math:`\max\pi\le\tfrac12`, the share where
    greedy misses the mode (interval over models) and its count; and the sizes."""
    traps = values["constructions"]
    failed = [t["greedy"] != t["mode"] for t in traps]
    max_prob = np.concatenate([r["max_prob"] for r in values["random"]])
    greedy_prob = np.concatenate([r["greedy_prob"] for r in values["random"]])
    is_mode = np.concatenate([r["greedy_is_mode"] for r in values["random"]])
    confident = max_prob > 0.5
    converse = int(np.sum(confident & ~is_mode))
    share = int(np.sum((greedy_prob > 0.5) != confident))
    miss = ~is_mode[~confident]
    interval = bootstrap_interval(miss.astype(float), resamples=2000)
    return {
        "p1_trap_verdict": "fails" if all(failed) else "succeeds on some",
        "p1_trap_ps": ", ".join(f"{t['p']:g}" for t in traps),
        "p1_trap_greedy_prob_max": max(t["greedy_prob"] for t in traps),
        "p1_trap_margin_min": min(t["mode_prob"] - t["runner_up"] for t in traps),
        "p1_converse_violations": converse, "p1_share_violations": share,
        "p1_converse_verdict": "holds" if converse == share == 0 else "fails",
        "p1_n_models": int(max_prob.size), "p1_n_confident": int(confident.sum()),
        "p1_n_unsure": int((~confident).sum()), "p1_unsure_misses": int(miss.sum()),
        "p1_unsure_miss_share": interval.mean, "p1_unsure_miss_lo": interval.lo,
        "p1_unsure_miss_hi": interval.hi,
        "p1_ar_vocab": values["vocab"], "p1_ar_horizon": values["horizon"],
        "p1_ar_sequences": values["vocab"] ** values["horizon"],
        "p1_n_concentrations": len(values["random"]), "p1_trap_vocab": values["trap_vocab"],
        "p1_trap_horizon": values["trap_horizon"],
    }


def plot(values: dict):
    r"""Per random model: greedy's probability against the largest probability
    :math:`\max_y\pi(y)` (orange: greedy missed the mode), the diagonal (greedy = mode) and the
    lines at one half; the constructions as black crosses."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(context="notebook", style="whitegrid")
    max_prob = np.concatenate([r["max_prob"] for r in values["random"]])
    greedy_prob = np.concatenate([r["greedy_prob"] for r in values["random"]])
    is_mode = np.concatenate([r["greedy_is_mode"] for r in values["random"]])
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.scatter(max_prob[is_mode], greedy_prob[is_mode], s=5, alpha=0.4, color="C0",
               label="greedy = mode")
    ax.scatter(max_prob[~is_mode], greedy_prob[~is_mode], s=7, alpha=0.7, color="C1",
               label="greedy misses the mode")
    traps = values["constructions"]
    ax.scatter([t["mode_prob"] for t in traps], [t["greedy_prob"] for t in traps], marker="x",
               s=60, color="black", label="Proposition 4.3's construction")
    ax.plot([0, 1], [0, 1], color="grey", lw=1)
    ax.axvline(0.5, color="black", ls=":", lw=1)
    ax.axhline(0.5, color="black", ls=":", lw=1)
    ax.set(xlabel=r"$\max_y\pi(y)$", ylabel=r"$\pi(\mathrm{greedy})$", xlim=(0, 1),
           ylim=(0, 1))
    ax.legend(fontsize=8, loc="upper left")
    return fig
