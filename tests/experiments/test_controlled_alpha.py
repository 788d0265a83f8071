"""The controlled-alpha runner end to end on a tiny random model and a hand-made pool: values
in the documented shape, resume after an interrupted round, and config errors named."""

import json
import re

import pytest

from srlm_core.errors import ConfigError
from srlm_core.experiments import controlled_alpha as ca
from srlm_core.publishing.provenance import REPO_ROOT

ARMS = (ca.Arm("alpha-1", 1.0, 1), ca.Arm("alpha-0.5", 0.5, 2),
        ca.Arm("moving", 0.5, 2, reference="moving"),
        ca.Arm("bernoulli", 0.5, 1, labels="bernoulli"))
CONFIG = ca.Config(name="tiny-alpha", model="tiny-random", train_prompts=3, eval_prompts=2,
                   trainable_blocks=1, learning_rate=1e-2, epochs=3, prompts_per_step=2,
                   sample_prompts=1, samples_per_prompt=2, max_new_tokens=4, arms=ARMS)


def test_runner_values_and_resume(tmp_path, tiny_pool, monkeypatch):
    calls = []
    original = ca.ControlledAlphaRunner._round

    def round_then_die(self, arm, t, logp):
        calls.append((arm.name, t))
        out = original(self, arm, t, logp)
        if (arm.name, t) == ("alpha-0.5", 1) and len(calls) == 2:
            raise KeyboardInterrupt  # killed before the checkpoint of this round is written
        return out

    monkeypatch.setattr(ca.ControlledAlphaRunner, "_round", round_then_die)
    with pytest.raises(KeyboardInterrupt):
        ca.ControlledAlphaRunner(CONFIG, tmp_path, pool=tiny_pool, progress=False).run()
    assert (tmp_path / "alpha-1" / "round_1.pt").exists()
    assert not (tmp_path / "alpha-0.5" / "round_1.pt").exists()
    assert not list(tmp_path.rglob("*.tmp"))
    values = ca.ControlledAlphaRunner(CONFIG, tmp_path, pool=tiny_pool, progress=False).run()
    assert calls[2:] == [("alpha-0.5", 1), ("alpha-0.5", 2), ("moving", 1), ("moving", 2),
                         ("bernoulli", 1)]  # alpha-1 was not redone
    fresh = ca.ControlledAlphaRunner(CONFIG, tmp_path / "fresh", pool=tiny_pool, progress=False)
    assert values["arms"] == fresh.run()["arms"]  # same numbers, resumed or not
    arm = values["arms"]["alpha-0.5"]
    assert len(arm["h"]) == 3 and len(arm["h"][0]) == 5 * 4
    assert arm["h"][0] == [0.0] * 20 and arm["h"][1] != arm["h"][0]
    assert arm["sampled"]["prompt_ids"] == [3]
    assert values["pool"]["split"] == ["train"] * 3 + ["heldout"] * 2
    json.dumps(values)  # a record can hold it


def test_a_workdir_with_another_config_is_refused(tmp_path, tiny_pool):
    ca.ControlledAlphaRunner(CONFIG, tmp_path, pool=tiny_pool, progress=False)._check_workdir()
    other = ca.Config(**{**CONFIG.__dict__, "epochs": 5})
    with pytest.raises(ConfigError, match="another config"):
        ca.ControlledAlphaRunner(other, tmp_path, pool=tiny_pool, progress=False).run()


def test_a_corrupt_checkpoint_is_rejected(tmp_path, tiny_pool):
    config = ca.Config(**{**CONFIG.__dict__, "arms": (ca.Arm("alpha-1", 1.0, 1),),
                          "sample_prompts": 0})
    runner = ca.ControlledAlphaRunner(config, tmp_path, pool=tiny_pool, progress=False)
    runner._check_workdir()
    (tmp_path / "alpha-1").mkdir()
    (tmp_path / "alpha-1" / "round_1.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match="unreadable"):
        runner.run()


@pytest.mark.parametrize(("text", "key"), [
    ('train_prompts = 0', "train_prompts"),
    ('scale = -1.0', "scale"),
    ('[[arms]]\nname = "a"\nalpha = 1.5', "arms[0].alpha"),
    ('[[arms]]\nname = "a"\nreference = "sideways"', "arms[0].reference"),
    ('[[arms]]\nname = "a"\nlables = "soft"', "arms[0].lables"),
    ('learning_rate = "fast"', "learning_rate"),
])
def test_bad_config_values_name_the_key(tmp_path, text, key):
    path = tmp_path / "bad.toml"
    path.write_text(text + "\n")
    with pytest.raises(ConfigError, match=re.escape(f"key '{key}'")):
        ca.load(path)


def test_shipped_configs_are_valid():
    for path in sorted((REPO_ROOT / "data" / "lm" / "configs").glob("alpha*.toml")):
        assert isinstance(ca.load(path), ca.Config), path.name


def test_seed_replicates_differ_from_lm_alpha_in_seed_and_sampling_only():
    """The seed records repeat lm-alpha's design: only the seed, the name and the held-out
    sampling (none) differ."""
    configs = REPO_ROOT / "data" / "lm" / "configs"
    main = ca.load(configs / "alpha.toml").to_dict()
    for seed in (1, 2):
        replicate = ca.load(configs / f"alpha-seed{seed}.toml").to_dict()
        changed = {k for k in main if main[k] != replicate[k]}
        assert changed == {"name", "seed", "sample_prompts"}
        assert replicate["seed"] == seed


def test_cli_reports_a_bad_config_in_one_line(tmp_path, capsys):
    from srlm_core.cli import main

    path = tmp_path / "bad.toml"
    path.write_text("epochs = 0\n")
    assert main(["lm", "alpha", "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "key 'epochs'" in err


def test_the_work_folder_changes_with_the_code(tmp_path, monkeypatch):
    """A rerun after a code change must not resume checkpoints the old code wrote."""
    from srlm_core.publishing.pipeline import work_folder

    monkeypatch.setenv("SRLM_CACHE_DIR", str(tmp_path))
    fake_root = tmp_path / "repo"
    (fake_root / "srlm_core").mkdir(parents=True)
    (fake_root / "srlm_core" / "a.py").write_text("x = 1\n")
    monkeypatch.setattr("srlm_core.publishing.provenance.REPO_ROOT", fake_root)
    first = work_folder(CONFIG, CONFIG.name)
    assert first == work_folder(CONFIG, CONFIG.name)
    (fake_root / "srlm_core" / "a.py").write_text("x = 2\n")
    assert work_folder(CONFIG, CONFIG.name) != first


def _save_tiny(folder):
    from srlm_core.lm.tiny import tiny_model, tiny_tokenizer

    tokenizer = tiny_tokenizer()
    tiny_model(tokenizer, seed=0).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_the_pilot_runs_unchanged_on_a_brought_checkpoint_folder(tmp_path, tiny_pool):
    """Bring your own model: the tiny random model saved to a folder gives the numbers of the
    built-in tiny model, and a pool made by another model is re-tokenized from its texts."""
    import dataclasses

    folder = _save_tiny(tmp_path / "my-model")
    config = ca.Config(**{**CONFIG.__dict__, "arms": ARMS[:2], "sample_prompts": 1})
    brought = ca.Config(**{**config.__dict__, "model": str(folder)})
    built_in = ca.ControlledAlphaRunner(config, tmp_path / "a", pool=tiny_pool,
                                        progress=False).run()
    values = ca.ControlledAlphaRunner(brought, tmp_path / "b", pool=tiny_pool,
                                      progress=False).run()
    assert values["arms"] == built_in["arms"] and values["pool"] == built_in["pool"]
    foreign = dataclasses.replace(tiny_pool, model="smollm2-135m-instruct")
    runner = ca.ControlledAlphaRunner(brought, tmp_path / "c", pool=foreign, progress=False)
    assert runner.run()["arms"] == built_in["arms"]  # same tokenizer: the same ids again


@pytest.mark.slow
def test_the_cli_runs_the_pilot_on_a_brought_folder_and_records_its_identity(tmp_path):
    """``srlm lm alpha --model FOLDER`` on the stored lm-pool (SmolLM2's tokens, re-tokenized
    for the brought model): the record's provenance names the folder, its parameter count and
    the sha256 of its weights."""
    import hashlib

    from srlm_core.cli import main
    from srlm_core.publishing.results import load_record

    folder = _save_tiny(tmp_path / "my-model")
    config = tmp_path / "alpha-tiny.toml"
    config.write_text('name = "alpha-tiny"\ntrain_prompts = 2\neval_prompts = 1\nepochs = 1\n'
                      'learning_rate = 1e-2\n[[arms]]\nname = "alpha-0.5"\nalpha = 0.5\n'
                      'rounds = 1\n')
    assert main(["lm", "alpha", "--config", str(config), "--model", str(folder),
                 "--workdir", str(tmp_path / "work"), "--results-dir", str(tmp_path)]) == 0
    record = load_record("alpha-tiny", tmp_path)
    identity = record.provenance["model"]
    assert identity["source"] == str(folder.resolve()) and identity["parameters"] > 0
    assert identity["weights_sha256"]["model.safetensors"] == hashlib.sha256(
        (folder / "model.safetensors").read_bytes()).hexdigest()
    assert record.params["model"] == str(folder) and "--model" in record.command
    assert len(record.values["arms"]["alpha-0.5"]["h"]) == 2
