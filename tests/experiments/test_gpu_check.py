"""The prepared GPU check in its dry mode (CPU, tiny model, tiny sizes) runs every stage end
to end here, so the script the GPU machine runs cannot rot; a failing stage is recorded and
the others still run; wrong options are one line; the shell wrapper forwards its arguments."""

import json
import os
import subprocess
import sys

import pytest

from srlm_core.experiments import gpu_check
from srlm_core.lm.model_loading import TINY
from srlm_core.publishing.provenance import REPO_ROOT


def _dry(tmp_path, **overrides) -> gpu_check.Config:
    return gpu_check.Config(out=str(tmp_path / "check.json"), device="cpu", tiny=True,
                            model=TINY, **overrides)


def test_the_dry_mode_runs_every_stage_and_writes_one_json(tmp_path):
    report = gpu_check.run(_dry(tmp_path))
    stored = json.loads((tmp_path / "check.json").read_text())
    assert stored["ok"] and report["ok"]
    assert set(stored["stages"]) == set(gpu_check.STAGES)
    assert all(stage["ok"] for stage in stored["stages"].values())
    assert set(stored["timings"]) == set(gpu_check.STAGES)
    assert stored["peak_gpu_memory_bytes"] == {}  # no GPU here
    assert stored["stages"]["environment"]["packages"]["torch"]
    from srlm_core.publishing.bookcache import fingerprint

    environment = stored["stages"]["environment"]
    assert environment["source_fingerprint"] == fingerprint()
    assert set(environment["git"]) == {"git_commit", "git_dirty"}
    assert "skipped" in stored["stages"]["pytest_gpu"]["summary"]  # no CUDA: gpu tests skip
    agreement = stored["stages"]["agreement"]
    assert agreement["all_within_tolerance"] and agreement["device"] == "cpu"
    for name in ("logp0", "h1", "E_t", "soft_dpo_epoch_loss", "dpo_loss_fixed_pairs",
                 "judge_scores_fp32", "judge_scores_bf16_vs_cpu_fp32"):
        assert agreement["compared"][name]["max_abs_diff"] == 0.0  # CPU against CPU
    assert agreement["cpu"]["E_t"][0] == pytest.approx(1.0)  # c g centred, c = 2: E_0 = 1
    assert agreement["cpu"]["dpo_loss_fixed_pairs"] > 0
    pilot = stored["stages"]["alpha_pilot"]
    assert set(pilot["E_t"]) == {"alpha-1", "alpha-0.5"} and len(pilot["E_t"]["alpha-0.5"]) == 3
    loop = stored["stages"]["loop_round"]
    assert list(loop["rows"]) == ["fixed"] and loop["rows"]["fixed"][0]["iteration"] == 1
    assert loop["dtype"] == "torch.float32"


def test_a_failing_stage_is_recorded_and_the_next_still_runs(tmp_path, monkeypatch):
    def boom(self):
        raise RuntimeError("out of memory, pretend")

    monkeypatch.setattr(gpu_check.Check, "_alpha_pilot", boom)
    monkeypatch.setattr(gpu_check.Check, "_loop_round", lambda self: {"fine": True})
    config = _dry(tmp_path, stages=("environment", "alpha_pilot", "loop_round"))
    assert gpu_check.main(["--out", config.out, "--device", "cpu", "--tiny", "true",
                           "--model", TINY, "--stages", ",".join(config.stages)]) == 1
    stored = json.loads((tmp_path / "check.json").read_text())
    assert stored["stages"]["alpha_pilot"]["error"] == "RuntimeError: out of memory, pretend"
    assert stored["stages"]["alpha_pilot"]["traceback"]
    assert stored["stages"]["loop_round"] == {**stored["stages"]["loop_round"], "ok": True,
                                              "fine": True}
    assert stored["ok"] is False


def test_a_spent_time_budget_skips_the_remaining_stages(tmp_path, monkeypatch):
    monkeypatch.setattr(gpu_check.Check, "_environment", lambda self: {})
    monkeypatch.setattr(gpu_check, "_now", iter(range(0, 10 ** 6, 1000)).__next__)
    report = gpu_check.run(_dry(tmp_path, stages=("environment", "loop_round"),
                                budget_seconds=1500))
    assert report["stages"]["environment"]["ok"]
    assert "time budget" in report["stages"]["loop_round"]["skipped"]


def test_a_machine_without_a_usable_gpu_still_gets_the_environment(tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    config = gpu_check.Config(out=str(tmp_path / "check.json"), device="cuda", model=TINY)
    assert gpu_check.main(["--out", config.out, "--model", TINY]) == 1
    stored = json.loads((tmp_path / "check.json").read_text())
    assert stored["stages"]["environment"]["ok"] and stored["ok"] is False
    assert "no GPU" in stored["error"]
    assert "no GPU" in stored["stages"]["loop_round"]["skipped"]


@pytest.mark.parametrize(("argv", "start"), [
    (["--model", "/no/such/model"], "gpu-check: error: --model: "),
    (["--stages", "environment,warp"], "gpu-check: error: --stages: "),
    (["--loop-config", "nowhere.toml"], "gpu-check: error: --loop-config: no such file"),
])
def test_wrong_options_are_one_line(tmp_path, capsys, argv, start):
    assert gpu_check.main(["--out", str(tmp_path / "x.json"), "--device", "cpu", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(start) and "\n" not in err
    assert not (tmp_path / "x.json").exists()


def test_the_dry_mode_runs_on_a_brought_checkpoint_folder(tmp_path):
    from srlm_core.lm.tiny import tiny_model, tiny_tokenizer

    folder = tmp_path / "my-model"
    tokenizer = tiny_tokenizer()
    tiny_model(tokenizer, seed=0).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    on_folder = gpu_check.run(gpu_check.Config(
        out=str(tmp_path / "folder.json"), device="cpu", tiny=True, model=str(folder),
        stages=("alpha_pilot",)))
    built_in = gpu_check.run(_dry(tmp_path, stages=("alpha_pilot",)))
    assert on_folder["ok"]
    assert on_folder["stages"]["alpha_pilot"]["E_t"] == built_in["stages"]["alpha_pilot"]["E_t"]


def test_the_shell_wrapper_forwards_its_arguments(tmp_path):
    """scripts/gpu-check.sh with no carried wheels: the repository on PYTHONPATH, a writable
    cache, and the module's exit status."""
    out = tmp_path / "env.json"
    env = {**os.environ, "PYTHON": sys.executable, "SRLM_WHEELS": str(tmp_path / "none"),
           "SRLM_SITE": str(tmp_path / "site")}
    env.pop("SRLM_CACHE_DIR", None)
    done = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "gpu-check.sh"), "--out", str(out), "--device",
         "cpu", "--tiny", "true", "--model", TINY, "--stages", "environment"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    stored = json.loads(out.read_text())
    assert stored["stages"]["environment"]["cache_dir"] == "/tmp/srlm-cache"


def test_tables_of_the_stored_gpu_record():
    """The H200 record the Reproducibility appendix shows: one row per stage, every stage
    passed, and every GPU/CPU comparison within its tolerance."""
    record = json.loads((REPO_ROOT / "data" / "gpu" / "gpu-check-h200.json").read_text())
    stages = gpu_check.stage_table(record)
    assert list(stages["stage"]) == list(gpu_check.STAGES)
    assert stages["ok"].all() and record["ok"]
    assert stages.set_index("stage").loc["loop_round", "peak GiB"] == pytest.approx(
        record["peak_gpu_memory_bytes"]["loop_round"] / 2**30)
    agreement = gpu_check.agreement_table(record)
    assert agreement["agrees"].all()
    assert set(agreement["quantity"]) >= {"E_t", "dpo_loss_fixed_pairs", "judge_scores_fp32"}
