import json

import pytest
from scipy import stats

from srlm_core.cli import main
from srlm_core.model.self_rewarding import simulate


def test_json_output_shape(capsys):
    assert main(["simulate", "--alpha", "0.5", "--n", "500", "--iters", "2", "--seeds", "3",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["params"]["alpha"] == 0.5
    assert [row["t"] for row in out["iterations"]] == [0, 1, 2]
    row = out["iterations"][1]
    for key in ("dist_mean", "dist_lo", "dist_hi", "kl_mean", "kappa_mean", "consistency_mean"):
        assert key in row
    # the row is the library's run: the mean over seeds of ||theta_1 - theta*|| and its t
    # interval, whose ends are where a one-sample t-test of the seeds has p = 0.05
    dist = simulate(alpha=0.5, n=500, iters=2, seeds=3).metrics().query("t == 1")["dist"]
    assert row["dist_mean"] == pytest.approx(dist.mean(), rel=1e-12)
    for end in (row["dist_lo"], row["dist_hi"]):
        assert stats.ttest_1samp(dist, end).pvalue == pytest.approx(0.05, rel=1e-9)


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


def test_engine_option_runs_the_count_engine(capsys):
    assert main(["simulate", "--n", "5000", "--iters", "1", "--seeds", "2", "--engine", "counts",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["params"]["engine"] == "counts"


@pytest.mark.parametrize(
    "argv, option, words",
    [(["--n", "100000000", "--engine", "samples", "--seeds", "64"], "--n", "memory"),
     (["--d", "1000000000"], "--d", "memory"),
     (["--contexts", "100000000", "--K", "64"], "--contexts", "memory"),
     (["--n", "5"], "--lam", "--lam 1e-3"),
     (["--n", "5", "--engine", "counts"], "--lam", "maximum-likelihood"),
     (["--beta", "inf"], "--beta", "positive"), (["--beta", "1e9"], "--beta", "finite"),
     (["--signal", "nan"], "--signal", ""), (["--init-dist", "inf"], "--init-dist", "finite"),
     (["--lam", "inf"], "--lam", "finite"), (["--n", "100000000000000000"], "--n", "2**53")],
)
def test_unrunnable_sizes_and_scales_exit_with_one_line(argv, option, words, capsys):
    assert main(["simulate", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"srlm simulate: error: {option}: ")
    assert words in err[0] and "Traceback" not in err[0]
