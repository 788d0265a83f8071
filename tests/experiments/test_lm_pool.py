"""Answer selection for the response pool, and its config's checks."""

import pytest

from srlm_core.errors import ConfigError
from srlm_core.experiments.lm_pool import Config, select_answers

LOWER = [{"kind": "lowercase", "value": None}]


def test_sampled_answers_are_used_when_both_verdicts_are_there():
    finished = [("all lower.", [1]), ("Capital.", [2]), ("also lower.", [3]), ("More Caps.", [4])]
    chosen = select_answers(LOWER, finished, 4)
    assert [a["g"] for a in chosen] == [1, 1, 0, 0]
    assert all(a["source"] == "sampled" for a in chosen)


def test_missing_verdicts_are_filled_with_checked_edits():
    finished = [("Capital one.", [1]), ("Capital two.", [2]), ("Capital three.", [3]),
                ("Capital four.", [4])]
    chosen = select_answers(LOWER, finished, 4)
    assert sorted(a["g"] for a in chosen) == [0, 0, 1, 1]
    edited = [a for a in chosen if a["source"] == "edited"]
    assert len(edited) == 2 and all(a["text"] == a["text"].lower() for a in edited)
    assert select_answers(LOWER, finished, 4, allow_edits=False) is None


def test_a_prompt_that_cannot_get_both_verdicts_is_dropped():
    min_words = [{"kind": "min_words", "value": 50}]
    assert select_answers(min_words, [("short.", [1]), ("tiny.", [2])], 4) is None


def test_pool_config_errors_name_the_option():
    with pytest.raises(ConfigError) as err:
        Config(train_keep=50, train_scan=10).validate()
    assert err.value.field == "train_keep"
    with pytest.raises(ConfigError) as err:
        Config(answers=3).validate()
    assert err.value.field == "answers"
