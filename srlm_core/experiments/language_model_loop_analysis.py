r"""Statistics over prompts of the language-model loop's held-out evaluations
(:mod:`srlm_core.experiments.language_model_loop`): pass rates and the signal share
:math:`\hat\alpha` with bootstrap intervals over prompts, paired comparisons of two
evaluations with their sign-flip tests and detectable differences, internal consistency per
prompt and the sampled condition number.
"""

from __future__ import annotations

import math

import numpy as np

from srlm_core.lm import diagnostics as diag
from srlm_core.lm.evaluation import groups_of
from srlm_core.stats import cluster_bootstrap, minimum_detectable_difference, sign_flip_test

#: Bootstrap and sign-flip resamples of every interval and test over prompts.
RESAMPLES = 1999


def per_prompt(answers: dict, key: str = "passed") -> np.ndarray:
    """The per-prompt mean of a per-answer quantity (the unit of the intervals); ``key`` may
    also be ``"log_ratio"``, :math:`\\log\\pi_t-\\log\\pi_0` (its mean is the prompt's KL)."""
    values = (np.subtract(answers["logp"], answers["logp_initial"]) if key == "log_ratio"
              else answers[key])
    return diag.per_prompt(groups_of(answers["prompt"]), values)


def rate_interval(answers: dict, key: str = "passed") -> dict:
    """Mean over prompts of :func:`per_prompt` with a 95% bootstrap interval over prompts."""
    ci = cluster_bootstrap(per_prompt(answers, key), np.mean, RESAMPLES)
    return {"value": ci.mean, "lo": ci.lo, "hi": ci.hi, "prompts": ci.units}


def alpha_interval(answers: dict) -> dict:
    r"""The signed signal share :math:`\hat\alpha` with a 95% bootstrap interval resampling
    whole prompts (the regression refitted on each draw)."""
    rows = diag.signal_share_sums(groups_of(answers["prompt"]), answers["score"],
                                  answers["passed"],
                                  np.subtract(answers["logp"], answers["logp_initial"]))
    ci = cluster_bootstrap(rows, lambda r: diag.signal_share_from_sums(r)["alpha_hat"],
                           RESAMPLES)
    return {"value": ci.mean, "lo": ci.lo, "hi": ci.hi}


def consistency_by_prompt(answers: dict) -> np.ndarray:
    r"""Each prompt's internal consistency (:func:`srlm_core.lm.diagnostics.internal_consistency`
    on its own answers: the share of its answer pairs on which the judge prefers the answer
    with the larger :math:`\log\pi_t-\log\pi_0`); NaN for a prompt without such a pair."""
    log_ratio = np.subtract(answers["logp"], answers["logp_initial"])
    scores = np.asarray(answers["score"], float)
    return np.array([diag.internal_consistency([list(range(len(g)))], scores[g], log_ratio[g])
                     for g in groups_of(answers["prompt"])])


def consistency_change(first: dict, last: dict) -> dict:
    """Internal consistency of ``last`` minus ``first`` (two evaluations' answers), paired by
    prompt over the prompts where both are defined: mean, 95% bootstrap interval over prompts,
    sign-flip p-value and the smallest change the design detects."""
    d = consistency_by_prompt(last) - consistency_by_prompt(first)
    return _paired(d[~np.isnan(d)])


def _best_logp(answers: dict) -> np.ndarray:
    """Per prompt, the largest sequence log-probability among its sampled answers."""
    return np.array([max(answers["logp"][i] for i in g) for g in groups_of(answers["prompt"])])


def log_kappa_sampled(answers: dict) -> float:
    r"""The sampled condition number on the log scale, the paper's :math:`\kappa(\pi_t)=
    \mathbb E_x[1/\max_y\pi_t(y\mid x)]` with the maximum taken over the answers sampled
    for each prompt: :math:`\log\mathrm{mean}_x\exp(-\max_{y\ \mathrm{sampled}}\log
    \pi_t(y\mid x))`, an upper bound on :math:`\log\kappa(\pi_t)` (a sampled answer is at
    most the mode), from the sequence log-probabilities the loop records."""
    best = _best_logp(answers)
    return float(np.logaddexp.reduce(-best) - math.log(len(best)))


def median_best_logp(answers: dict) -> float:
    """The median over prompts of the largest sampled log-probability: the typical prompt's
    term of :func:`log_kappa_sampled`, which the least confident prompt dominates."""
    return float(np.median(_best_logp(answers)))


def alpha_power(alpha: dict, prompts: int, seconds_per_prompt: float,
                half_width: float = 0.1) -> dict:
    r"""What :math:`\hat\alpha` with a 95% half-width of ``half_width`` would take: an
    interval over prompts narrows as :math:`1/\sqrt{\text{prompts}}`, so from the measured
    interval (``alpha``: ``lo``, ``hi``) on ``prompts`` prompts it needs
    :math:`\text{prompts}\,(h/\text{half\_width})^2` prompts, which one held-out
    evaluation (at ``seconds_per_prompt``) takes that many times as long."""
    h = (alpha["hi"] - alpha["lo"]) / 2
    needed = math.ceil(prompts * (h / half_width) ** 2)
    return {"half_width": h, "target": half_width, "prompts": needed,
            "hours": needed * seconds_per_prompt / 3600}


def paired_comparison(answers: dict, against: dict, key: str = "passed") -> dict:
    """Paired, prompt-clustered comparison of two evaluations on the same held-out prompts:
    the mean over prompts of the per-prompt difference (``answers`` minus ``against``), its
    95% bootstrap interval over prompts, the sign-flip p-value over prompts and the smallest
    difference the design detects (two-sided 5% test, 80% power, from the spread of the
    per-prompt differences)."""
    return _paired(per_prompt(answers, key) - per_prompt(against, key))


def _paired(d: np.ndarray) -> dict:
    """One difference per prompt: its mean with a 95% bootstrap interval over prompts, the
    sign-flip p-value and the smallest difference the design detects."""
    ci = cluster_bootstrap(d, np.mean, RESAMPLES)
    return {"difference": ci.mean, "lo": ci.lo, "hi": ci.hi,
            "p_value": sign_flip_test(d, RESAMPLES),
            "detectable": minimum_detectable_difference(float(np.std(d, ddof=1)), len(d)),
            "prompts": len(d)}


def change_word(comparison: dict, level: float = 0.05) -> str:
    """'higher' or 'lower' when the paired test rejects at ``level``, else a null stated with
    the smallest detectable difference (in percentage points)."""
    if comparison["p_value"] < level:
        return "higher" if comparison["difference"] > 0 else "lower"
    return (f"no detectable change (the design detects "
            f"{100 * comparison['detectable']:.0f} points)")
