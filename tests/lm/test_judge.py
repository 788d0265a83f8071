import math

import pytest
import torch

from srlm_core.lm import judge
from srlm_core.lm.judge import judge_generate, judge_logits, parse_score


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The answer is relevant. Score: 4", 4.0),
        ("Score: 2\nOn reflection... Score: 3", 3.0),
        ("Score: **5**", 5.0),
        ("Score:3.5 points", 3.5),
        ("I give it four points.", math.nan),
        ("Score: 9", math.nan),
        ("", math.nan),
    ],
)
def test_parse_score(text, expected):
    got = parse_score(text)
    assert (math.isnan(got) and math.isnan(expected)) or got == expected


def _full_sequence_scores(model, tokenizer, instruction, response):
    """Reference computation without the cached prefix: one plain forward pass."""
    text = judge._chat_prefix(tokenizer) + judge._chat_suffix(tokenizer, instruction, response)
    ids = tokenizer(text, return_tensors="pt", add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=ids).logits[0, -1].double(), -1)
    digit = logp[judge.score_token_ids(tokenizer)]
    probs = torch.softmax(digit, -1)
    return float((probs * torch.arange(1, 6)).sum()), float(digit.exp().sum())


def test_logit_scores_equal_uncached_forward(model, tokenizer):
    instructions = ["Describe rain.", "Describe rain in one long sentence please."]
    responses = ["It is wet.", "Rain falls from clouds when droplets grow heavy, and then more."]
    got = judge_logits(model, tokenizer, instructions, responses, batch_size=2)
    for i in range(2):
        score, mass = _full_sequence_scores(model, tokenizer, instructions[i], responses[i])
        assert got.scores[i] == pytest.approx(score, abs=1e-5)
        assert got.validity[i] == pytest.approx(mass, rel=1e-4)
        assert 1.0 <= got.scores[i] <= 5.0 and 0.0 < got.validity[i] < 1.0


def test_logit_score_follows_the_digit_logits(model, tokenizer):
    """Raising the logit of token "5" raises every score and every validity."""
    instructions, responses = ["Describe rain."] * 2, ["It is wet.", "Rain."]
    before = judge_logits(model, tokenizer, instructions, responses)
    five = tokenizer.convert_tokens_to_ids("5")

    def boost(module, inputs, output):
        output[..., five] += 3.0
        return output

    handle = model.lm_head.register_forward_hook(boost)
    try:
        after = judge_logits(model, tokenizer, instructions, responses)
    finally:
        handle.remove()
    assert all(a > b for a, b in zip(after.scores, before.scores, strict=True))
    assert all(a > b for a, b in zip(after.validity, before.validity, strict=True))


def test_generate_mode_parses_and_averages(model, tokenizer, monkeypatch):
    """generate mode averages the parsed scores of its samples and reports the parsed share."""
    outputs = iter(["Fine. Score: 4", "Score: 2", "no score here", "Score: 5", "Score: 5", "x"])

    def fake_decode(ids, skip_special_tokens=True):
        return [next(outputs) for _ in range(ids.shape[0])]

    monkeypatch.setattr(tokenizer, "batch_decode", fake_decode)
    torch.manual_seed(0)
    got = judge_generate(model, tokenizer, ["Say hi.", "Say bye."], ["hi", "bye"], samples=3,
                         max_new_tokens=2)
    assert got.scores == [3.0, 5.0]
    assert got.validity == pytest.approx([2 / 3, 2 / 3])


def test_sampled_ids_are_scored_exactly(model, tokenizer):
    """Likelihoods use the sampled token ids (not a re-tokenisation of the decoded text)."""
    from srlm_core.lm.diagnostics import generate, sequence_logprobs

    (samples,) = generate(model, tokenizer, ["Say hi."], samples=2, max_new_tokens=5,
                          temperature=1.0, seed=0)
    lp = sequence_logprobs(model, tokenizer, ["Say hi."] * 2, samples)
    assert lp.length == [len(s.ids) for s in samples]
    assert all(not s.finished or s.ids[-1] == tokenizer.eos_token_id for s in samples)
