"""Verdict-flipping edits: every edit the pool keeps really flips the checker's verdict, and
prompts whose constraint has no mechanical edit get none."""

import pytest

from srlm_core.lm.checkers import passes
from srlm_core.lm.edits import flip

CASES = [
    ([{"kind": "lowercase", "value": None}], "The Moon is bright.", True),
    ([{"kind": "uppercase", "value": None}], "The moon is bright.", True),
    ([{"kind": "no_commas", "value": None}], "Rain, wind, and snow.", True),
    ([{"kind": "max_words", "value": 5}], "One two three four five six seven eight.", True),
    ([{"kind": "max_sentences", "value": 1}], "First one. Second one. Third.", True),
    ([{"kind": "include_keyword", "value": "blue"}], "The sky is grey.", True),
    ([{"kind": "forbid_keyword", "value": "the"}], "Look at the sea.", True),
    ([{"kind": "bullets", "value": 2}], "Cats purr. Dogs bark. Owls hoot.", True),
    ([{"kind": "end_phrase", "value": "The end."}], "A story.", True),
    ([{"kind": "json", "value": None}], "plain text", True),
]


@pytest.mark.parametrize(("constraints", "failing", "_"), CASES)
def test_a_failing_answer_is_fixed_and_a_passing_one_broken(constraints, failing, _):
    assert not passes(constraints, failing)
    fixed, name = flip(failing, constraints)
    assert passes(constraints, fixed) and name.startswith("fix")
    broken, name = flip(fixed, constraints)
    assert not passes(constraints, broken) and name.startswith("break")


def test_two_constraints_are_fixed_together():
    constraints = [{"kind": "no_commas", "value": None}, {"kind": "end_phrase",
                                                          "value": "Thank you."}]
    fixed, name = flip("Tea, coffee, water.", constraints)
    assert passes(constraints, fixed) and name == "fix no_commas+end_phrase"


def test_min_words_cannot_be_fixed_mechanically_but_can_be_broken():
    constraints = [{"kind": "min_words", "value": 10}]
    assert flip("Too short.", constraints) is None
    long = " ".join(["word"] * 12) + "."
    broken, _ = flip(long, constraints)
    assert not passes(constraints, broken)
