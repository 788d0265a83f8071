"""The chapter benchmark: its options come from the Config's fields, bad values are one-line
errors, the instruction-set environment reaches the kernel and is restored, and the record
keeps the seconds in its provenance (a benchmark, which verify --fast leaves out)."""

import argparse
import os
import textwrap

import pytest

from srlm_core.errors import ConfigError
from srlm_core.publishing import chapter_bench
from srlm_core.publishing.results import is_benchmark, is_fast, load_record

ENV_CHAPTER = textwrap.dedent(
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
    # Which instructions

    ```{code-cell} ipython3
    import os
    from pathlib import Path

    Path("isa.txt").write_text(os.environ.get("ATEN_CPU_CAPABILITY", "native"))
    ```
    """
)


def test_bad_values_name_their_field():
    with pytest.raises(ConfigError, match="isa"):
        chapter_bench.Config(isa="avx512").validate()
    with pytest.raises(ConfigError, match="budget_seconds"):
        chapter_bench.Config(budget_seconds=0).validate()
    with pytest.raises(ConfigError, match="chapters: no chapter 'nope'"):
        chapter_bench.Config(chapters=("nope",)).validate()
    assert chapter_bench.Config().validate().chapters == chapter_bench.LM_CHAPTERS


def test_every_option_has_its_fields_help():
    parser = argparse.ArgumentParser()
    chapter_bench.add_arguments(parser)
    helps = {a.dest: a.help for a in parser._actions}
    for spec in chapter_bench.Config.__dataclass_fields__.values():
        if spec.name != "chapters":
            assert helps[spec.name] == spec.metadata["help"]


def test_the_kernel_runs_held_to_avx2_and_the_environment_is_restored(tmp_path, monkeypatch):
    page = tmp_path / "isa.md"
    page.write_text(ENV_CHAPTER)
    monkeypatch.delenv("ATEN_CPU_CAPABILITY", raising=False)
    out = chapter_bench.run(chapter_bench.Config(chapters=(str(page),), budget_seconds=600,
                                                 isa="avx2"), output=tmp_path / "out")
    assert (tmp_path / "isa.txt").read_text() == "avx2"
    assert "ATEN_CPU_CAPABILITY" not in os.environ
    timings = out["timings"]
    assert timings["within_budget"] == {str(page): True} and timings["all_within_budget"]
    assert out["isa"] == "avx2" and out["budget_seconds"] == 600
    over = {**timings, "within_budget": {str(page): False}}
    assert "OVER" in chapter_bench.table(over, 600)


def test_the_record_is_a_benchmark(tmp_path, monkeypatch):
    seconds = {"06_language_model": 5.0}
    monkeypatch.setattr(chapter_bench, "run", lambda config: {
        "chapters": list(config.chapters), "budget_seconds": config.budget_seconds,
        "isa": config.isa,
        "timings": {"seconds": seconds, "within_budget": {"06_language_model": True},
                    "all_within_budget": True, "slowest": "06_language_model"}})
    args = argparse.Namespace(budget_seconds=180.0, isa="native", results_dir=tmp_path,
                              no_record=False)
    assert chapter_bench.run_and_record(args) == 0
    record = load_record("chapter-bench-native", tmp_path)
    assert record.provenance["timings"]["seconds"] == seconds
    assert is_benchmark(record) and not is_fast(record)
    assert record.command == "srlm results chapter-bench --budget-seconds 180 --isa native"


def test_budget_table_puts_each_instruction_set_in_a_column(tmp_path):
    from srlm_core.publishing import provenance
    from srlm_core.publishing.results import ResultRecord

    def bench(isa, seconds):
        return ResultRecord(id=f"chapter-bench-{isa}", title="t", command="c", params={},
                            values={"isa": isa, "budget_seconds": 180.0, "chapters": ["a"]},
                            provenance={**provenance.collect("cpu", wall_time_s=1.0),
                                        "timings": {"seconds": {"a": seconds}}})

    frame = chapter_bench.budget_table([bench("native", 10.0), bench("avx2", 12.0)])
    assert frame.loc["a"].tolist() == [10.0, 12.0, 180.0]
    assert list(frame.columns) == ["seconds (native)", "seconds (avx2)", "budget (s)"]
