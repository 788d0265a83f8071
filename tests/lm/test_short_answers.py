"""The prompt generator: distinct prompts, a fixed split, and answers recomputed here from
the prompt text alone; the checker accepts the exact answer and rejects others."""

import re

import pytest

from srlm_core.lm.short_answers import CATEGORIES, FACTS, KINDS, build_prompts, is_correct


def _recompute(prompt: dict) -> str:
    text = prompt["instruction"]
    if prompt["kind"] == "arithmetic":
        a, op, b = re.match(r"What is (\d+) (plus|minus|times) (\d+)\?", text).groups()
        a, b = int(a), int(b)
        return str({"plus": a + b, "minus": a - b, "times": a * b}[op])
    if prompt["kind"] == "count":
        listed = re.match(r"How many words are in this list: (.*)\? Answer", text).group(1)
        return str(len(listed.split(", ")))
    if prompt["kind"] == "choice":
        name = re.match(r"Which of these is (.*)\? A\)", text).group(1)
        members = next(m for n, m, _ in CATEGORIES if n == name)
        options = re.findall(r"([A-D])\) (\w+)", text)
        hits = [letter for letter, word in options if word in members]
        assert len(hits) == 1, text  # exactly one right option
        return hits[0]
    question = text.removesuffix(" Answer with one word only.")
    return dict(FACTS)[question]


def test_answers_are_exact_and_prompts_distinct():
    prompts = build_prompts(150, 50, seed=3)
    assert len(prompts) == 200
    assert len({p["instruction"] for p in prompts}) == 200
    assert [p["split"] for p in prompts].count("train") == 150
    assert {p["kind"] for p in prompts} == set(KINDS)
    for p in prompts:
        assert p["answer"] == _recompute(p), p
        assert is_correct(p["kind"], p["answer"], p["answer"])


def test_deterministic_and_seeded():
    assert build_prompts(20, 5, seed=1) == build_prompts(20, 5, seed=1)
    assert build_prompts(20, 5, seed=1) != build_prompts(20, 5, seed=2)


@pytest.mark.parametrize("kind, answer, text, ok", [
    ("arithmetic", "27", "16 + 11 = 27", False),  # the first number is read
    ("arithmetic", "27", "27", True),
    ("arithmetic", "27", "The answer is 27.", True),
    ("count", "3", "There are 3 words.", True),
    ("count", "3", "13", False),
    ("choice", "B", "B) apple", True),
    ("choice", "B", "A) car", False),
    ("choice", "B", "a banana is B", True),  # lowercase 'a' is not an option letter
    ("fact", "sad", "The opposite of happy is sad.", True),
    ("fact", "sad", "Sadness", False),
    ("fact", "Paris", "paris", True),
])
def test_checker(kind, answer, text, ok):
    assert is_correct(kind, answer, text) is ok


def test_too_many_prompts_is_refused():
    with pytest.raises(ValueError, match="distinct"):
        build_prompts(300, 100)  # the fact table has 56 entries
