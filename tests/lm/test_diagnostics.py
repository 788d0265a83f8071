"""lm.diagnostics: the values the language-model chapter reports, each against an independent
derivation (hand-computed cases, exact enumeration, a manual forward pass or a Monte Carlo
with a stated error), so that a plausible bug in any of them fails."""

import math

import numpy as np
import pytest
import torch

from srlm_core.lm import diagnostics as diag
from srlm_core.lm.tiny import tiny_model

# -- alpha-hat (signed signal share, within prompts) -------------------------------------------

#: two prompts of four answers: within each, g is (1, 1, 0, 0) (centred sd 1/2) and l is
#: (2, -2, 2, -2) (centred sd 2, uncorrelated with g by symmetry), l shifted by -5 and +5
GROUPS = [[0, 1, 2, 3], [4, 5, 6, 7]]
G = np.array([1, 1, 0, 0, 1, 1, 0, 0], float)
L = np.array([-3, -7, -3, -7, 7, 3, 7, 3], float)
#: prompt effects: the second prompt's scores are 20 lower although its l is 10 higher
OFFSET = np.array([0, 0, 0, 0, -20, -20, -20, -20], float)


@pytest.mark.parametrize(("a", "b", "alpha"), [(3.0, 0.25, 0.75), (3.0, -0.25, 0.75),
                                               (-3.0, 0.25, -0.75)])
def test_signal_share_is_signed_and_within_prompts(a, b, alpha):
    """s = a g + b l + prompt effect, with centred sd(g) = 1/2 and sd(l) = 2: the signal's
    explained spread is |a| / 2 = 1.5 and the self-preference's |b| * 2 = 0.5, so
    alpha-hat = sign(a) * 1.5 / 2 = +-0.75 (computed by hand).  Bugs caught: the pooled
    regression with one intercept (the prompt effects pull b to -1.47 and alpha-hat to 0.159),
    an unsigned share (+0.75 for the anti-aligned judge), a signed b (b < 0 gives 1.5), raw
    coefficients |a| / (|a| + |b|) = 0.923, variance shares 0.9 or the shares swapped."""
    s = a * G + b * L + OFFSET
    out = diag.signal_share(GROUPS, s, G, L)
    assert out["alpha_hat"] == pytest.approx(alpha, abs=1e-12)
    assert out["coef_truth"] == pytest.approx(a, abs=1e-12)
    assert out["coef_log_ratio"] == pytest.approx(b, abs=1e-12)


def test_signal_share_of_pure_judges_and_missing_scores():
    """A judge that only reads the checker has alpha-hat 1, one that only reads the implicit
    reward 0.  A ninth answer of prompt 1 with a NaN score and l = 100 is dropped BEFORE the
    prompt means are taken (kept, it would move prompt 1's mean of l by 20 and the fit)."""
    assert diag.signal_share(GROUPS, 2.0 * G + OFFSET, G, L)["alpha_hat"] == pytest.approx(1.0)
    assert diag.signal_share(GROUPS, 0.5 * L, G, L)["alpha_hat"] == pytest.approx(0.0, abs=1e-12)
    s = np.append(3.0 * G + 0.25 * L + OFFSET, np.nan)
    out = diag.signal_share([[0, 1, 2, 3, 8], [4, 5, 6, 7]], s, np.append(G, 1.0),
                            np.append(L, 100.0))
    assert out["alpha_hat"] == pytest.approx(0.75, abs=1e-12)


def test_signal_share_is_undefined_without_spread_or_answers():
    """All NaN: at t = 0 (l = 0 everywhere); when l varies only between prompts (no spread
    within them: a pooled fit would use it); with g constant within prompts; with three
    answers in all; and with four answers of which one is alone in its prompt (a prompt left
    with fewer than two answers is dropped, leaving three).  A judge constant within prompts
    has a = b = 0 and a NaN alpha-hat (not 0 or 1)."""
    def nan_share(groups, s, g, ell):
        return all(math.isnan(v) for v in diag.signal_share(groups, s, g, ell).values())

    s = 3.0 * G + OFFSET
    assert nan_share(GROUPS, s, G, np.zeros(8))
    assert nan_share(GROUPS, s, G, np.repeat([1.0, 5.0], 4))
    assert nan_share(GROUPS, s, np.repeat([0.0, 1.0], 4), L)
    assert nan_share([[0, 1, 2]], [1.0, 2.0, 4.0], [0, 1, 0], [1.0, 2.0, 3.5])
    assert nan_share([[0, 1, 2], [3]], [1.0, 2.0, 4.0, 0.0], [0, 1, 0, 1],
                     [1.0, 2.0, 3.5, 9.0])
    assert math.isnan(diag.signal_share(GROUPS, OFFSET, G, L)["alpha_hat"])


# -- judge agreement, internal and rank consistency -------------------------------------------


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
    """The judge prefers the answer with the larger implicit reward l.  Prompt 1, scores
    (3, 1, 2) and l (-1, -3, -0.5): (0,1) agree, (0,2) disagree, (1,2) agree; prompt 2,
    scores (1, 2) and l (5, -5): disagree; so 2/4 = 1/2 (pairs across prompts counted, or
    prompt 2 missed, give other values)."""
    groups = [[0, 1, 2], [3, 4]]
    assert diag.internal_consistency(groups, [3.0, 1.0, 2.0, 1.0, 2.0],
                                     [-1.0, -3.0, -0.5, 5.0, -5.0]) == pytest.approx(1 / 2)


def test_internal_consistency_skips_ties_in_either_and_missing_scores():
    """Scores (3, 3, 2, 1), l (0.5, 0.1, 0.1, 1.0): (0,1) is a judge tie and (1,2) an l tie,
    both skipped; (0,2) agrees, (0,3), (1,3), (2,3) disagree: 1/4.  Counting either tie as
    a disagreement gives 1/5, both 1/6.  A NaN score skips its pairs; l = 0 everywhere
    (t = 0) leaves no pair: NaN, not 1/2."""
    assert diag.internal_consistency([[0, 1, 2, 3]], [3.0, 3.0, 2.0, 1.0],
                                     [0.5, 0.1, 0.1, 1.0]) == pytest.approx(1 / 4)
    assert diag.internal_consistency([[0, 1, 2]], [1.0, math.nan, 3.0],
                                     [0.1, 9.0, 0.3]) == 1.0
    assert math.isnan(diag.internal_consistency([[0, 1, 2]], [1.0, 2.0, 3.0], [0.0] * 3))


def test_kendall_tau_and_within_auc_values():
    """tau_b by hand: (1,2,3) vs (1,3,2) has 2 concordant and 1 discordant pair, 1/3;
    (1,2,2) vs (1,2,3) has 2 concordant pairs and one tie in x:
    2 / sqrt((3 - 1) * 3) = 0.8165 (tau_a would give 2/3).  AUC pairs (pass, fail):
    (3 vs 1) win, (3 vs 3) tie, (2 vs 1) win, (2 vs 3) loss: 2.5 / 4."""
    assert diag.kendall_tau([1, 2, 3], [1, 2, 3]) == pytest.approx(1.0)
    assert diag.kendall_tau([1, 2, 3], [1, 3, 2]) == pytest.approx(1 / 3)
    assert diag.kendall_tau([1, 2, 2], [1, 2, 3]) == pytest.approx(2 / math.sqrt(6))
    assert math.isnan(diag.kendall_tau([1, 1, 1], [1, 2, 3]))
    assert diag.within_auc([3, 2, 1, 3], [True, True, False, False]) == pytest.approx(2.5 / 4)
    assert math.isnan(diag.within_auc([1, 2], [True, True]))


def test_rank_consistency_averages_per_prompt_taus():
    """Prompt A: (1, 2, 3) now vs (1, 3, 2) before, tau 1/3; B: (2, 1) vs (1, 2), tau -1;
    C: constant now, skipped; D: (1, NaN, 5) vs (2, 9, 3), the NaN answer dropped within the
    prompt, tau of (1, 5) vs (2, 3) = 1; E: one answer, skipped.  Mean (1/3 - 1 + 1) / 3 =
    1/9.  Bugs caught: C counted as 0 (1/12), one tau pooled over all answers, or the NaN
    answer dropped from one list only (misaligned pairs)."""
    groups = [[0, 1, 2], [3, 4], [5, 6], [7, 8, 9], [10]]
    now = [1, 2, 3, 2, 1, 4, 4, 1, math.nan, 5, 7]
    before = [1, 3, 2, 1, 2, 1, 2, 2, 9, 3, 1]
    assert diag.rank_consistency(groups, now, before) == pytest.approx(1 / 9)
    assert math.isnan(diag.rank_consistency([[0, 1], [2]], [1.0, 1.0, 3.0], [1.0, 2.0, 3.0]))
    assert math.isnan(diag.rank_consistency([[0, 1]], [1.0, 2.0], [math.nan, 2.0]))


def test_per_prompt_pass_rates():
    """Pass rates per prompt by hand: (1 + 0 + 1) / 3 and 0 / 2; the maximum: 1 and 0."""
    groups, truth = [[0, 1, 2], [3, 4]], [True, False, True, False, False]
    assert diag.per_prompt(groups, truth) == pytest.approx([2 / 3, 0.0])
    assert diag.per_prompt(groups, truth, np.max) == pytest.approx([1.0, 0.0])


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
    from srlm_core.experiments.language_model_runner import Config
    from srlm_core.lm import evaluation
    from srlm_core.lm.rubric_judge import Judgement

    monkeypatch.setattr(evaluation, "judge_logits", lambda policy, tok, inst, resp: Judgement(
        [float(i % 5) for i in range(len(resp))], [1.0] * len(resp)))  # the KL ignores it
    policy = _sharpened(tokenizer, seed=1, factor=8.0)
    policy.generation_config.forced_eos_token_id = None  # sample the policy itself
    initial = tiny_model(tokenizer, seed=0)
    temperature, samples = 0.5, 800
    config = Config(model="tiny-random", heldout_samples=samples, max_new_tokens=2,
                      temperature=temperature, seed=3)
    heldout = [{"instruction": "Describe rain.",
                "constraints": [{"kind": "lowercase", "value": None}]}]
    out = evaluation.evaluate(policy, initial, tokenizer, heldout, config)
    kl, spread = _exact_two_token_kl(policy, initial, tokenizer, "Describe rain.", temperature)
    error = spread / math.sqrt(samples)
    assert kl > 25 * error
    assert abs(out["kl_to_initial"] - kl) < 4 * error
