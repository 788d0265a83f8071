"""The result record format: atomic writes, validated loads, leaf-by-leaf comparison."""

import json

import pytest

from srlm_core.publishing import provenance
from srlm_core.publishing.provenance import REPO_ROOT
from srlm_core.publishing.results import (
    ResultError,
    ResultRecord,
    code_paths,
    compare_values,
    is_benchmark,
    is_fast,
    list_records,
    load_all,
    load_record,
    resolve_code_path,
    write_record,
)


def make_record(result_id="demo", wall=1.5, **values):
    return ResultRecord(
        id=result_id,
        title="a demo result",
        command=f"srlm sweep demo --seed 0 --id {result_id}",
        params={"seed": 0, "n": 10},
        values=values or {"slope": -0.5, "curve": [1.0, 0.5, 0.25], "nested": {"k": 2}},
        provenance=provenance.collect("cpu", wall_time_s=wall),
    )


def test_roundtrip_is_atomic_and_exact(tmp_path):
    record = make_record()
    path = write_record(record, tmp_path)
    assert path == tmp_path / "demo.json"
    assert [p.name for p in tmp_path.iterdir()] == ["demo.json"]  # no temporary file left
    loaded = load_record("demo", tmp_path)
    assert loaded == record
    assert load_record(path) == record
    assert list_records(tmp_path) == ["demo"] and load_all(tmp_path) == [record]


def test_provenance_fields_are_recorded(tmp_path):
    prov = load_record(write_record(make_record(), tmp_path)).provenance
    for name in ("srlm_core_version", "git_commit", "git_dirty", "packages", "hardware"):
        assert name in prov
    assert prov["wall_time_s"] == 1.5 and prov["hardware"]["cpu"]


def test_truncated_record_is_rejected_naming_file(tmp_path):
    path = write_record(make_record(), tmp_path)
    path.write_text(path.read_text()[:200])
    with pytest.raises(ResultError) as err:
        load_record("demo", tmp_path)
    assert err.value.path == path and err.value.field == "(file)"
    assert str(path) in str(err.value) and "truncated" in str(err.value)


def test_hand_edited_value_is_rejected_naming_the_value(tmp_path):
    path = write_record(make_record(), tmp_path)
    data = json.loads(path.read_text())
    data["values"]["slope"] = -0.4
    path.write_text(json.dumps(data))
    with pytest.raises(ResultError) as err:
        load_record("demo", tmp_path)
    assert err.value.field == "values.slope"
    assert "edited or corrupted" in str(err.value)


def test_hand_edited_command_is_named(tmp_path):
    path = write_record(make_record(), tmp_path)
    data = json.loads(path.read_text())
    data["command"] = "srlm sweep demo --seed 1"
    path.write_text(json.dumps(data))
    with pytest.raises(ResultError, match="field 'command'"):
        load_record("demo", tmp_path)


def test_record_without_digests_still_loads(tmp_path):
    path = write_record(make_record(), tmp_path)
    data = json.loads(path.read_text())
    del data["digests"]
    path.write_text(json.dumps(data))
    assert load_record("demo", tmp_path).values["slope"] == -0.5


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.pop("values"), "values"),
        (lambda d: d.update(schema="srlm-result/0"), "schema"),
        (lambda d: d.update(extra=1), "extra"),
        (lambda d: d["provenance"].pop("git_commit"), "provenance.git_commit"),
        (lambda d: d.update(params=[1]), "params"),
    ],
)
def test_malformed_records_name_the_field(tmp_path, mutate, field):
    path = write_record(make_record(), tmp_path)
    data = json.loads(path.read_text())
    mutate(data)
    path.write_text(json.dumps(data))
    with pytest.raises(ResultError) as err:
        load_record(path)
    assert err.value.field == field


def test_renamed_record_is_rejected(tmp_path):
    path = write_record(make_record(), tmp_path)
    path.rename(tmp_path / "other.json")
    with pytest.raises(ResultError, match="does not match the file name"):
        load_record("other", tmp_path)


def test_missing_record(tmp_path):
    with pytest.raises(ResultError, match="no such result record"):
        load_record("absent", tmp_path)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": "Bad ID"}, "id"),
        ({"command": "python run.py"}, "command"),
        ({"tolerance": {"rtol": -1, "atol": 0}}, "tolerance.rtol"),
        ({"values": {"x": object()}}, "values"),
    ],
)
def test_write_rejects_bad_records(tmp_path, change, field):
    record = make_record()
    for key, value in change.items():
        setattr(record, key, value)
    with pytest.raises(ResultError) as err:
        write_record(record, tmp_path)
    assert err.value.field == field
    assert not list(tmp_path.iterdir())


def test_compare_values_within_tolerance():
    recorded = {"a": 1.0, "b": [1.0, 2.0], "c": {"d": "x"}, "e": float("nan")}
    same = {"a": 1.0 + 1e-9, "b": [1.0, 2.0], "c": {"d": "x"}, "e": float("nan")}
    assert compare_values(recorded, same, rtol=1e-6, atol=0.0) == []
    diffs = compare_values(recorded, {**same, "a": 1.1, "b": [1.0]}, rtol=1e-6, atol=0.0)
    assert [d.path for d in diffs] == ["values.a", "values.b (length)"]
    assert diffs[0].abs_diff == pytest.approx(0.1) and diffs[0].rel_diff == pytest.approx(0.1)
    assert [d.path for d in compare_values({"a": 1}, {"b": 1}, 0, 0)] == ["values.a", "values.b"]
    assert compare_values({"s": "x"}, {"s": "y"}, 1.0, 1.0)[0].path == "values.s"
    assert compare_values({"t": True}, {"t": 1}, 0, 0) == []


def test_is_fast_and_code_paths():
    assert is_fast(make_record(wall=1.0)) and not is_fast(make_record(wall=600.0))
    assert not is_fast(make_record(wall=None))
    bench = make_record(wall=1.0)
    bench.provenance["timings"] = {"epoch_seconds": 0.5}
    bench.tolerance = {"rtol": 0.0, "atol": 0.0}
    assert is_benchmark(bench) and not is_fast(bench) and not is_benchmark(make_record())
    bench.tolerance = {"rtol": 1e-4, "atol": 1e-4}  # timings beside values of its own
    assert not is_benchmark(bench) and is_fast(bench)
    record = make_record()
    assert code_paths(record) == []  # no srlm_core/experiments/demo.py
    record.code = ["srlm_core/model/policy.py#L10"]
    assert code_paths(record) == ["srlm_core/model/policy.py#L10"]


def test_short_commit_names_the_version_and_a_dirty_tree():
    record = make_record()
    record.provenance.update(git_commit="0123456789abcdef", git_dirty=False)
    assert record.short_commit == "0123456789"
    record.provenance.update(git_dirty=True)
    assert record.short_commit == "0123456789+dirty"
    record.provenance.update(git_commit=None, git_dirty=None)
    assert record.short_commit == "?"


def test_a_failed_atomic_write_keeps_the_old_file_and_no_temporary(tmp_path):
    from srlm_core.publishing.results import write_atomic, write_json_atomic

    path = tmp_path / "state.json"
    write_json_atomic(path, {"round": 1})

    def crash(tmp):
        tmp.write_text('{"round": ')
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(path, crash)
    assert json.loads(path.read_text()) == {"round": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


@pytest.mark.parametrize("record", load_all(), ids=lambda record: record.id)
def test_the_code_a_registry_record_names_is_in_the_repository(record):
    """The book links each record to its code: a module moved to another folder after the
    record was written is found by its file name (:func:`resolve_code_path`), but a file gone
    from the package would leave a dead link (the strict build fails on it), so the record must
    be written again."""
    for named in record.code:
        path = resolve_code_path(named)  # FileNotFoundError naming a path that is gone
        assert (REPO_ROOT / path.split("#")[0]).is_file(), f"{record.id}: {named} is gone"
    for path in code_paths(record):
        assert (REPO_ROOT / path.split("#")[0]).is_file(), f"{record.id}: {path} is gone"


def test_a_record_names_the_code_of_a_module_moved_after_it_was_written():
    """The records of the paper's loop on SmolLM2 name the module where it sat when they were
    written; the book links to the file that holds it now, anchors kept."""
    moved = load_record("lm-likelihood").code[0]  # where the module sat when it was written
    now = "srlm_core/experiments/sharpening/likelihood_self_reward.py"
    assert not (REPO_ROOT / moved).exists() and (REPO_ROOT / now).is_file()
    assert resolve_code_path(moved) == now
    assert resolve_code_path(moved + "#L12") == now + "#L12"
    assert resolve_code_path("srlm_core/lm/top_blocks.py") == "srlm_core/lm/top_blocks.py"
    record = make_record()
    record.code = [moved, "srlm_core/lm/top_blocks.py"]
    assert code_paths(record) == [now, "srlm_core/lm/top_blocks.py"]
    assert record.code[0] == moved  # the record itself is not rewritten
    record.command = "srlm run sharpening-budget"
    record.code = []
    assert code_paths(record) == ["srlm_core/experiments/sharpening/sharpening_budget.py"]
    with pytest.raises(FileNotFoundError, match="srlm_core/experiments/gone_module.py"):
        resolve_code_path("srlm_core/experiments/gone_module.py")
    with pytest.raises(FileNotFoundError, match="files of the package have its name"):
        resolve_code_path("srlm_core/nowhere/__init__.py")
