"""lm.diagnostics: the values the language-model chapter reports, each against an independent
derivation (hand-computed cases, a score-test inversion, exact enumeration, a manual forward
pass or a Monte Carlo with a stated error), so that a plausible bug in any of them fails."""

import math

import numpy as np
import pytest
import torch
from scipy import optimize, stats

from srlm_core.lm import diagnostics as diag
from srlm_core.lm.tiny import tiny_model

# -- alpha-hat (signal share) ------------------------------------------------------------------


def _orthogonal_design():
    """g in {0, 1} with sd 1/2 and l with sd exactly 2, uncorrelated with g (by symmetry)."""
    g = np.array([1, 1, 0, 0, 1, 1, 0, 0], float)
    ell = np.array([2, -2, 2, -2, 2, -2, 2, -2], float) - 5.0
    return g, ell


@pytest.mark.parametrize("b", [0.25, -0.25])
def test_signal_share_weights_coefficients_by_the_regressors_spread(b):
    """s = 3 g + b l + 1 with sd(g) = 1/2 and sd(l) = 2: the signal's explained spread is
    3 * 1/2 = 1.5 and the self-preference's |b| * 2 = 0.5, so alpha-hat = 1.5 / 2 = 0.75
    (computed by hand).  Bugs caught: raw coefficients |a| / (|a| + |b|) = 0.923, squared
    (variance) shares 0.9, the shares swapped (0.25), or a signed b (b < 0 gives 1.5)."""
    g, ell = _orthogonal_design()
    s = 3.0 * g + b * ell + 1.0
    out = diag.signal_share(s, g, ell)
    assert out["alpha_hat"] == pytest.approx(0.75, abs=1e-12)
    assert out["coef_truth"] == pytest.approx(3.0, abs=1e-12)
    assert out["coef_loglik"] == pytest.approx(b, abs=1e-12)


def test_signal_share_of_pure_judges_and_missing_scores():
    """A judge that only reads the checker has alpha-hat 1, one that only reads its own
    likelihood 0; a NaN score drops its response (not the regression)."""
    g, ell = _orthogonal_design()
    assert diag.signal_share(2.0 * g, g, ell)["alpha_hat"] == pytest.approx(1.0)
    assert diag.signal_share(0.5 * ell, g, ell)["alpha_hat"] == pytest.approx(0.0, abs=1e-12)
    s = 3.0 * g + 0.25 * ell
    with_nan = np.append(s, np.nan)
    out = diag.signal_share(with_nan, np.append(g, 1.0), np.append(ell, 100.0))
    assert out["alpha_hat"] == pytest.approx(0.75, abs=1e-12)
    assert math.isnan(diag.signal_share([1.0, 2.0, 3.0], [0, 1, 0], [1.0, 2.0, 3.0])["alpha_hat"])


# -- judge agreement and internal consistency -------------------------------------------------


def test_judge_agreement_on_hand_enumerated_pairs():
    """Pairs within a prompt whose truths differ: (0,1) judge right, (0,2) tie = 1/2,
    (3,5) and (4,5) judge wrong; (1,2) and (3,4) have equal truth and (2,3) crosses prompts,
    so agreement = (1 + 1/2 + 0 + 0) / 4 = 3/8.  Bugs caught: ties as 0 (1/4) or 1 (1/2),
    pairs across prompts counted, or "the first index passes" assumed."""
    groups = [[0, 1, 2], [3, 4, 5]]
    truth = [True, False, False, True, True, False]
    scores = [0.9, 0.2, 0.9, 0.1, 0.3, 0.7]
    assert diag.judge_agreement(groups, truth, scores) == pytest.approx(3 / 8)
    # the passing response second in its pair: (0,1) with truth swapped is still a hit
    assert diag.judge_agreement([[0, 1]], [False, True], [0.2, 0.9]) == 1.0
    assert diag.judge_agreement([[0, 1]], [False, True], [0.9, 0.2]) == 0.0
    # a NaN score removes its pairs; no informative pair is NaN, not 0 or 1
    assert diag.judge_agreement([[0, 1, 2]], [True, False, False],
                                [0.9, math.nan, 0.1]) == 1.0
    assert math.isnan(diag.judge_agreement([[0, 1]], [True, True], [0.1, 0.2]))


def test_internal_consistency_on_hand_enumerated_pairs():
    """Judge prefers i over j and the policy finds i more likely: (0,1) agree, (0,2) disagree,
    (1,2) agree -> 2/3; with a judge tie the pair is skipped (not counted as a disagreement)."""
    groups = [[0, 1, 2]]
    assert diag.internal_consistency(groups, [3.0, 1.0, 2.0], [-1.0, -3.0, -0.5]) == (
        pytest.approx(2 / 3))
    # (0,1) tied and skipped (counted, it would be an agreement: neither is "greater");
    # (0,2): 3 > 2 but -3 < -0.5 disagree; (1,2): 3 > 2 but -1 < -0.5 disagree
    assert diag.internal_consistency(groups, [3.0, 3.0, 2.0], [-3.0, -1.0, -0.5]) == 0.0
    # every pair in agreement -> 1; reversed likelihoods -> 0
    assert diag.internal_consistency(groups, [1.0, 2.0, 3.0], [0.1, 0.2, 0.3]) == 1.0
    assert diag.internal_consistency(groups, [1.0, 2.0, 3.0], [0.3, 0.2, 0.1]) == 0.0


# -- condition-number proxy --------------------------------------------------------------------


def test_log_condition_proxy_renormalises_over_the_sampled_set():
    """Prompt A: pi_t on its samples (1/2, 1/4, 1/4), passing {0, 1}: pi* = (1/2, 1/2, 0), so
    max log(pi*/pi_t) = log 2.  Prompt B: (1/4, 3/4) with only the second passing: log(4/3).
    Prompt C has no passing sample and is skipped.  The log-likelihoods are shifted by
    arbitrary per-prompt constants (sequence log-probabilities are not normalised over the
    samples).  Bugs caught: no renormalisation, min instead of max, failing samples included,
    or prompts without a passing sample counted."""
    groups = [[0, 1, 2], [3, 4], [5, 6]]
    truth = [True, True, False, False, True, False, False]
    logp = np.log([0.5, 0.25, 0.25, 0.25, 0.75, 0.3, 0.7])
    logp[:3] -= 17.0
    logp[3:5] -= 3.0
    expected = (math.log(2.0) + math.log(4.0 / 3.0)) / 2
    assert diag.log_condition_proxy(groups, truth, logp.tolist()) == pytest.approx(expected)
    assert math.isnan(diag.log_condition_proxy([[0, 1]], [False, False], [0.0, 0.0]))


# -- Wilson interval ---------------------------------------------------------------------------


def _score_test_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson interval by its definition: the p whose score statistic
    |k - n p| / sqrt(n p (1 - p)) is at most z, endpoints found by root bracketing."""
    z = stats.norm.ppf(0.5 + confidence / 2)

    def excess(p):
        return abs(k - n * p) - z * math.sqrt(n * p * (1 - p))

    # excess < 0 just inside the interval (at p-hat, or next to it when p-hat is 0 or 1)
    inside = min(max(k / n, 1e-9), 1 - 1e-9)
    lo = optimize.brentq(excess, 1e-300, inside, xtol=1e-15) if k > 0 else 0.0
    hi = optimize.brentq(excess, inside, 1 - 1e-16, xtol=1e-15) if k < n else 1.0
    return lo, hi


@pytest.mark.parametrize("k, n", [(0, 10), (1, 10), (5, 10), (10, 10), (3, 40), (37, 200)])
def test_wilson_interval_is_the_inverted_score_test(k, n):
    """Bugs caught: the Wald interval (degenerate at k = 0 or n), Clopper-Pearson, a 90% level,
    or a continuity correction all move the endpoints by far more than 1e-8."""
    lo, hi = diag.wilson_interval(k, n)
    want_lo, want_hi = _score_test_interval(k, n)
    assert lo == pytest.approx(want_lo, abs=1e-8)
    assert hi == pytest.approx(want_hi, abs=1e-8)


def test_wilson_interval_covers_near_its_nominal_level():
    """Exact coverage by enumerating k ~ Binomial(30, p) over a grid of p in [0.05, 0.95]:
    averaged over p it is within 1.5 points of 95% and never below 88% (Wilson's known
    oscillation); an interval that is too narrow (Wald: about 89% on average) or too wide
    (Clopper-Pearson's 98%) fails."""
    n = 30
    intervals = [diag.wilson_interval(k, n) for k in range(n + 1)]
    grid = np.linspace(0.05, 0.95, 181)
    coverage = []
    for p in grid:
        pmf = stats.binom.pmf(np.arange(n + 1), n, p)
        coverage.append(sum(w for w, (lo, hi) in zip(pmf, intervals, strict=True)
                            if lo <= p <= hi))
    assert abs(np.mean(coverage) - 0.95) < 0.015
    assert min(coverage) > 0.88
    assert all(math.isnan(v) for v in diag.wilson_interval(0, 0))


# -- sequence log-probabilities ----------------------------------------------------------------


def _manual_logprob(model, tokenizer, instruction, response_ids, temperature):
    """sum_j log softmax(logits(prefix_j) / T)[token_j], one unbatched forward pass per
    response token on exactly its prefix (no padding, no shifted gather)."""
    prompt = diag.chat_prompts(tokenizer, [instruction])[0]
    prefix = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    total = 0.0
    with torch.no_grad():
        for token in response_ids:
            logits = model(input_ids=torch.tensor([prefix])).logits[0, -1].double()
            total += float(torch.log_softmax(logits / temperature, dim=-1)[token])
            prefix = prefix + [token]
    return total


@pytest.mark.parametrize("temperature", [1.0, 0.6])
def test_sequence_logprobs_equal_a_manual_forward_pass(tokenizer, temperature):
    """Responses of different lengths in one padded batch (plain text closed by the
    end-of-turn token, and a sampled response whose ids were cut without it).  Bugs caught:
    an off-by-one in the completion mask (the last prompt token or the end-of-turn token),
    padding leaking into the sum, the temperature ignored, or the mean stored as the total."""
    model = tiny_model(tokenizer, seed=5)
    instructions = ["Describe rain.", "Say yes.", "Count to three please."]
    plain = ["it rains", "yes"]
    cut_ids = tokenizer("1 2", add_special_tokens=False)["input_ids"]
    responses = [*plain, diag.response("1 2", finished=False, ids=cut_ids)]
    out = diag.sequence_logprobs(model, tokenizer, instructions, responses, temperature,
                                 batch_size=2)
    expected_ids = [tokenizer(text, add_special_tokens=False)["input_ids"]
                    + [tokenizer.eos_token_id] for text in plain] + [cut_ids]
    assert out.length == [len(ids) for ids in expected_ids] == [9, 4, 3]
    for i, ids in enumerate(expected_ids):
        want = _manual_logprob(model, tokenizer, instructions[i], ids, temperature)
        assert out.total[i] == pytest.approx(want, abs=1e-4)
        assert out.mean[i] == pytest.approx(want / len(ids), abs=1e-4)


# -- KL(pi_t || pi_0) estimate -----------------------------------------------------------------


def _sharpened(tokenizer, seed, factor):
    """A tiny model whose final norm is scaled: a sharper next-token distribution, so that
    KL(pi_t || pi_0) is large against the Monte Carlo error."""
    model = tiny_model(tokenizer, seed=seed)
    with torch.no_grad():
        model.model.norm.weight.mul_(factor)
    return model


def _exact_two_token_kl(policy, initial, tokenizer, instruction, temperature):
    """KL between the tempered distributions of responses of at most two tokens, by exact
    enumeration: the end-of-turn token ends a response, any other first token is followed
    by one more."""
    prompt = diag.chat_prompts(tokenizer, [instruction])[0]
    prefix = torch.tensor(tokenizer(prompt, add_special_tokens=False)["input_ids"])
    vocab = policy.config.vocab_size
    eos = tokenizer.eos_token_id

    def logp(model):
        with torch.no_grad():
            first = model(input_ids=prefix[None]).logits[0, -1].double()
            rows = torch.cat([prefix.expand(vocab, -1), torch.arange(vocab)[:, None]], dim=1)
            second = model(input_ids=rows).logits[:, -1].double()
        return (torch.log_softmax(first / temperature, -1),
                torch.log_softmax(second / temperature, -1))

    (p1, p2), (q1, q2) = logp(policy), logp(initial)
    ratio2 = (p2.exp() * (p2 - q2)).sum(-1)  # KL of the second token given the first
    ratio2[eos] = 0.0
    kl = float((p1.exp() * (p1 - q1 + ratio2)).sum())
    # the per-sample spread of log p - log q, for the Monte Carlo error
    second_sq = (p2.exp() * (p2 - q2) ** 2).sum(-1)
    second_sq[eos] = 0.0
    lr1 = p1 - q1
    mean_sq = float((p1.exp() * (lr1**2 + 2 * lr1 * ratio2 + second_sq)).sum())
    return kl, math.sqrt(mean_sq - kl**2)


def test_kl_to_initial_is_an_unbiased_monte_carlo_estimate(tokenizer, monkeypatch):
    """evaluate()'s kl_to_initial over N = 800 sampled responses of at most two tokens lies
    within 4 standard errors of the exact KL(pi_t || pi_0) of the tempered policies (the
    standard error from the exact spread of the log-ratio).  The exact KL is about 29 standard
    errors from zero, so the reversed sign (KL(pi_0 || pi_t)'s sign convention), a
    per-token mean in place of the sum, or pi_t's log-probabilities taken at temperature 1
    instead of the sampling temperature fail."""
    from srlm_core.lm import evaluation
    from srlm_core.lm.config import LMConfig
    from srlm_core.lm.judge import Judgement

    monkeypatch.setattr(evaluation, "judge_logits", lambda policy, tok, inst, resp: Judgement(
        [float(i % 5) for i in range(len(resp))], [1.0] * len(resp)))  # the KL ignores it
    policy = _sharpened(tokenizer, seed=1, factor=8.0)
    initial = tiny_model(tokenizer, seed=0)
    temperature, samples = 0.5, 800
    config = LMConfig(model="tiny-random", heldout_samples=samples, max_new_tokens=2,
                      temperature=temperature, seed=3)
    heldout = [{"instruction": "Describe rain.",
                "constraints": [{"kind": "lowercase", "value": None}]}]
    out = evaluation.evaluate(policy, initial, tokenizer, heldout, config)
    kl, spread = _exact_two_token_kl(policy, initial, tokenizer, "Describe rain.", temperature)
    error = spread / math.sqrt(samples)
    assert kl > 25 * error
    assert abs(out["kl_to_initial"] - kl) < 4 * error
