"""The old command shapes are aliases of ``srlm run``: the command stored in every record of
the registry still parses, through its alias, into the record's own parameters and ID
(nothing is run; ``srlm results verify`` re-runs them)."""

import json
import shlex

import pytest

from srlm_core import experiments
from srlm_core.cli.aliases import as_run
from srlm_core.cli.run import config_from, parser_for
from srlm_core.publishing import pipeline
from srlm_core.publishing.results import load_all

#: Records whose config has changed since they were written (a re-run needs a new record):
#: lm-large predates the precision option (it stores autocast_bf16).
STALE = {"lm-large"}
RECORDS = [r for r in load_all() if shlex.split(r.command)[1] != "results"]


def test_the_old_shapes_map_to_srlm_run():
    assert as_run(["sweep", "iterative", "--n-max", "500"]) == ("iterative", ["--n-max", "500"])
    assert as_run(["bench", "--d", "4"]) == ("engine-bench", ["--d", "4"])
    assert as_run(["lm", "pool", "--seed", "1"]) == ("lm-pool", ["--seed", "1"])
    assert as_run(["lm", "likelihood"]) == ("likelihood-self-reward", ["--id", "lm-likelihood"])
    assert as_run(["lm", "likelihood", "--id", "x"]) == ("likelihood-self-reward", ["--id", "x"])


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.id)
def test_a_stored_command_still_parses_into_its_record(record):
    name, argv = as_run(shlex.split(record.command)[1:])
    module = experiments.load(name)
    options = parser_for(name, module).parse_args(argv)
    config = config_from(module, options).validate()
    assert (options.id or pipeline.default_id(module, config)) == record.id
    params = json.loads(json.dumps(pipeline.parameters(config)))
    assert (params == record.params) != (record.id in STALE)
