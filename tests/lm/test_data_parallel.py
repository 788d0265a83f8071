"""Data-parallel training on CPU: ``torchrun`` starts 2 processes (gloo backend) on the tiny
model and they reproduce the single-process run with the same global batch; a rank killed
mid-run makes the launch fail without a record, and the rerun resumes to the same result.

Tolerances: the ranks sum their float32 gradients with an all-reduce, whereas one process
accumulates them inside one autograd graph (and pads its batches to other widths), so results
agree to float32 rounding, not bit for bit.  Log-probabilities of whole answers (sums of about
20 token log-probabilities, magnitude up to ~100, float32 spacing ~1e-5 there) after several
Adam steps: ``atol = 1e-4``; weights of the DPO round (magnitude <= 1): ``atol = 1e-5``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
ENTRY = Path(__file__).with_name("ddp_entry.py")
H_ATOL, WEIGHT_ATOL = 1e-4, 1e-5
CONFIG = """\
name = "ddp-tiny"
model = "tiny-random"
train_prompts = 5
eval_prompts = 2
trainable_blocks = 1
learning_rate = 1e-2
epochs = 3
prompts_per_step = 2
sample_prompts = 2
samples_per_prompt = 2
max_new_tokens = 4
[[arms]]
name = "alpha-0.5"
alpha = 0.5
rounds = 2
[[arms]]
name = "moving"
alpha = 0.5
rounds = 2
reference = "moving"
"""


def _entry():
    spec = importlib.util.spec_from_file_location("ddp_entry", ENTRY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def launch(processes: int, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """``torchrun --standalone --nproc-per-node PROCESSES ddp_entry.py ARGS`` on this checkout."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **(env or {})}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc-per-node", str(processes), str(ENTRY), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300,
                          cwd=ROOT)


def alpha_args(folder: Path, tag: str) -> list[str]:
    return ["--config", str(folder / "alpha.toml"), "--workdir", str(folder / f"work-{tag}"),
            "--results-dir", str(folder / f"records-{tag}")]


def record_values(folder: Path, tag: str) -> dict:
    return json.loads((folder / f"records-{tag}" / "ddp-tiny.json").read_text())["values"]


@pytest.fixture(scope="module")
def alpha_runs(tmp_path_factory):
    """The controlled-alpha pilot in one plain process and over 2 processes."""
    from srlm_core.cli import main

    folder = tmp_path_factory.mktemp("ddp")
    (folder / "alpha.toml").write_text(CONFIG)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("srlm_core.lm.pool.load_pool", lambda name: _entry().tiny_pool())
        assert main(["lm", "alpha", *alpha_args(folder, "one")]) == 0
    two = launch(2, "alpha", *alpha_args(folder, "two"))
    assert two.returncode == 0, two.stdout[-3000:] + two.stderr[-3000:]
    return folder, two


def test_two_processes_train_as_one(alpha_runs):
    """Every round's log-probabilities and epoch losses of both arms (steps of 2 prompts, 1 per
    rank; the last step of each epoch has 1 prompt, so rank 1 contributes nothing) agree."""
    folder, two = alpha_runs
    one_values, two_values = record_values(folder, "one"), record_values(folder, "two")
    assert two_values["pool"] == one_values["pool"]
    for name, arm in one_values["arms"].items():
        other = two_values["arms"][name]
        h, h2 = np.array(arm["h"]), np.array(other["h"])
        assert h.shape == h2.shape == (3, 7 * 4) and np.abs(h[1:]).max() > 0.1  # it trained
        np.testing.assert_allclose(h2, h, rtol=0, atol=H_ATOL)
        np.testing.assert_allclose(other["epoch_loss"], arm["epoch_loss"], rtol=1e-5, atol=1e-6)
        assert other["sampled"]["prompt_ids"] == arm["sampled"]["prompt_ids"]
    assert two.stdout.count("wrote ") == 1 and two.stdout.count("work folder") == 1  # rank 0


@pytest.mark.slow
def test_a_killed_rank_fails_the_launch_and_the_rerun_resumes(alpha_runs):
    folder, _ = alpha_runs
    args = alpha_args(folder, "kill")
    killed = launch(2, "alpha", *args, env={"SRLM_TEST_KILL": "1:moving:2"})
    assert killed.returncode != 0
    assert "killed at moving round 2" in killed.stdout
    assert "exitcode" in killed.stderr and "rank      : 1" in killed.stderr  # torchrun's summary
    work = folder / "work-kill"
    finished = [work / "alpha-0.5" / "round_1.pt", work / "alpha-0.5" / "round_2.pt",
                work / "moving" / "round_1.pt"]
    assert all(p.exists() for p in finished)
    assert not (work / "moving" / "round_2.pt").exists()
    assert not list(work.rglob("*.tmp*")) and not (folder / "records-kill").exists()
    stamps = [p.stat().st_mtime_ns for p in finished]
    resumed = launch(2, "alpha", *args)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert [p.stat().st_mtime_ns for p in finished] == stamps  # not recomputed
    assert record_values(folder, "kill")["arms"] == record_values(folder, "two")["arms"]


@pytest.mark.slow
def test_the_trl_dpo_round_and_the_sharded_stages_match_one_process(tmp_path):
    """TRL's DPO round (12 pairs, global batch 4: 2 pairs per rank) gives the weights of one
    process; generation, both judges and log-likelihoods sharded over 2 ranks give exactly the
    numbers of a 1-process launch (per-prompt and per-batch seeds)."""
    runs = {}
    for n in (1, 2):
        done = launch(n, "dpo", str(tmp_path / f"dpo-{n}.pt"))
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        runs[n] = torch.load(tmp_path / f"dpo-{n}.pt", weights_only=False)
    one, two = runs[1], runs[2]
    assert one["log"]["steps"] == two["log"]["steps"] == 6
    for key, weight in one["state"].items():
        torch.testing.assert_close(two["state"][key], weight, rtol=0, atol=WEIGHT_ATOL)
    from srlm_core.lm.tiny import tiny_model, tiny_tokenizer

    initial = tiny_model(tiny_tokenizer(), seed=0).state_dict()
    moved = max(float((one["state"][k] - initial[k]).abs().max()) for k in initial)
    assert moved > 100 * WEIGHT_ATOL  # the round moved the weights well beyond the tolerance
    assert two["stages"]["texts"] == one["stages"]["texts"]
    assert two["stages"]["ids"] == one["stages"]["ids"]
    for stage in ("judge_logits", "judge_generate", "logprobs"):
        assert two["stages"][stage] == one["stages"][stage], stage


def test_a_world_size_that_does_not_divide_the_batch_is_refused(monkeypatch):
    from srlm_core import parallel
    from srlm_core.errors import ConfigError

    monkeypatch.setattr(parallel, "world_size", lambda: 3)
    with pytest.raises(ConfigError, match="batch_size: 4 is not divisible by the 3 processes"):
        parallel.require_divisible("batch_size", 4)
    assert parallel.require_divisible("batch_size", 6) == 2


def test_a_plain_process_is_not_launched(monkeypatch):
    from srlm_core import parallel

    monkeypatch.delenv("LOCAL_RANK", raising=False)
    assert parallel.state() is None and parallel.world_size() == 1 and parallel.is_main()
    assert parallel.map_blocks(lambda a, b: list(range(a, b)), 5, 2) == [0, 1, 2, 3, 4]
    parallel.barrier()
