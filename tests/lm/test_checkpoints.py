"""lm.checkpoints: a work folder that refuses another run's config and resumes cleanly."""

import shutil
from pathlib import Path

import pytest

from srlm_core.errors import ConfigError
from srlm_core.lm.checkpoints import CheckpointStore


class _Policy:
    def __init__(self, fail=False):
        self.fail = fail

    def save_pretrained(self, folder):
        (folder / "model.safetensors").write_text("weights")
        if self.fail:
            raise KeyboardInterrupt


def test_claim_refuses_a_folder_of_another_config(tmp_path):
    store = CheckpointStore(tmp_path / "run")
    store.claim({"lr": 1e-5})
    store.claim({"lr": 1e-5})  # the same config resumes
    with pytest.raises(ConfigError, match="workdir: .* holds a run with another config"):
        store.claim({"lr": 2e-5})


def test_an_interrupted_save_leaves_no_finished_iteration(tmp_path):
    store = CheckpointStore(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        store.save("fixed", 1, _Policy(fail=True), {"pass_rate": 0.5})
    assert not store.done("fixed", 1)
    store.save("fixed", 1, _Policy(), {"pass_rate": 0.5})
    assert store.done("fixed", 1) and store.metrics("fixed", 1) == {"pass_rate": 0.5}
    store.copy("fixed", 1, "moving")
    assert store.metrics("moving", 1) == {"pass_rate": 0.5}
    assert sorted(p.name for p in (tmp_path / "fixed").iterdir()) == ["iter_1"]


def test_the_baseline_is_computed_once(tmp_path):
    store = CheckpointStore(tmp_path)
    calls = []
    assert store.baseline(lambda: calls.append(1) or {"m": 1}) == {"m": 1}
    assert store.baseline(lambda: calls.append(1) or {"m": 2}) == {"m": 1}
    assert calls == [1]


def test_a_leftover_temporary_folder_of_a_killed_run_is_cleared(tmp_path):
    """A run killed inside the checkpoint write (weights written, metrics not, no rename)
    leaves ``iter_1.tmp<its pid>``; the next process (another pid) writes the iteration and
    removes the leftover, which would otherwise keep half a gigabyte of weights per kill."""
    store = CheckpointStore(tmp_path)
    leftover = store.iteration_dir("fixed", 1).with_name("iter_1.tmp999999")
    leftover.mkdir(parents=True)
    (leftover / "model.safetensors").write_text("half a model")
    assert not store.done("fixed", 1)
    store.save("fixed", 1, _Policy(), {"pass_rate": 0.5})
    assert store.metrics("fixed", 1) == {"pass_rate": 0.5}
    assert sorted(p.name for p in (tmp_path / "fixed").iterdir()) == ["iter_1"]


def test_a_copy_cut_short_is_not_a_finished_iteration(tmp_path, monkeypatch):
    """Killed while copying an iteration to another arm after metrics.json was copied but
    before the weights: the copy must not count as done (a rerun would load missing weights);
    the next copy completes it."""
    from srlm_core.lm import checkpoints

    store = CheckpointStore(tmp_path)
    store.save("fixed", 1, _Policy(), {"pass_rate": 0.5})
    real_copytree = shutil.copytree

    def killed_copytree(src, dst, **kwargs):
        def copy_all_but_weights(s, d):
            if Path(s).name != "model.safetensors":
                shutil.copy2(s, d)

        real_copytree(src, dst, copy_function=copy_all_but_weights)
        raise KeyboardInterrupt  # killed while the weights were still being copied

    monkeypatch.setattr(checkpoints.shutil, "copytree", killed_copytree)
    with pytest.raises(KeyboardInterrupt):
        store.copy("fixed", 1, "moving")
    assert not store.done("moving", 1)
    monkeypatch.setattr(checkpoints.shutil, "copytree", real_copytree)
    store.copy("fixed", 1, "moving")
    assert store.done("moving", 1)
    assert (store.iteration_dir("moving", 1) / "model.safetensors").read_text() == "weights"
    assert sorted(p.name for p in (tmp_path / "moving").iterdir()) == ["iter_1"]
