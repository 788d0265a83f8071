"""The engine benchmark: its workload, its timings' shape, the table and ``srlm bench``."""

import json

import pytest
import torch

from srlm_core import ConfigError
from srlm_core.cli import main
from srlm_core.experiments import engine_bench
from srlm_core.publishing.results import load_record

TINY = dict(ns=(1000, 10000), d=4, K=4, contexts=8, seeds=2, iters=1, samples_max_n=1000,
            batch_small=(500, 4, 4, 8, 4), batch_large=(600, 4, 4, 8, 2), repeats=1)
TINY_ARGS = ["--ns", "1000,10000", "--d", "4", "--K", "4", "--contexts", "8", "--seeds", "2",
             "--iters", "1", "--samples-max-n", "1000", "--batch-small", "500,4,4,8,4",
             "--batch-large", "600,4,4,8,2", "--repeats", "1"]


def test_run_times_every_comparison_and_keeps_the_workload_apart():
    config = engine_bench.Config(**TINY)
    values = engine_bench.run(config)
    timings = values.pop("timings")
    assert values == engine_bench.workload(config)  # the values are the workload only
    assert [row["n"] for row in values["engines"]] == [1000, 10000]
    assert [row["samples_timed"] for row in values["engines"]] == [True, False]
    assert [row["auto_engine"] for row in values["engines"]] == ["counts", "counts"]
    first, second = timings["engines"]
    assert first["speedup"] == pytest.approx(first["samples_s"] / first["counts_s"])
    assert second["samples_s"] is None and "not run" in second["samples_mode"]
    assert [row["case"] for row in timings["batching"]] == ["small", "large"]
    assert all(row["speedup"] > 0 for row in timings["batching"])
    assert timings["round_largest_over_1e4"] == 1.0
    assert timings["torch_threads"] == torch.get_num_threads()


def test_table_puts_the_comparisons_side_by_side_and_checks_the_targets():
    values = engine_bench.workload(engine_bench.Config(**TINY))
    timings = {
        "engines": [{"n": 10**4, "counts_s": 0.6, "counts_s_per_round": 0.1, "samples_s": 6.0,
                     "samples_mode": "batched", "speedup": 10.0},
                    {"n": 10**6, "counts_s": 0.6, "counts_s_per_round": 0.3, "samples_s": 6.0,
                     "samples_mode": "per-seed loop", "speedup": 10.0}],
        "batching": [{"case": "small", "batched_s": 1.0, "loop_s": 6.0, "speedup": 6.0},
                     {"case": "large", "batched_s": 1.0, "loop_s": 0.9, "speedup": 0.9}],
    }
    frame = engine_bench.table(values, timings)
    met = dict(zip(frame["comparison"] + " " + frame["size"].str.split(",").str[0],
                   frame["met"], strict=True))
    assert met["counts vs per-sample (old/new) n=1e6"] == "no"  # 10 < 20
    assert met["counts vs per-sample (old/new) n=1e4"] == ""  # no target there
    assert met["batched vs per-seed loop (old/new) n=500"] == "yes"
    assert met["batched vs per-seed loop (old/new) n=600"] == "no"
    assert met["seconds per round, counts (new/at 1e4) n=1e6"] == "no"  # 3x the time at 1e4
    assert list(frame["target"][frame["met"] != ""]) == [">= 20", ">= 5", ">= 1", "<= 2"]


def test_invalid_sizes_name_the_field():
    with pytest.raises(ConfigError) as err:
        engine_bench.Config(batch_small=(1, 2, 3)).validate()
    assert err.value.field == "batch_small"
    with pytest.raises(ConfigError) as err:
        engine_bench.Config(ns=(0,)).validate()
    assert err.value.field == "ns"


def test_srlm_bench_writes_the_record_with_timings_in_the_provenance(tmp_path, capsys):
    assert main(["bench", *TINY_ARGS, "--results-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "counts vs per-sample" in out and "batched vs per-seed loop" in out
    record = load_record(tmp_path / "engine-bench.json")
    assert record.command.startswith("srlm run engine-bench --ns 1000,10000 ")
    assert "--id" not in record.command
    assert "timings" not in record.values and "engines" in record.provenance["timings"]
    assert record.tolerance == {"rtol": 0.0, "atol": 0.0}
    assert record.values == json.loads(json.dumps(engine_bench.workload(
        engine_bench.Config(**TINY))))


def test_srlm_bench_no_record_prints_only(tmp_path, capsys):
    assert main(["bench", *TINY_ARGS, "--results-dir", str(tmp_path), "--no-record"]) == 0
    assert "ratio" in capsys.readouterr().out and not list(tmp_path.iterdir())
