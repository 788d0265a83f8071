import math

import pytest
import torch

from srlm_core.lm import rubric_judge
from srlm_core.lm.rubric_judge import judge_generate, judge_logits, parse_score


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
        ("score:5", 5.0),
        ("SCORE :  2 points", 2.0),
        ("Score: 10", math.nan),
        ("Score: 4\nscore: 10", math.nan),
        ("The score is good. No number follows.", math.nan),
    ],
)
def test_parse_score(text, expected):
    got = parse_score(text)
    assert (math.isnan(got) and math.isnan(expected)) or got == expected


def _full_sequence_scores(model, tokenizer, instruction, response):
    """Reference computation without the cached prefix: one plain forward pass."""
    text = (rubric_judge._chat_prefix(tokenizer)
            + rubric_judge._chat_suffix(tokenizer, instruction, response))
    ids = tokenizer(text, return_tensors="pt", add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=ids).logits[0, -1].double(), -1)
    digit = logp[rubric_judge.score_token_ids(tokenizer)]
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


def test_forced_score_without_rationale_is_the_logits_judge(model, tokenizer):
    """An empty rationale (or one that is only a score marker) leaves the logits judge's text:
    the same score and digit mass."""
    instructions = ["Describe rain.", "Describe rain in one long sentence please."]
    responses = ["It is wet.", "Rain falls from clouds when droplets grow heavy, and then more."]
    fast = judge_logits(model, tokenizer, instructions, responses)
    forced = rubric_judge.forced_scores(model, tokenizer, instructions, responses, ["", "Score: 5"])
    for (score, mass), s, v in zip(forced, fast.scores, fast.validity, strict=True):
        assert score == pytest.approx(s, abs=1e-5) and mass == pytest.approx(v, rel=1e-4)


def test_forced_prompt_cuts_the_rationale_at_its_first_marker(tokenizer):
    text = rubric_judge.forced_prompt(tokenizer, "Say hi.", "hi", "Relevant and short.  score:4 ok")
    assert text.endswith("<|im_start|>assistant\nRelevant and short.\nScore: ")
    assert rubric_judge.forced_prompt(tokenizer, "Say hi.", "hi", "").endswith("assistant\nScore: ")


def test_generate_mode_forces_a_score_and_keeps_the_written_one(model, tokenizer, monkeypatch):
    """generate mode: the score is the mean forced score of the samples' rationales, the
    validity their mean digit mass; ``written`` averages the parsed scores, ``texts`` keeps
    the raw rationales."""
    rationales = ["Fine. Score: 4", "score:2", "no score here", "Score: 10", "x", "Score: 5"]
    monkeypatch.setattr(rubric_judge, "sample_rationales", lambda *a, **k: list(rationales))
    got = judge_generate(model, tokenizer, ["Say hi.", "Say bye."], ["hi", "bye"], samples=3,
                         max_new_tokens=2, batch_size=2)
    forced = rubric_judge.forced_scores(model, tokenizer, ["Say hi."] * 3 + ["Say bye."] * 3,
                                 ["hi"] * 3 + ["bye"] * 3, rationales)
    assert got.scores == pytest.approx([sum(s for s, _ in forced[:3]) / 3,
                                        sum(s for s, _ in forced[3:]) / 3])
    assert got.validity == pytest.approx([sum(m for _, m in forced[:3]) / 3,
                                          sum(m for _, m in forced[3:]) / 3])
    assert got.written == [3.0, 5.0]
    assert got.texts == [rationales[:3], rationales[3:]]


def test_generate_mode_stops_at_a_complete_score(tokenizer):
    """The stopping rule fires on a complete "Score: X" (any case), not on a bare marker."""
    stop = rubric_judge._StopAtScore(tokenizer, 0)
    rows = ["I give score:4. Good", "Score: 3.", "SCORE : 5\n", "good answer"]
    ids = tokenizer(rows, return_tensors="pt", padding=True, padding_side="left",
                    add_special_tokens=False)["input_ids"]
    assert stop(ids, None).tolist() == [True, False, True, False]


def test_generate_mode_runs_on_the_model(model, tokenizer):
    torch.manual_seed(0)
    got = judge_generate(model, tokenizer, ["Say hi."], ["hi"], samples=2, max_new_tokens=4)
    assert len(got.texts[0]) == 2 and 1.0 <= got.scores[0] <= 5.0 and 0 < got.validity[0] < 1


def test_sampled_ids_are_scored_exactly(model, tokenizer):
    """Likelihoods use the sampled token ids (not a re-tokenisation of the decoded text)."""
    from srlm_core.lm.diagnostics import generate, sequence_logprobs

    (samples,) = generate(model, tokenizer, ["Say hi."], samples=2, max_new_tokens=5,
                          temperature=1.0, seed=0)
    lp = sequence_logprobs(model, tokenizer, ["Say hi."] * 2, samples)
    assert lp.length == [len(s.ids) for s in samples]
    assert all(not s.finished or s.ids[-1] == tokenizer.eos_token_id for s in samples)
