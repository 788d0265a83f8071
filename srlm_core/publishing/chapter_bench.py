"""Benchmark: the language-model chapters, each executed alone, against their time budget, on
this CPU as it is or with torch held to AVX2 (no AVX-512, no native bf16: the CPU of most
laptops and many cloud machines).

``srlm results chapter-bench [--isa avx2] [--budget-seconds S]`` executes each chapter of
:data:`LM_CHAPTERS` with :func:`srlm_core.publishing.chapter.execute` (a fresh kernel with
every core), prints its wall seconds against the budget and writes the
record ``chapter-bench-<isa>``: the workload (chapters, budget, instruction set) in its values,
the seconds and the verdicts in its provenance's ``timings`` (a re-run measures anew, so
``srlm results verify --fast`` leaves it out).  Held to AVX2, the kernel runs with
``ATEN_CPU_CAPABILITY=avx2`` (torch's own kernels), ``ONEDNN_MAX_CPU_ISA=AVX2`` (oneDNN) and
``MKL_ENABLE_INSTRUCTIONS=AVX2`` (MKL's matrix products, which float32 ``matmul`` uses), so
none of them uses AVX-512, AVX512-BF16 or AMX instructions.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from unittest.mock import patch

from srlm_core.errors import ConfigError, require, require_one_of, require_positive
from srlm_core.options import option

TITLE = "Seconds to execute each language-model chapter alone, against its budget"
#: The chapters that run or read a language model.
LM_CHAPTERS = ("06_language_model", "07_controlled_signal_share", "08_judge_failures",
               "paper_real_model")
#: Environment that holds torch's kernels and oneDNN to AVX2.
ISA_ENVIRONMENT = {"native": {}, "avx2": {"ATEN_CPU_CAPABILITY": "avx2",
                                          "ONEDNN_MAX_CPU_ISA": "AVX2",
                                          "MKL_ENABLE_INSTRUCTIONS": "AVX2"}}
TOLERANCE = {"rtol": 0.0, "atol": 0.0}


@dataclass(frozen=True)
class Config:
    """What the chapter benchmark executes and the budget it holds each chapter to."""

    chapters: tuple = option(LM_CHAPTERS,
                             "chapters under book/chapters, executed one after another")
    budget_seconds: float = option(180.0, "the most seconds one chapter may take, executed alone")
    isa: str = option("avx2", "native: the CPU as it is; avx2: torch held to AVX2 instructions")

    def validate(self) -> Config:
        from srlm_core.publishing.chapter import resolve

        require_positive(self, "budget_seconds")
        require_one_of(self, "isa", tuple(ISA_ENVIRONMENT))
        require(self, ("chapters", bool(self.chapters), "name at least one chapter"))
        for name in self.chapters:
            try:
                resolve(name)
            except Exception as err:
                raise ConfigError("chapters", f"no chapter {name!r}") from err
        return self


def run(config: Config, output: Path | None = None) -> dict:
    """Execute every chapter alone; the values: the workload (the config's fields) and
    ``timings`` (seconds per chapter, whether it kept to the budget, the slowest)."""
    from srlm_core.publishing import chapter

    config.validate()
    output = Path(output or tempfile.mkdtemp(prefix="srlm-chapter-bench-"))
    seconds = {}
    with patch.dict(os.environ, ISA_ENVIRONMENT[config.isa]):  # the kernels inherit it
        for name in config.chapters:
            start = time.perf_counter()
            chapter.execute(name, output=output, timeout=int(10 * config.budget_seconds))
            seconds[name] = time.perf_counter() - start
    within = {name: s <= config.budget_seconds for name, s in seconds.items()}
    return {**asdict(config), "chapters": list(config.chapters),
            "timings": {"seconds": seconds, "within_budget": within,
                        "all_within_budget": all(within.values()),
                        "slowest": max(seconds, key=seconds.get)}}


def table(timings: dict, budget: float) -> str:
    """One line per chapter: seconds, budget, within or over."""
    lines = [f"{'chapter':32s} {'seconds':>8s} {'budget':>7s}"]
    for name, s in timings["seconds"].items():
        word = "within" if timings["within_budget"][name] else "OVER"
        lines.append(f"{name:32s} {s:8.1f} {budget:7.0f}  {word}")
    return "\n".join(lines)


def budget_table(records: list):
    """Seconds per chapter from chapter-bench records (one column per instruction set) and
    the budget, for the reproducibility page."""
    import pandas as pd

    columns = {f"seconds ({r.values['isa']})": r.provenance["timings"]["seconds"]
               for r in records}
    frame = pd.DataFrame(columns)
    frame["budget (s)"] = [max(r.values["budget_seconds"] for r in records)] * len(frame)
    frame.index.name = "chapter"
    return frame


def add_arguments(parser) -> None:
    """One option per :class:`Config` field but the chapters, its help the field's."""
    for spec in fields(Config):
        if spec.name != "chapters":
            parser.add_argument(f"--{spec.name.replace('_', '-')}", type=type(spec.default),
                                default=spec.default, help=spec.metadata["help"])
    parser.add_argument("--results-dir", type=Path, default=None,
                        help="where to write the record (default data/results)")
    parser.add_argument("--no-record", action="store_true", help="print only, write nothing")


def run_and_record(args) -> int:
    """``srlm results chapter-bench``: run, print the table, write ``chapter-bench-<isa>``;
    exit 1 when a chapter went over its budget."""
    from srlm_core.publishing import pipeline

    config = Config(budget_seconds=args.budget_seconds, isa=args.isa).validate()
    values = {**asdict(config), "chapters": list(config.chapters)}
    record = pipeline.record(
        lambda: run(config), result_id=f"chapter-bench-{config.isa}",
        title=f"{TITLE} ({config.isa})",
        command=(f"srlm results chapter-bench --budget-seconds {config.budget_seconds:g} "
                 f"--isa {config.isa}"),
        params=values, tolerance=TOLERANCE, code=["srlm_core/publishing/chapter_bench.py"],
        results_dir=args.results_dir, write=not args.no_record)
    timings = record.provenance["timings"]
    print(table(timings, config.budget_seconds))
    return 0 if timings["all_within_budget"] else 1
