import json

import pytest

from srlm_core.cli import main


def test_json_output_shape(capsys):
    assert main(["simulate", "--alpha", "0.5", "--n", "500", "--iters", "2", "--seeds", "3",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["params"]["alpha"] == 0.5
    assert [row["t"] for row in out["iterations"]] == [0, 1, 2]
    row = out["iterations"][1]
    for key in ("dist_mean", "dist_lo", "dist_hi", "kl_mean", "kappa_mean", "consistency_mean"):
        assert key in row
    assert row["dist_lo"] <= row["dist_mean"] <= row["dist_hi"]


def test_table_output(capsys):
    assert main(["simulate", "--n", "200", "--iters", "1", "--seeds", "2"]) == 0
    assert "dist_mean" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, option",
    [(["--alpha", "1.5"], "--alpha"), (["--alpha", "0"], "--alpha"), (["--n", "-3"], "--n"),
     (["--lam", "-1"], "--lam"), (["--init-dist", "-1"], "--init-dist"),
     (["--seeds", "0"], "--seeds")],
)
def test_invalid_values_exit_with_one_line(argv, option, capsys):
    assert main(["simulate", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and option in err[0] and "Traceback" not in err[0]


@pytest.mark.parametrize("argv", [["--n", "abc"], ["--reference", "sideways"], ["--bogus", "1"]])
def test_malformed_options_are_rejected_by_argparse(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["simulate", *argv])
    assert exit_info.value.code == 2
    assert "Traceback" not in capsys.readouterr().err
