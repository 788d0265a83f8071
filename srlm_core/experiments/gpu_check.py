"""The prepared GPU check: one command on a CUDA machine that tells, in one JSON
file, whether the language-model code runs there, how fast, in how much GPU memory, and
whether the GPU computes the same numbers as the CPU.

Stages (each guarded: a stage that fails records its error and the check goes on):

* ``environment``: Python, torch, CUDA, the GPU, the packages and where the SmolLM2 GGUF is;
* ``pytest_gpu``: ``pytest -m gpu tests/lm/test_gpu.py`` in a subprocess (its summary line);
* ``agreement``: a small computation done twice on the same machine and seed, on the CPU
  (float32) and on the device: log pi_0 of pool answers, one round of the controlled-alpha
  soft-label DPO (its epoch losses, h_1 and the observable E_t of chapter 7), the sigmoid DPO
  loss on fixed (passing, failing) answer pairs at h_1, and the logits judge's scores of fixed
  responses (float32, and bfloat16 as the chapter-6 loop runs on a GPU); the largest absolute
  and relative differences per quantity;
* ``alpha_pilot``: the controlled-alpha pilot (``data/lm/configs/alpha-small.toml``) on the
  device, with E_t per arm;
* ``loop_round``: one round of the chapter-6 loop at the GPU preset
  (``data/lm/configs/gpu.toml``, bf16 on a GPU), arm ``fixed``.

Per stage: wall seconds and peak GPU memory (``torch.cuda.max_memory_allocated``, reset before
the stage).  The JSON is rewritten after every stage, so a run killed half-way still leaves
what it measured.  The *dry mode* (``--device cpu --tiny true --model tiny-random``) runs the
same code on the CPU at toy sizes with the tiny random model and a tiny pool in seconds; a
test runs it, so the check cannot rot.  ``scripts/gpu-check.sh`` is the wrapper for the GPU
machine (it installs the carried wheels and sets the paths)::

    python -m srlm_core.experiments.gpu_check --out gpu-check.json    # on the GPU
    python -m srlm_core.experiments.gpu_check --out dry.json --device cpu --tiny true \
        --model tiny-random
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from srlm_core.errors import ConfigError, require, require_at_least, require_one_of
from srlm_core.options import option

STAGES = ("environment", "pytest_gpu", "agreement", "alpha_pilot", "loop_round")
DEVICES = ("cuda", "cpu", "auto")
PACKAGES = ("torch", "transformers", "trl", "datasets", "accelerate", "huggingface_hub",
            "tokenizers", "safetensors", "gguf", "numpy", "pyarrow", "pytest")
#: Agreement tolerances (absolute) that a float32 GPU run is expected to meet against the CPU;
#: bf16 quantities get the looser one.  Reported next to the differences, not enforced.
TOLERANCE_FP32 = 1e-3
TOLERANCE_BF16 = 0.1


@dataclass(frozen=True)
class Config:
    """What the check runs, where, and at which sizes."""

    out: str = option("gpu-check.json", "path of the JSON report, rewritten after every stage")
    device: str = option("cuda", "cuda, cpu (the dry mode) or auto")
    model: str = option("smollm2-135m-instruct",
                        "smollm2-135m-instruct, tiny-random or a checkpoint folder")
    tiny: bool = option(False,
                        "toy sizes: the tiny pool and the smoke config (the dry mode, with "
                        "tiny-random)")
    stages: tuple = option(STAGES, "stages run (always in the order of STAGES)")
    alpha_config: str = option("data/lm/configs/alpha-small.toml",
                               "controlled-alpha config of the pilot")
    loop_config: str = option("data/lm/configs/gpu.toml",
                              "chapter-6 loop config of the loop round (the GPU preset)")
    loop_iterations: int = option(1, "rounds of the loop stage")
    loop_arms: tuple = option(("fixed",), "arms of the loop stage")
    agreement_prompts: int = option(2, "training prompts of the agreement computation")
    judge_responses: int = option(8, "fixed responses the logits judge scores in the agreement")
    pytest_timeout: int = option(240, "seconds the GPU tests may take")
    budget_seconds: int = option(450, "seconds after which the remaining stages are skipped")
    seed: int = option(0, "seed of every stage")

    def validate(self) -> Config:
        from srlm_core.experiments.language_model_runner import ARMS
        from srlm_core.lm.model_loading import require_model

        require_one_of(self, "device", DEVICES)
        require_model(self)
        require_at_least(self, 1, "loop_iterations", "agreement_prompts", "judge_responses",
                         "pytest_timeout", "budget_seconds")
        require_at_least(self, 0, "seed")
        require(self,
                ("out", bool(self.out), "give the path of the JSON to write"),
                ("stages", bool(self.stages) and set(self.stages) <= set(STAGES),
                 f"must be names from {', '.join(STAGES)}"),
                ("loop_arms", bool(self.loop_arms) and set(self.loop_arms) <= set(ARMS),
                 f"must be names from {', '.join(ARMS)}"))
        for name in ("alpha_config", "loop_config"):
            if not _repo_path(getattr(self, name)).is_file():
                raise ConfigError(name, f"no such file: {getattr(self, name)}")
        return self


def _repo_path(path: str) -> Path:
    from srlm_core.publishing.provenance import REPO_ROOT

    out = Path(path)
    return out if out.is_absolute() else REPO_ROOT / out


def _clean(value):
    """JSON-safe: NaN and infinities become None, tuples lists, tensors lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "tolist"):
        return _clean(value.tolist())
    return value


def _now() -> float:
    """Wall clock of the stage timings and the time budget."""
    return time.perf_counter()


def _cuda():
    import torch

    return torch.cuda if torch.cuda.is_available() else None


class Check:
    """Runs the stages of ``config`` and keeps the report."""

    def __init__(self, config: Config):
        from srlm_core.device import resolve_device

        self.config = config.validate()
        self.report = {"config": _clean(dataclasses.asdict(config)), "stages": {},
                       "timings": {}, "peak_gpu_memory_bytes": {}}
        try:
            self.device = resolve_device(config.device)
        except ConfigError as err:  # no usable GPU: the environment stage still says why
            self.device = None
            self.report["error"] = str(err)
        self.report["device"] = str(self.device)
        self.start = _now()
        self._pool = None

    # -- plumbing -------------------------------------------------------------------------
    def write(self) -> None:
        from srlm_core.publishing.results import write_json_atomic

        self.report["total_seconds"] = _now() - self.start
        path = Path(self.config.out)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, _clean(self.report))

    def stage(self, name: str, fn) -> None:
        """Run one stage: its result, seconds and peak GPU memory, or its error, go into the
        report, which is then written."""
        entry: dict = {}
        elapsed = _now() - self.start
        if elapsed > self.config.budget_seconds:
            entry = {"ok": False, "skipped": f"time budget of {self.config.budget_seconds} s "
                                             f"spent ({elapsed:.0f} s)"}
        else:
            cuda = _cuda()
            if cuda is not None:
                cuda.reset_peak_memory_stats()
            began = _now()
            try:
                entry = {"ok": True, **fn()}
            except Exception as err:  # every failure is information: record it, go on
                entry = {"ok": False, "error": f"{type(err).__name__}: {err}".strip(),
                         "traceback": traceback.format_exc().splitlines()[-12:]}
            entry["seconds"] = _now() - began
            self.report["timings"][name] = entry["seconds"]
            if cuda is not None:
                entry["peak_gpu_memory_bytes"] = cuda.max_memory_allocated()
                self.report["peak_gpu_memory_bytes"][name] = entry["peak_gpu_memory_bytes"]
        self.report["stages"][name] = entry
        self.write()
        status = "ok" if entry.get("ok") else entry.get("error") or entry.get("skipped")
        print(f"gpu-check: {name}: {status} ({entry.get('seconds', 0.0):.1f} s)", flush=True)

    def run(self) -> dict:
        for name in STAGES:
            if self.device is None and name != "environment":
                self.report["stages"][name] = {"ok": False, "skipped": self.report["error"]}
            elif name in self.config.stages:
                self.stage(name, getattr(self, f"_{name}"))
        self.report["ok"] = self.device is not None and all(
            s.get("ok") for s in self.report["stages"].values())
        self.write()
        return self.report

    def pool(self):
        """The response pool: ``lm-pool`` (SmolLM2's tokens; re-tokenized for a brought
        model), or in the tiny mode a hand-made pool in the tiny model's tokens."""
        if self._pool is None:
            if self.config.tiny:
                import dataclasses as dc

                from srlm_core.lm.model_loading import TINY
                from srlm_core.lm.tiny import tiny_pool

                n = self.config.agreement_prompts
                self._pool = dc.replace(tiny_pool(train=max(3, n), heldout=2), model=TINY)
            else:
                from srlm_core.lm.pool import load_pool

                self._pool = load_pool()
        return self._pool

    # -- stages ---------------------------------------------------------------------------
    def _environment(self) -> dict:
        import importlib.metadata as metadata
        import importlib.util

        import torch

        from srlm_core.lm.model_loading import GGUF_FILE, GGUF_PACKAGE, cache_dir

        versions = {}
        for name in PACKAGES:
            try:
                versions[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                versions[name] = None
        spec = importlib.util.find_spec(GGUF_PACKAGE)
        gguf = None
        if spec is not None and spec.submodule_search_locations:
            path = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE
            gguf = {"path": str(path), "exists": path.is_file(),
                    "bytes": path.stat().st_size if path.is_file() else None}
        from srlm_core.publishing.bookcache import fingerprint
        from srlm_core.publishing.provenance import git_state

        # which code ran: the git state where the checkout has one, and in any case the
        # fingerprint of srlm_core/, data/ and the lock (the book cache's key), which a copy
        # of the working tree without .git keeps
        out = {"git": git_state(), "source_fingerprint": fingerprint(),
               "python": platform.python_version(), "platform": platform.platform(),
               "packages": versions, "torch_cuda": torch.version.cuda,
               "cuda_available": torch.cuda.is_available(), "gguf": gguf,
               "cache_dir": str(cache_dir()), "cpu_threads": torch.get_num_threads()}
        if torch.cuda.is_available():
            props = torch.cuda.get_device_properties(0)
            out.update(gpu=torch.cuda.get_device_name(0), gpu_memory_bytes=props.total_memory,
                       bf16_supported=torch.cuda.is_bf16_supported())
        return out

    def _pytest_gpu(self) -> dict:
        from srlm_core.publishing.provenance import REPO_ROOT

        command = [sys.executable, "-m", "pytest", "-m", "gpu", "tests/lm/test_gpu.py", "-q",
                   "-p", "no:cacheprovider"]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
        done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                              timeout=self.config.pytest_timeout)
        lines = (done.stdout + done.stderr).strip().splitlines()
        summary = next((line for line in reversed(lines) if " in " in line and (
            "passed" in line or "failed" in line or "skipped" in line or "error" in line)),
            lines[-1] if lines else "")
        if done.returncode not in (0, 5):  # 5: nothing collected
            raise RuntimeError(f"pytest exit {done.returncode}: {summary}\n"
                               + "\n".join(lines[-40:]))
        return {"returncode": done.returncode, "summary": summary, "tail": lines[-40:]}

    def _alpha_config(self, device: str):
        from srlm_core.experiments import controlled_alpha as ca

        config = ca.load(_repo_path(self.config.alpha_config), device=device,
                         model=self.config.model)
        if self.config.tiny:
            config = dataclasses.replace(
                config, train_prompts=3, eval_prompts=2, epochs=2, prompts_per_step=2,
                sample_prompts=1, samples_per_prompt=2, max_new_tokens=4, learning_rate=1e-2,
                arms=(ca.Arm("alpha-1", 1.0, 1), ca.Arm("alpha-0.5", 0.5, 2))).validate()
        return config

    def _alpha_pilot(self) -> dict:
        from srlm_core.experiments import controlled_alpha as ca

        config = self._alpha_config(self.config.device)
        with tempfile.TemporaryDirectory(prefix="srlm-gpu-check-alpha-") as folder:
            runner = ca.ControlledAlphaRunner(config, folder, pool=self.pool(), progress=False)
            values = runner.run()
        return {"config": config.to_dict(), "stage_seconds": dict(runner.seconds),
                "E_t": e_t(values, config.scale),
                "logp0_stored_max_abs_diff": values["pool"]["logp0_stored_max_abs_diff"],
                "sampled": {name: arm.get("sampled") for name, arm in values["arms"].items()},
                "epoch_loss": {name: arm["epoch_loss"] for name, arm in values["arms"].items()}}

    def _loop_config(self):
        from srlm_core.config_file import load_config
        from srlm_core.experiments.language_model_runner import Config as LoopConfig

        path = "data/lm/configs/smoke.toml" if self.config.tiny else self.config.loop_config
        config = load_config(_repo_path(path), LoopConfig, device=self.config.device,
                             model=self.config.model)
        return dataclasses.replace(config, iterations=self.config.loop_iterations,
                                   arms=tuple(self.config.loop_arms)).validate()

    def _loop_round(self) -> dict:
        from srlm_core.experiments.language_model_runner import LMRunner

        config = self._loop_config()
        with tempfile.TemporaryDirectory(prefix="srlm-gpu-check-loop-") as folder:
            runner = LMRunner(config, folder)
            values = runner.run()
        keep = ("pass_rate", "judge_agreement", "consistency", "kl_to_initial", "mean_length",
                "judge_validity", "responses")
        rows = {arm: [{k: row.get(k) for k in (*keep, "iteration", "train")}
                      for row in arm_rows] for arm, arm_rows in values["arms"].items()}
        return {"config": config.to_dict(), "dtype": str(runner.dtype),
                "stage_seconds": values["stage_seconds"],
                "baseline": {k: values["baseline"].get(k) for k in keep}, "rows": rows}

    def _agreement(self) -> dict:
        cpu = agreement_side(self, "cpu")
        other = "cuda" if self.device.type == "cuda" else "cpu"
        device = agreement_side(self, other)
        pairs = [("logp0", TOLERANCE_FP32), ("h1", TOLERANCE_FP32), ("E_t", TOLERANCE_FP32),
                 ("soft_dpo_epoch_loss", TOLERANCE_FP32), ("dpo_loss_fixed_pairs", TOLERANCE_FP32),
                 ("judge_scores_fp32", TOLERANCE_FP32)]
        compared = {name: compare(cpu[name], device[name], tol) for name, tol in pairs}
        compared["judge_scores_bf16_vs_cpu_fp32"] = compare(
            cpu["judge_scores_fp32"], device["judge_scores_bf16"], TOLERANCE_BF16)
        return {"device": other, "cpu": cpu, "other": device, "compared": compared,
                "all_within_tolerance": all(c["within_tolerance"] for c in compared.values())}


def e_t(values: dict, scale: float) -> dict:
    """E_t per arm (RMS over training prompts of the within-prompt-centred h_t - c g), from a
    controlled-alpha run's values (:mod:`srlm_core.experiments.controlled_alpha_analysis`)."""
    import numpy as np

    from srlm_core.experiments.controlled_alpha_analysis import Measurements

    m = Measurements(values, scale=scale)
    return {arm: np.sqrt(m.prompt_sq(arm).mean(axis=1)).tolist() for arm in values["arms"]}


def dpo_loss_fixed_pairs(values: dict, arm: str, beta: float) -> float:
    """Mean sigmoid DPO loss -log sigma(beta (h(c) - h(r))) over every (passing c, failing r)
    pair of answers of a training prompt, at the arm's last h (log pi_t - log pi_0: the policy
    against the fixed reference pi_0)."""
    import torch

    pool = values["pool"]
    h = torch.tensor(values["arms"][arm]["h"][-1], dtype=torch.float64)
    terms, start = [], 0
    for size, split in zip(pool["sizes"], pool["split"], strict=True):
        if split == "train":
            g = pool["g"][start:start + size]
            for i in range(size):
                for j in range(size):
                    if g[i] == 1 and g[j] == 0:
                        margin = beta * (h[start + i] - h[start + j])
                        terms.append(-torch.nn.functional.logsigmoid(margin))
        start += size
    return float(torch.stack(terms).mean()) if terms else math.nan


def agreement_side(check: Check, device: str) -> dict:
    """The shared small computation on ``device`` (same seed, same pool prompts, float32;
    the judge also in bfloat16 on a GPU)."""
    import copy

    import torch

    from srlm_core.experiments import controlled_alpha as ca
    from srlm_core.lm.rubric_judge import judge_logits

    base = check._alpha_config(device)
    config = dataclasses.replace(
        base, name="gpu-check-agreement", train_prompts=check.config.agreement_prompts,
        eval_prompts=0, sample_prompts=0, epochs=3, prompts_per_step=1, device=device,
        seed=check.config.seed, arms=(ca.Arm("alpha-0.5", 0.5, 1),)).validate()
    with tempfile.TemporaryDirectory(prefix=f"srlm-gpu-check-agree-{device}-") as folder:
        runner = ca.ControlledAlphaRunner(config, folder, pool=check.pool(), progress=False)
        values = runner.run()
    arm = values["arms"]["alpha-0.5"]
    prompts = runner.train
    items = [(p["instruction"], a["text"]) for p in prompts for a in p["answers"]]
    items = items[:check.config.judge_responses]
    instructions, responses = [i for i, _ in items], [r for _, r in items]
    model, tokenizer = runner._model, runner._tokenizer
    out = {
        "logp0": values["pool"]["logp0"],
        "h1": arm["h"][-1],
        "E_t": e_t(values, config.scale)["alpha-0.5"],
        "soft_dpo_epoch_loss": arm["epoch_loss"][0],
        "dpo_loss_fixed_pairs": dpo_loss_fixed_pairs(values, "alpha-0.5", config.beta),
        "judge_scores_fp32": judge_logits(model, tokenizer, instructions, responses).scores,
        "stage_seconds": dict(runner.seconds),
    }
    if device == "cuda":
        half = copy.deepcopy(model).to(torch.bfloat16)
        out["judge_scores_bf16"] = judge_logits(half, tokenizer, instructions, responses).scores
        del half
    else:
        out["judge_scores_bf16"] = out["judge_scores_fp32"]  # CPU runs in float32
    with contextlib.suppress(Exception):
        del runner, model
        if device == "cuda":
            torch.cuda.empty_cache()
    return out


def _flat(value) -> list[float]:
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _flat(v)]
    return [float(value)]


def compare(a, b, tolerance: float) -> dict:
    """Largest absolute and relative difference of two equally shaped numbers or lists."""
    x, y = _flat(a), _flat(b)
    if len(x) != len(y):
        return {"n": None, "max_abs_diff": None, "max_rel_diff": None,
                "tolerance": tolerance, "within_tolerance": False,
                "note": f"shapes differ: {len(x)} vs {len(y)}"}
    pairs = [(u, v) for u, v in zip(x, y, strict=True) if math.isfinite(u) and math.isfinite(v)]
    abs_diff = max((abs(u - v) for u, v in pairs), default=0.0)
    rel_diff = max((abs(u - v) / max(abs(u), abs(v), 1e-12) for u, v in pairs), default=0.0)
    return {"n": len(x), "max_abs_diff": abs_diff, "max_rel_diff": rel_diff,
            "tolerance": tolerance, "within_tolerance": abs_diff <= tolerance * max(
                1.0, max((abs(u) for u, _ in pairs), default=1.0))}


def stage_table(report: dict):
    """One row per stage of a check's report, in the order they run: whether it passed, its
    seconds and its peak GPU memory in GiB (``None`` where the stage ran no CUDA work in this
    process)."""
    import pandas as pd

    rows = []
    order = [n for n in STAGES if n in report["stages"]]
    for name in order + [n for n in report["stages"] if n not in order]:
        stage = report["stages"][name]
        peak = report["peak_gpu_memory_bytes"].get(name) or None
        rows.append({"stage": name, "ok": bool(stage.get("ok")),
                     "seconds": report["timings"].get(name),
                     "peak GiB": peak / 2**30 if peak else None})
    return pd.DataFrame(rows)


def agreement_table(report: dict):
    """The GPU-against-CPU comparisons of the ``agreement`` stage: per quantity the number of
    values, the largest absolute and relative differences, the tolerance and the verdict."""
    import pandas as pd

    compared = report["stages"]["agreement"]["compared"]
    return pd.DataFrame([{"quantity": name, "values": c["n"], "max |diff|": c["max_abs_diff"],
                          "max rel. diff": c["max_rel_diff"], "tolerance": c["tolerance"],
                          "agrees": c["within_tolerance"]} for name, c in compared.items()])


def run(config: Config) -> dict:
    """Run the check of ``config`` and return the report, as written to ``config.out``."""
    from srlm_core.lm.model_loading import set_offline

    set_offline()
    return _clean(Check(config).run())


def main(argv: list[str] | None = None) -> int:
    """``python -m srlm_core.experiments.gpu_check [--option value ...]``: writes the JSON report;
    exit 0 when every stage ran, 1 when one failed, 2 for a wrong option."""
    from srlm_core.options import add_config_arguments, config_from_args

    parser = argparse.ArgumentParser(prog="gpu-check", description=__doc__.split("\n\n")[0])
    add_config_arguments(parser, Config, device=DEVICES)
    args = parser.parse_args(argv)
    try:
        report = run(config_from_args(Config, args))
    except ConfigError as err:
        option = "--" + err.field.replace("_", "-")
        print(f"gpu-check: error: {option}: {str(err).split(': ', 1)[1]}", file=sys.stderr)
        return 2
    print(f"gpu-check: wrote {args.out} ({report['total_seconds']:.0f} s, "
          f"{'all stages ok' if report['ok'] else 'a stage failed'})")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
