"""``srlm results list | show | verify | execute``: the registry from the command line."""

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

from srlm_core.cli import main
from srlm_core.errors import ConfigError
from srlm_core.publishing import provenance
from srlm_core.publishing.results import ResultRecord, load_record, write_record

CHAPTER = textwrap.dedent(
    """\
    ---
    jupytext:
      text_representation:
        extension: .md
        format_name: myst
    kernelspec:
      display_name: Python 3
      language: python
      name: python3
    ---
    # A tiny chapter

    ```{code-cell} ipython3
    import numpy as np
    from srlm_core.publishing import report
    from srlm_core.publishing.report import glue
    from srlm_core.stats import mean_interval

    rng = np.random.default_rng(3)
    with report.live("t.demo", "a seeded draw", code=[mean_interval], params={"seed": 3}):
        glue("draw", float(rng.normal()))
        glue("curve", rng.normal(size=3))
    ```
    """
)


def record(result_id="demo", wall=2.0):
    return ResultRecord(
        id=result_id,
        title="a demo result",
        command=f"srlm sweep demo --id {result_id}",
        params={"seed": 0},
        values={"slope": -0.5},
        provenance=provenance.collect("cpu", wall_time_s=wall),
    )


def test_list_and_show(tmp_path, capsys):
    write_record(record("fast-one"), tmp_path)
    write_record(record("slow-one", wall=900.0), tmp_path)
    assert main(["results", "list", "--results-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "fast-one" in out and "fast" in out and "slow-one" in out and "slow" in out
    assert main(["results", "show", "fast-one", "--results-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "command:     srlm sweep demo --id fast-one" in out and "slope = -0.5" in out
    assert main(["results", "show", "fast-one", "--json", "--results-dir", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out)["values"] == {"slope": -0.5}
    assert main(["results", "show", "fast-one", "--bibtex", "--results-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("@misc{srlm-fast-one-")


def test_corrupt_record_fails_show_and_list_with_one_line(tmp_path, capsys):
    path = write_record(record(), tmp_path)
    path.write_text(path.read_text().replace("-0.5", "-0.4"))
    assert main(["results", "show", "demo", "--results-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert str(path) in err and "field 'values.slope'" in err
    assert main(["results", "list", "--results-dir", str(tmp_path)]) == 2
    assert "INVALID" in capsys.readouterr().out


def test_verify_needs_ids_or_all(capsys):
    assert main(["results", "verify"]) == 2
    assert capsys.readouterr().err.strip() == (
        "srlm results: error: --all: give result IDs or --all (not both)"
    )


def test_verify_reports_a_command_that_fails(tmp_path, capsys):
    write_record(record(), tmp_path)  # `srlm sweep demo` does not exist
    assert main(["results", "verify", "demo", "--results-dir", str(tmp_path)]) == 1
    assert "FAIL  demo: the command exited with status 2" in capsys.readouterr().out


def test_verify_fast_skips_slow_records(tmp_path, capsys):
    write_record(record("slow-one", wall=900.0), tmp_path)
    assert main(["results", "verify", "--all", "--fast", "--results-dir", str(tmp_path)]) == 0
    assert "skipped" in capsys.readouterr().out


def test_verify_prints_the_difference_of_a_perturbed_value(tmp_path, capsys, monkeypatch):
    from srlm_core.cli import results_command

    path = write_record(record(), tmp_path)
    honest = load_record(path)

    def faithful_run(command, workdir, workers=1):  # what a faithful re-run writes
        write_record(honest, workdir)

    monkeypatch.setattr(results_command, "run_command", faithful_run)
    assert main(["results", "verify", "demo", "--results-dir", str(tmp_path)]) == 0
    assert "PASS  demo" in capsys.readouterr().out
    perturbed = record()
    perturbed.values["slope"] = -0.5 * (1 + 1e-4)
    write_record(perturbed, tmp_path)
    assert main(["results", "verify", "--all", "--results-dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  demo: 1 value(s) differ (rtol 1e-06, atol 1e-09)" in out
    assert "values.slope: recorded -0.50005, re-run -0.5  |diff| 5e-05  rel 0.0001" in out


def test_verify_runs_commands_in_parallel_and_reports_in_order(tmp_path, capsys,
                                                               monkeypatch):
    """Two records with different commands re-run on two workers: each is checked against
    its own re-run, and a wrong one fails; --jobs 0 is a one-line error."""
    from srlm_core.cli import results_command

    honest = {r.command: load_record(write_record(r, tmp_path))
              for r in (record(), record("other"))}

    def faithful_run(command, workdir, workers=1):
        rerun = honest[command]
        if rerun.id == "other":
            rerun.values["slope"] = 1.0  # a re-run that differs
        write_record(rerun, workdir)

    monkeypatch.setattr(results_command, "run_command", faithful_run)
    assert main(["results", "verify", "--all", "--jobs", "2", "--results-dir",
                 str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert out.index("PASS  demo") < out.index("FAIL  other")
    assert main(["results", "verify", "--all", "--jobs", "0", "--results-dir",
                 str(tmp_path)]) == 2
    assert "--jobs: must be at least 1" in capsys.readouterr().err


#: A second record from the same chapter: ``verify`` re-executes the chapter once for both.
SECOND_RECORD = textwrap.dedent(
    """
    ```{code-cell} ipython3
    with report.live("t.other", "a second seeded draw", params={"seed": 4}):
        glue("other", float(np.random.default_rng(4).normal()))
    ```
    """
)


@pytest.mark.slow
def test_execute_then_verify_catches_a_perturbed_value(tmp_path, capsys, monkeypatch):
    """One re-execution checks both records of the chapter: the unchanged one reproduces, the
    one with a deliberately perturbed value (re-written with a valid checksum) is caught."""
    chapter = tmp_path / "chapter.md"
    chapter.write_text(CHAPTER + SECOND_RECORD)
    registry = tmp_path / "results"
    # Where the re-run of `verify` writes the executed notebook and its page.
    monkeypatch.setenv("SRLM_EXECUTED_DIR", str(tmp_path / "verify-executed"))
    assert main(["results", "execute", str(chapter), "--results-dir", str(registry),
                 "--output-dir", str(tmp_path / "executed")]) == 0
    written = load_record("t.demo", registry)
    assert written.command == f"srlm results execute {chapter}"
    assert set(written.values) == {"draw", "curve"} and len(written.values["curve"]) == 3
    assert written.code[0].startswith("srlm_core/stats.py#L")
    perturbed = load_record("t.other", registry)
    assert perturbed.command == written.command
    perturbed.values["other"] += 1e-3
    write_record(perturbed, registry)
    capsys.readouterr()

    assert main(["results", "verify", "--all", "--fast", "--results-dir", str(registry)]) == 1
    out = capsys.readouterr().out
    assert "PASS  t.demo" in out
    assert "FAIL  t.other: 1 value(s) differ" in out and "values.other" in out
    assert "|diff| 0.001" in out


@pytest.mark.slow
def test_execute_writes_the_notebook_and_an_offline_page(tmp_path, capsys, monkeypatch):
    """A reader's run: no --results-dir (the live results go to a new temporary folder, not
    to the registry), the executed notebook and its page in --output-dir."""
    import nbformat

    from srlm_core.publishing.offline import remote_references
    from srlm_core.publishing.results import RESULTS_DIR

    monkeypatch.delenv("SRLM_LIVE_RESULTS_DIR", raising=False)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))  # the temporary folder lands here
    chapter = tmp_path / "tiny.md"
    chapter.write_text(CHAPTER + "\nThe draw is $x \\sim \\mathcal N(0, 1)$.\n")
    out = tmp_path / "executed"
    before = sorted(RESULTS_DIR.glob("*.json"))
    assert main(["results", "execute", str(chapter), "--output-dir", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"notebook:     {out / 'tiny.ipynb'}" in printed
    assert f"page:         {out / 'tiny.html'}" in printed

    notebook = nbformat.read(out / "tiny.ipynb", as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code[0].execution_count == 1 and all(c.execution_count for c in code)

    page = (out / "tiny.html").read_text()
    assert "A tiny chapter" in page and "\\mathcal N(0, 1)" in page
    assert remote_references(page) == [] and 'src="_static/mathjax/tex-chtml.js"' in page
    assert (out / "_static" / "mathjax" / "tex-chtml.js").is_file()

    live = [line.split(":", 1)[1].strip() for line in printed.splitlines()
            if line.strip().startswith("live results:")]
    assert len(live) == 1 and Path(live[0]).parent == tmp_path
    assert load_record("t.demo", Path(live[0])).values["draw"] == pytest.approx(
        float(np.random.default_rng(3).normal())
    )
    assert sorted(RESULTS_DIR.glob("*.json")) == before  # the registry is not touched


@pytest.mark.slow
def test_a_failing_chapter_still_writes_its_page(tmp_path, capsys):
    chapter = tmp_path / "broken.md"
    chapter.write_text(CHAPTER.replace("rng = np.random", "1 / 0\nrng = np.random"))
    out = tmp_path / "executed"
    assert main(["results", "execute", str(chapter), "--output-dir", str(out),
                 "--results-dir", str(tmp_path / "live")]) == 2
    err = capsys.readouterr().err
    assert "a cell failed: ZeroDivisionError" in err and str(out / "broken.html") in err
    assert "ZeroDivisionError" in (out / "broken.html").read_text()


def test_execute_finds_a_chapter_by_name(tmp_path, monkeypatch):
    from srlm_core.publishing import chapter

    (tmp_path / "01_operator.md").write_text(CHAPTER)
    (tmp_path / "02_single_step.md").write_text(CHAPTER)
    monkeypatch.setattr(chapter, "CHAPTERS_DIR", tmp_path)
    assert chapter.resolve("01_operator") == tmp_path / "01_operator.md"
    assert chapter.resolve("02") == tmp_path / "02_single_step.md"
    assert chapter.resolve(tmp_path / "01_operator.md") == tmp_path / "01_operator.md"
    with pytest.raises(ConfigError, match="0 is not a chapter"):
        chapter.resolve("0")  # two chapters match


def test_execute_rejects_a_missing_chapter(tmp_path, capsys):
    missing = tmp_path / "absent.md"
    assert main(["results", "execute", str(missing), "--results-dir", str(tmp_path)]) == 2
    assert "--notebook:" in capsys.readouterr().err


@pytest.mark.parametrize("action", ["list", "show", "verify", "execute"])
def test_help(action, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["results", action, "--help"])
    assert exit_.value.code == 0
