import pytest

from srlm_core.lm.checkers import CHECKERS, compliance, count_sentences, passes


def c(kind, value=None):
    return {"kind": kind, "value": value}


@pytest.mark.parametrize(
    ("constraint", "good", "bad"),
    [
        (c("max_words", 5), "one two three four five", "one two three four five six"),
        (c("min_words", 3), "one two three", "one two"),
        (c("max_sentences", 2), "First one. Second one!", "One. Two. Three."),
        (c("include_keyword", "blue"), "The sky is Blue today.", "The sky is bluer."),
        (c("forbid_keyword", "the"), "Then there was light.", "Look at the sky."),
        (c("lowercase"), "all quiet here, 42.", "All quiet here."),
        (c("uppercase"), "LOUD AND CLEAR!", "LOUD and CLEAR"),
        (c("bullets", 2), "Intro\n* one\n* two", "* one\n* two\n- three"),
        (c("end_phrase", "The end."), "It was fun. The end.  ", "The end. It was fun."),
        (c("json"), '```json\n{"a": [1, 2]}\n```', "{'a': 1}"),
        (c("no_commas"), "No commas here.", "Yes, one."),
    ],
)
def test_each_checker_accepts_and_rejects(constraint, good, bad):
    assert passes([constraint], good)
    assert not passes([constraint], bad)


def test_every_kind_is_tested():
    tested = {"max_words", "min_words", "max_sentences", "include_keyword", "forbid_keyword",
              "lowercase", "uppercase", "bullets", "end_phrase", "json", "no_commas"}
    assert tested == set(CHECKERS)


def test_empty_answers_fail_the_upper_limits():
    assert not passes([c("max_words", 5)], "")
    assert not passes([c("lowercase")], "123")


def test_sentences_and_compliance():
    assert count_sentences("One. Two? Three") == 3
    assert compliance([c("lowercase"), c("max_words", 2)], "three small words") == 0.5
