"""Chapter-side provenance: glued values carry their result ID, command and code link."""

import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from srlm_core.publishing import provenance, report  # noqa: E402
from srlm_core.publishing.results import ResultError, ResultRecord, load_record, write_record  # noqa: E402
from srlm_core.stats import fit_slope  # noqa: E402


@pytest.fixture(autouse=True)
def fresh_state(monkeypatch, tmp_path):
    report.reset()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(report.LIVE_DIR_ENV, raising=False)
    monkeypatch.delenv(report.NOTEBOOK_ENV, raising=False)
    yield
    report.reset()


def registry_record(tmp_path):
    record = ResultRecord(
        id="sweep-demo",
        title="a sweep",
        command="srlm sweep demo --seeds 4",
        params={"seeds": 4},
        values={"slope": -0.5},
        provenance=provenance.collect("cpu", wall_time_s=3.0),
        code=["srlm_core/stats.py"],
    )
    write_record(record, tmp_path / "registry")
    return record


def test_use_tags_glued_values_and_builds_a_note(tmp_path, capsys):
    registry_record(tmp_path)
    with report.use("sweep-demo", tmp_path / "registry") as record:
        report.glue("slope", record.values["slope"])
        note = report.source_note()
    assert record.record.values == record.values
    assert note.startswith("Result `sweep-demo` ({download}`record <registry/sweep-demo.json>`)")
    assert "regenerate: `srlm sweep demo --seeds 4`" in note
    assert "code: {download}`srlm_core/stats.py <" in note
    summary = report.summary_markdown()
    assert summary.startswith(":::{dropdown}") and "| `slope` | -0.5 | `sweep-demo` |" in summary


def test_corrupt_record_fails_loudly(tmp_path):
    registry_record(tmp_path)
    path = tmp_path / "registry" / "sweep-demo.json"
    path.write_text(path.read_text()[:-40])
    with pytest.raises(ResultError, match="sweep-demo.json: field '\\(file\\)'"):
        report.use("sweep-demo", tmp_path / "registry")


def test_live_results_are_recorded_during_a_build(tmp_path, monkeypatch):
    live_dir = tmp_path / "live"
    chapter = tmp_path / "chapter.md"
    monkeypatch.setenv(report.LIVE_DIR_ENV, str(live_dir))
    monkeypatch.setenv(report.NOTEBOOK_ENV, str(chapter))
    with report.live("ch9.demo", "a live number", code=[fit_slope], params={"seed": 1}):
        report.glue("x", np.float64(0.25))
        report.glue("v", np.arange(3))
        fig, ax = plt.subplots()
        report.glue_figure("fig-demo", fig)
    record = load_record("ch9.demo", live_dir)
    assert record.values == {"x": 0.25, "v": [0, 1, 2]}  # the figure is not a value
    assert record.command == f"srlm results execute {chapter}"
    assert record.code[0].startswith("srlm_core/stats.py#L")
    assert record.provenance["notebook"] == str(chapter)
    assert not plt.get_fignums()  # glue_figure closed the figure

    # Declaring an existing ID again resumes it; the innermost `with` receives the values.
    with report.live("ch9.second", "another"):
        report.glue("y", 2)
        with report.live("ch9.demo"):
            report.glue("z", 3)
    assert load_record("ch9.demo", live_dir).values == {"x": 0.25, "v": [0, 1, 2], "z": 3}
    assert load_record("ch9.second", live_dir).values == {"y": 2}

    # A re-execution of the same chapter starts from a clean slate.
    report.reset()
    report.live("ch9.other", "another live number")
    assert sorted(p.name for p in live_dir.iterdir()) == ["ch9.other.json"]


def test_nothing_is_written_outside_a_build(tmp_path):
    source = report.live("ch9.demo", "a live number")
    source.glue("x", 1.0)
    assert not list(tmp_path.iterdir())
    assert "srlm results execute <this chapter>" in report.source_note(source)


def test_glue_needs_a_source_and_the_stack_unwinds(tmp_path):
    with pytest.raises(ResultError, match="glue inside `with report.live"):
        report.glue("x", 1.0)
    with report.live("ch9.a", "a") as a:
        with report.live("ch9.b", "b"):
            pass
        report.glue("x", 1.0)
    assert a.values == {"x": 1.0}
    with pytest.raises(ResultError, match="glue inside"):
        report.glue("y", 1.0)


def test_a_glued_table_has_the_same_html_every_run(tmp_path):
    import pandas as pd

    def table():
        return pd.DataFrame({"a": [1.0, 2.0]}).style.format(precision=1)

    assert table().to_html() != table().to_html()  # pandas draws a random id for each table
    with report.live("ch9.t", "a table"):
        first, second = table(), table()
        report.glue("tab_demo", first)
        report.glue("tab_demo", second)
    assert first.to_html() == second.to_html() and 'id="T_tab_demo' in first.to_html()


def test_intervals_and_mappings_are_glued_under_derived_names(tmp_path):
    source = report.live("ch9.ci", "an interval")
    source.glue_interval("slope", np.float64(-0.7), -0.8, -0.6)
    source.glue_many({"verdict": "holds", "n": 3})
    assert source.values == {"slope": -0.7, "slope_lo": -0.8, "slope_hi": -0.6,
                             "verdict": "holds", "n": 3}


def test_captions_link_package_objects_to_their_api_entries(tmp_path):
    from srlm_core.experiments import iterative

    assert report.api_reference(fit_slope) == "srlm_core.stats.fit_slope"
    assert report.api_reference(iterative) == "srlm_core.experiments.iterative"
    assert report.api_reference(np.mean) is None
    source = report.experiment("ch9.exp", iterative, iterative.Config(seeds=2))
    assert source.title.startswith("S4 experiment") and source.params["seeds"] == 2
    note = report.source_note(source, code=[iterative])
    assert ("code: {py:obj}`srlm_core.experiments.iterative.run`, "
            "{py:obj}`srlm_core.experiments.iterative`") in note


def test_unknown_source_and_sympy_values(tmp_path):
    import sympy

    with pytest.raises(ResultError, match="needs a title"):
        report.live("ch9.untitled")
    with pytest.raises(ResultError, match="not loaded in this chapter"):
        report.glue("x", 1.0, source="nope")
    assert report._jsonable(sympy.Rational(1, 4)) == 0.25
    assert report._jsonable(sympy.Symbol("a") + 1) == sympy.srepr(sympy.Symbol("a") + 1)
    assert json.dumps(report._jsonable(np.array([[1.0, 2.0]]))) == "[[1.0, 2.0]]"
    with pytest.raises(TypeError, match="no Python source"):
        report.code_location(len)


CHAPTERS = sorted((Path(report.REPO_ROOT) / "book" / "chapters").glob("*.md"))


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_every_chapter_names_the_result_of_each_figure_and_number(chapter):
    """Figures carry a caption note; numbers are glued through report (so the chapter's
    summary lists them with their result ID); registry records are loaded with report.use."""
    text = chapter.read_text()
    for match in re.finditer(r"```\{glue:figure\} (\S+)\n(.*?)```", text, re.S):
        name, caption = match.groups()
        assert f"{{glue:md}}`{name}-source:myst`" in caption, f"figure {name}: no source note"
    assert "from myst_nb import glue" not in text, "glue through srlm_core.publishing.report"
    assert "load_record(" not in text, "load registry records with report.use"
    assert "```{figure}" not in text
    if "{glue:" in text:  # a chapter that glues numbers lists them with their result IDs
        assert "glue_summary(" in text
