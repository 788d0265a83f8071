"""srlm sweep iterative: the record's content on a tiny grid, and its config checks."""

import numpy as np
import pytest

from srlm_core import ConfigError
from srlm_core.experiments import SWEEPS, load_sweep

iterative = load_sweep("iterative")


def test_registered():
    assert "iterative" in SWEEPS


def test_tiny_sweep_values():
    config = iterative.Config(n_min=200, n_max=400, iters=3, seeds=4).validate()
    assert config.grid() == [200, 400]
    values = iterative.run(config)
    assert [row["n"] for row in values["per_n"]] == [200, 400]
    for row in values["per_n"]:
        assert len(row["dist_T"]) == len(row["kl_T"]) == len(row["covered_all_t"]) == 4
        assert row["bound_T"] >= row["population_dist_T"] > 0
    assert 0.0 <= values["coverage"] <= 1.0
    for fit in values["slopes"].values():
        assert fit["lo"] <= fit["slope"] <= fit["hi"]
    # the record is reproducible: the same config gives the same numbers
    again = iterative.run(config)
    assert np.allclose(again["per_n"][1]["dist_T"], values["per_n"][1]["dist_T"])


@pytest.mark.parametrize(
    "changes, field",
    [({"n_min": 0}, "n_min"), ({"n_max": 10}, "n_max"), ({"delta": 1.0}, "delta"),
     ({"alpha": 0.0}, "alpha"), ({"seeds": 0}, "seeds")],
)
def test_bad_config(changes, field):
    with pytest.raises(ConfigError) as err:
        iterative.Config(**changes).validate()
    assert err.value.field == field
