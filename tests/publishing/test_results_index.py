"""The Reproducibility appendix's index of results
(:mod:`srlm_core.publishing.results_index`): registry and live records, each a table row."""

from srlm_core.publishing import report
from srlm_core.publishing.results_index import live_records, results_index_markdown
from tests.publishing.test_report import fresh_state, registry_record  # noqa: F401


def test_results_index_lists_registry_and_live_records(tmp_path, monkeypatch):
    record = registry_record(tmp_path)
    table = results_index_markdown([record], {record.id: tmp_path / "registry"})
    lines = table.splitlines()
    assert lines[0].startswith("| Result | What | Values | Regenerate |") and len(lines) == 3
    assert "`sweep-demo` ({download}`record <registry/sweep-demo.json>`)" in lines[2]
    assert "`slope` = -0.5" in lines[2] and "`srlm sweep demo --seeds 4`" in lines[2]

    live_dir = tmp_path / "live"
    monkeypatch.setenv(report.LIVE_DIR_ENV, str(live_dir))
    monkeypatch.setenv(report.NOTEBOOK_ENV, str(tmp_path / "chapter.md"))
    report.live("ch9.demo", "a live number")
    assert live_records() == []  # its chapter file does not exist
    (tmp_path / "chapter.md").write_text("")
    assert [r.id for r in live_records()] == ["ch9.demo"]

