"""Validation of a stored response pool."""

import pytest

from srlm_core.errors import ConfigError
from srlm_core.lm.pool import pool_from_values


def _values(**answer):
    base = {"text": "x", "ids": "5 6 2", "g": 1, "logp0": -3.0, "source": "sampled"}
    return {"prompts": [{"split": "train", "id": 1, "instruction": "Say x.", "constraints": [],
                         "answers": [{**base, **answer}, {**base, "g": 0}]}]}


def test_pool_values_are_parsed_and_bad_entries_named():
    pool = pool_from_values(_values())
    assert pool.prompts[0]["answers"][0]["ids"] == [5, 6, 2]
    with pytest.raises(ConfigError, match="prompt 0 answer 0 is malformed"):
        pool_from_values(_values(ids="5 x"))
    with pytest.raises(ConfigError, match="both verdicts"):
        pool_from_values(_values(g=0))
