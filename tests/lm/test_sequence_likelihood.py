"""Exact answer probabilities: the greedy answer's probability is the product of its token
probabilities (computed here step by step), and the share identity
pi(greedy) > 1/2 <=> max pi > 1/2 on enumerated small trees."""

import math

import numpy as np
import pytest
import torch

from srlm_core.lm import sequence_likelihood as sl
from srlm_core.lm.diagnostics import chat_prompts

INSTRUCTIONS = ["What is 2 plus 2?", "Name a colour."]


def _stepwise_logprob(model, tokenizer, instruction, ids, temperature):
    prompt = tokenizer(chat_prompts(tokenizer, [instruction])[0],
                       add_special_tokens=False)["input_ids"]
    total = 0.0
    for h, token in enumerate(ids):
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([prompt + ids[:h]])).logits[0, -1]
        total += float(torch.log_softmax(logits / temperature, -1)[token])
    return total


@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_greedy_probability_is_the_product_of_token_probabilities(model, tokenizer,
                                                                   temperature):
    answers = sl.greedy(model, tokenizer, INSTRUCTIONS, max_new_tokens=5)
    exact = sl.logprobs(model, tokenizer, INSTRUCTIONS, answers, temperature)
    for instruction, answer, value in zip(INSTRUCTIONS, answers, exact, strict=True):
        assert len(answer.ids) <= 5 and (answer.finished or len(answer.ids) == 5)
        assert value == pytest.approx(
            _stepwise_logprob(model, tokenizer, instruction, answer.ids, temperature), abs=1e-4)


def test_greedy_is_not_forced_to_end(model, tokenizer):
    """The tiny model's generation config forces the end-of-turn token at the limit; the
    policy's greedy answer must not inherit that (it would not be pi's answer)."""
    answers = sl.greedy(model, tokenizer, INSTRUCTIONS, max_new_tokens=3)
    assert any(not a.finished for a in answers)


def test_samples_and_beams_are_answers_of_the_policy(model, tokenizer):
    drawn = sl.sample(model, tokenizer, INSTRUCTIONS, 3, 4, 1.0, seed=0)
    assert [len(row) for row in drawn] == [3, 3]
    assert drawn == sl.sample(model, tokenizer, INSTRUCTIONS, 3, 4, 1.0, seed=0)
    beams = sl.beam(model, tokenizer, INSTRUCTIONS[:1], 3, 4, 0.7)
    greedy = sl.greedy(model, tokenizer, INSTRUCTIONS[:1], 4)
    scores = sl.logprobs(model, tokenizer, INSTRUCTIONS[:1] * 3, beams[0], 0.7)
    assert max(scores) >= sl.logprobs(model, tokenizer, INSTRUCTIONS[:1], greedy, 0.7)[0] - 1e-4


def _random_tree(rng, vocab, concentration):
    table = {}

    def step(prefix):
        if prefix not in table:
            table[prefix] = list(rng.dirichlet([concentration] * vocab))
        return table[prefix]
    return step


def test_share_identity_on_enumerated_trees():
    rng = np.random.default_rng(0)
    confident = missed = 0
    for trial in range(400):
        step = _random_tree(rng, 3, [0.2, 0.5, 1.0][trial % 3])
        answers = sl.enumerate_answers(step, vocab=3, eos=2, horizon=4)
        assert math.isclose(sum(answers.values()), 1.0, rel_tol=1e-9)
        mode_p = max(answers.values())
        greedy, p = sl.greedy_answer(step, eos=2, horizon=4)
        assert math.isclose(answers[greedy], p, rel_tol=1e-12)
        assert (p > 0.5) == (mode_p > 0.5)
        if mode_p > 0.5:
            confident += 1
            assert p == mode_p
        elif p < mode_p:
            missed += 1
    assert confident > 20 and missed > 20  # both sides of the identity were exercised


def test_greedy_misses_the_mode_below_one_half():
    """The paper's Proposition 4.3: a first-token trap b with p + eta, the mode behind a with
    p <= 1/2, every b-path below p."""
    p, eta = 0.4, 0.1

    def step(prefix):
        if not prefix:
            return [p, p + eta, 1 - 2 * p - eta]  # a, b, end
        if prefix == (0,):
            return [0.0, 0.0, 1.0]
        return [0.45, 0.45, 0.1]

    answers = sl.enumerate_answers(step, vocab=3, eos=2, horizon=3)
    greedy, q = sl.greedy_answer(step, eos=2, horizon=3)
    assert max(answers, key=answers.get) == (0, 2) and greedy[0] == 1 and q < p


def test_top_blocks_policy_at_a_temperature_is_the_full_network(model, tokenizer):
    """The training path's log pi(y|x) at tau (labels and reference of the loop) equals the
    full network's at tau."""
    from srlm_core.lm.top_blocks import PoolSequences, TopBlocksPolicy

    answers = [a for row in sl.sample(model, tokenizer, INSTRUCTIONS, 2, 4, 0.7, seed=1)
               for a in row]
    instructions = [i for i in INSTRUCTIONS for _ in range(2)]
    sequences = PoolSequences.build(tokenizer, instructions, [a.ids for a in answers])
    policy = TopBlocksPolicy(model, sequences, trainable_blocks=1, temperature=0.7)
    full = sl.logprobs(model, tokenizer, instructions, answers, 0.7)
    assert policy.all_logprobs().tolist() == pytest.approx(full, abs=1e-4)
    assert full != pytest.approx(sl.logprobs(model, tokenizer, instructions, answers, 1.0))
