"""lm.checkpoints: a work folder that refuses another run's config and resumes cleanly."""

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
