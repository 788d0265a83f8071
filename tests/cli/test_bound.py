import json

import pytest

from srlm_core.cli import main
from srlm_core.model.bounds import iterative_bound
from srlm_core.model.self_rewarding import SimulationConfig

OPTIONS = ["--alpha", "0.5", "--n", "500", "--iters", "3", "--seeds", "2"]


def test_json_has_the_shape_of_simulate(capsys):
    assert main(["bound", *OPTIONS, "--json"]) == 0
    bound = json.loads(capsys.readouterr().out)
    assert main(["simulate", *OPTIONS, "--json"]) == 0
    measured = json.loads(capsys.readouterr().out)
    assert set(bound) == set(measured) == {"params", "iterations"}
    assert bound["params"] == {**measured["params"], "delta": 0.05}
    assert [r["t"] for r in bound["iterations"]] == [r["t"] for r in measured["iterations"]]
    # the command evaluates the library's bound for exactly these options and --delta
    config = SimulationConfig(alpha=0.5, n=500, iters=3, seeds=2)
    assert bound == json.loads(json.dumps(iterative_bound(config).to_dict()))
    assert main(["bound", *OPTIONS, "--delta", "0.3", "--json"]) == 0
    loose = json.loads(capsys.readouterr().out)
    assert loose == json.loads(json.dumps(iterative_bound(config, delta=0.3).to_dict()))
    assert loose["iterations"][1]["bound"] < bound["iterations"][1]["bound"]
    # the bound and the measurement can be compared row by row
    for b, m in zip(bound["iterations"], measured["iterations"], strict=True):
        assert m["dist_mean"] <= b["bound"]


def test_table_output(capsys):
    assert main(["bound", "--iters", "2", "--delta", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "bound" in out and "predicted_rms" in out


@pytest.mark.parametrize(
    "argv, option",
    [(["--delta", "0"], "--delta"), (["--delta", "1.5"], "--delta"), (["--alpha", "2"], "--alpha"),
     (["--reference", "moving"], "--reference"), (["--iters", "-1"], "--iters")],
)
def test_invalid_values_exit_with_one_line(argv, option, capsys):
    assert main(["bound", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and option in err[0] and "Traceback" not in err[0]
