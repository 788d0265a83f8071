"""The self-rewarding loop on a real language model (Yuan et al. 2024): generate k candidates
per prompt, judge them with the model itself, pair best against worst, train with DPO, repeat;
measured on a held-out split against the checkers' ground truth.

Arms (``LMConfig.arms``): ``fixed`` (reference M0, S1), ``moving`` (reference pi_t),
``single_step`` (all T x n pairs judged by M0, one DPO round: S2's one-step limit)
and ``oracle`` (pairs ranked by the checkers: an upper reference).  Iteration t of every
iterative arm uses the same n training prompts, and every evaluation the same held-out prompts
and seeds (common random numbers).

Work folder: ``config.json``, ``baseline.json`` (M0), and per arm ``<arm>/iter_<t>/`` holding
the policy (safetensors) and ``metrics.json``, written atomically after the iteration; a rerun
with the same folder skips finished iterations (resume after an interrupt).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from scipy import stats
from tqdm import tqdm

from srlm_core.device import resolve_device
from srlm_core.errors import ConfigError
from srlm_core.lm import diagnostics as diag
from srlm_core.lm.checkers import compliance, passes
from srlm_core.lm.config import LMConfig
from srlm_core.lm.judge import judge, judge_generate, judge_logits
from srlm_core.lm.model_loading import load_model
from srlm_core.lm.pairs import build_pairs
from srlm_core.lm.prompts import load_prompts
from srlm_core.lm.training import DPOSettings, dpo_round, frozen_copy
from srlm_core.publishing.provenance import REPO_ROOT
from srlm_core.publishing.results import write_json_atomic

EVAL_SEED_OFFSET = 7919


class LMRunner:
    """Runs (or resumes) every arm of ``config`` in ``workdir``."""

    def __init__(self, config: LMConfig, workdir: Path | str):
        self.config = config.validate()
        self.workdir = Path(workdir)
        self.device = resolve_device(config.device)
        self.dtype = torch.bfloat16 if self.device.type == "cuda" else torch.float32
        prompts_file = Path(config.prompts_file)
        if not prompts_file.is_absolute():
            prompts_file = REPO_ROOT / prompts_file
        if not prompts_file.exists():
            raise ConfigError("prompts_file", f"no such file: {prompts_file}")
        splits = load_prompts(prompts_file)
        need = config.iterations * config.prompts_per_iteration
        if need > len(splits["train"]):
            raise ConfigError("prompts_per_iteration", f"iterations x prompts_per_iteration = "
                              f"{need} exceeds the {len(splits['train'])} training prompts")
        if config.heldout_prompts > len(splits["heldout"]):
            raise ConfigError("heldout_prompts", f"at most {len(splits['heldout'])}")
        self.train = splits["train"][:need]
        self.heldout = splits["heldout"][:config.heldout_prompts]
        self.stage_seconds: dict[str, float] = {}
        self._m0 = None
        self._tokenizer = None
        self._memo: dict = {}

    # -- models -------------------------------------------------------------------------
    def _initial(self):
        if self._m0 is None:
            model, self._tokenizer = load_model(self.config.model, dtype=self.dtype,
                                                device=self.device, seed=self.config.seed)
            self._m0 = frozen_copy(model)
        return self._m0, self._tokenizer

    def _policy(self, arm: str, t: int):
        """A trainable copy of pi_t for ``arm`` (M0 when t = 0)."""
        m0, _ = self._initial()
        if t == 0:
            policy = frozen_copy(m0)
        else:
            from transformers import AutoModelForCausalLM

            policy = AutoModelForCausalLM.from_pretrained(
                self._dir(arm, t), dtype=self.dtype).to(self.device)
        for p in policy.parameters():
            p.requires_grad_(True)
        return policy.eval()

    def _dir(self, arm: str, t: int) -> Path:
        return self.workdir / arm / f"iter_{t}"

    def _done(self, arm: str, t: int) -> bool:
        return (self._dir(arm, t) / "metrics.json").exists()

    # -- stages ---------------------------------------------------------------------------
    def _timed(self, stage: str, fn, *args, **kwargs):
        start = time.perf_counter()
        out = fn(*args, **kwargs)
        self.stage_seconds[stage] = self.stage_seconds.get(stage, 0.0) + time.perf_counter() - start
        return out

    def _candidates(self, policy, prompts, seed: int):
        cfg = self.config
        return self._timed("generate", diag.generate, policy, self._tokenizer,
                           [p["instruction"] for p in prompts], cfg.candidates,
                           cfg.max_new_tokens, cfg.temperature, seed)

    def _self_scores(self, policy, prompts, candidates):
        flat_i = [p["instruction"] for p, c in zip(prompts, candidates, strict=True) for _ in c]
        flat_r = [r for c in candidates for r in c]
        kwargs = {}
        if self.config.judge_mode == "generate":
            kwargs = {"samples": self.config.judge_samples,
                      "max_new_tokens": self.config.judge_max_new_tokens}
        judged = self._timed("judge", judge, policy, self._tokenizer, flat_i, flat_r,
                             mode=self.config.judge_mode, **kwargs)
        k = self.config.candidates
        return [judged.scores[i:i + k] for i in range(0, len(flat_r), k)]

    def evaluate(self, policy) -> dict:
        """Held-out diagnostics of pi_t (see :mod:`srlm_core.lm.diagnostics`)."""
        cfg = self.config
        m0, tok = self._initial()
        instructions = [p["instruction"] for p in self.heldout]
        samples = self._timed("eval_generate", diag.generate, policy, tok, instructions,
                              cfg.heldout_samples, cfg.max_new_tokens, cfg.temperature,
                              cfg.seed + EVAL_SEED_OFFSET)
        flat_i = [i for i, s in zip(instructions, samples, strict=True) for _ in s]
        flat_r = [r for s in samples for r in s]
        flat_c = [p["constraints"] for p, s in zip(self.heldout, samples, strict=True) for _ in s]
        truth = [passes(c, r) for c, r in zip(flat_c, flat_r, strict=True)]
        judged = self._timed("eval_judge", judge_logits, policy, tok, flat_i, flat_r)
        own = self._timed("eval_logprobs", diag.sequence_logprobs, policy, tok, flat_i, flat_r,
                          cfg.temperature)
        base = self._timed("eval_logprobs", diag.sequence_logprobs, m0, tok, flat_i, flat_r,
                           cfg.temperature)
        m = cfg.heldout_samples
        groups = [list(range(i, i + m)) for i in range(0, len(flat_r), m)]
        k = sum(truth)
        lo, hi = diag.wilson_interval(k, len(truth))
        return {
            "pass_rate": k / len(truth), "pass_rate_lo": lo, "pass_rate_hi": hi,
            "compliance": float(np.mean([compliance(c, r) for c, r in zip(flat_c, flat_r,
                                                                          strict=True)])),
            "judge_agreement": diag.judge_agreement(groups, truth, judged.scores),
            **diag.signal_share(judged.scores, truth, own.mean),
            "consistency": diag.internal_consistency(groups, judged.scores, own.mean),
            "kl_to_initial": float(np.mean(np.subtract(own.total, base.total))),
            "log_kappa_proxy": diag.log_condition_proxy(groups, truth, own.total),
            "mean_length": float(np.mean(own.length)),
            "mean_judge_score": float(np.nanmean(judged.scores)),
            "judge_validity": float(np.mean(judged.validity)),
            "responses": len(truth),
        }

    def _judge_timing(self) -> dict:
        """logits against generate judging on the same M0 candidates: speed and ranking."""
        cfg = self.config
        m0, tok = self._initial()
        n = cfg.timing_candidates
        if n < 2:
            return {}
        prompts = self.train[:max(1, math.ceil(n / cfg.candidates))]
        candidates = self._candidate_memo(m0, prompts, 1)[0]
        flat_i = [p["instruction"] for p, c in zip(prompts, candidates, strict=True) for _ in c][:n]
        flat_r = [r for c in candidates for r in c][:n]
        start = time.perf_counter()
        fast = judge_logits(m0, tok, flat_i, flat_r)
        t_logits = time.perf_counter() - start
        torch.manual_seed(cfg.seed)
        start = time.perf_counter()
        slow = judge_generate(m0, tok, flat_i, flat_r, samples=cfg.judge_samples,
                              max_new_tokens=cfg.judge_max_new_tokens)
        t_generate = time.perf_counter() - start
        both = [(a, b) for a, b in zip(fast.scores, slow.scores, strict=True) if not math.isnan(b)]
        rho = (float(stats.spearmanr(*zip(*both)).statistic)
               if len(both) > 2 and len({b for _, b in both}) > 1 else math.nan)
        return {"responses": n, "seconds_logits": t_logits, "seconds_generate": t_generate,
                "speed_ratio": t_generate / t_logits, "spearman": rho,
                "generate_validity": float(np.mean(slow.validity)),
                "logits_scores": fast.scores, "generate_scores": slow.scores}

    def _candidate_memo(self, policy, prompts, t: int, key: str | None = None):
        """Candidates and self-judge scores; memoised for M0 at t = 1 (identical across arms)."""
        key = key or f"m0-{t}-{len(prompts)}"
        if t == 1 and key in self._memo:
            return self._memo[key]
        candidates = self._candidates(policy, prompts, self.config.seed * 1000 + t)
        scores = self._self_scores(policy, prompts, candidates)
        if t == 1:
            self._memo[key] = (candidates, scores)
        return candidates, scores

    def _iterate(self, arm: str, t: int) -> dict:
        cfg = self.config
        m0, tok = self._initial()
        single = arm == "single_step"
        policy = self._policy(arm, 0 if single else t - 1)
        n = cfg.prompts_per_iteration
        prompts = self.train if single else self.train[(t - 1) * n:t * n]
        candidates, self_scores = self._candidate_memo(policy, prompts, 1 if single else t)
        if arm == "oracle":
            scores = [[compliance(p["constraints"], r) for r in c]
                      for p, c in zip(prompts, candidates, strict=True)]
            margin = 1e-9
        else:
            scores, margin = self_scores, cfg.min_margin
        pairs = build_pairs(prompts, candidates, scores, margin)
        reference = frozen_copy(policy) if arm == "moving" else m0
        settings = DPOSettings(beta=cfg.beta, learning_rate=cfg.learning_rate, epochs=cfg.epochs,
                               batch_size=cfg.batch_size, seed=cfg.seed + t)
        train_log = self._timed("train", dpo_round, policy, reference, tok, pairs, settings)
        metrics = self.evaluate(policy)
        truth = [[passes(p["constraints"], r) for r in c]
                 for p, c in zip(prompts, candidates, strict=True)]
        chosen_pass = [passes(p["prompt"]["constraints"], p["chosen"]) for p in pairs]
        rejected_pass = [passes(p["prompt"]["constraints"], p["rejected"]) for p in pairs]
        example = None
        if pairs:
            p0 = pairs[0]["prompt"]
            i0 = prompts.index(p0)
            example = {"instruction": p0["instruction"], "constraints": p0["constraints"],
                       "candidates": candidates[i0], "scores": scores[i0],
                       "passes": truth[i0], "chosen": pairs[0]["chosen"],
                       "rejected": pairs[0]["rejected"]}
        return {
            "arm": arm, "iteration": cfg.iterations if single else t, **metrics,
            "train": train_log,
            "train_candidate_pass_rate": float(np.mean([x for row in truth for x in row])),
            "pair_label_accuracy": (float(np.mean([c and not r for c, r in zip(
                chosen_pass, rejected_pass, strict=True)] or [math.nan]))),
            "pair_label_wrong": (float(np.mean([r and not c for c, r in zip(
                chosen_pass, rejected_pass, strict=True)] or [math.nan]))),
            "example": example,
            "_policy": policy,
        }

    def _save(self, arm: str, t: int, result: dict) -> None:
        final = self._dir(arm, t)
        tmp = final.with_name(final.name + f".tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        result.pop("_policy").save_pretrained(tmp)
        write_json_atomic(tmp / "metrics.json", result)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)

    # -- driver ---------------------------------------------------------------------------
    def _check_workdir(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        stored = self.workdir / "config.json"
        if stored.exists():
            if json.loads(stored.read_text()) != self.config.to_dict():
                raise ConfigError("workdir", f"{self.workdir} holds a run with another config; "
                                  "use a fresh folder")
        else:
            write_json_atomic(stored, self.config.to_dict())

    def run(self, arms=None) -> dict:
        """Run (or resume) ``arms`` (default: all of the config's) and return every finished
        arm's rows; running the arms in separate calls gives the same result as one call."""
        cfg = self.config
        todo = cfg.arms if arms is None else tuple(arms)
        unknown = set(todo) - set(cfg.arms)
        if unknown:
            raise ConfigError("arms", f"{sorted(unknown)} are not in the config's arms")
        self._check_workdir()
        start = time.perf_counter()
        baseline_file = self.workdir / "baseline.json"
        if baseline_file.exists():
            baseline = json.loads(baseline_file.read_text())
        else:
            m0, _ = self._initial()
            baseline = {"metrics": self.evaluate(m0), "judge_timing": self._judge_timing()}
            write_json_atomic(baseline_file, baseline)
        steps = [(arm, t) for arm in todo
                 for t in ([1] if arm == "single_step" else range(1, cfg.iterations + 1))]
        for arm, t in tqdm(steps, desc="self-rewarding iterations"):
            if self._done(arm, t):
                continue
            if arm == "moving" and t == 1 and self._done("fixed", 1):
                # Identical by construction: at t = 1 the moving reference is M0.
                shutil.copytree(self._dir("fixed", 1), self._dir("moving", 1))
                continue
            self._save(arm, t, self._iterate(arm, t))
        arms = {}
        for arm in cfg.arms:
            rows = []
            for t in [1] if arm == "single_step" else range(1, cfg.iterations + 1):
                if not self._done(arm, t):
                    break
                row = json.loads((self._dir(arm, t) / "metrics.json").read_text())
                row["arm"] = arm
                rows.append(row)
            if rows:
                arms[arm] = rows
        return {"baseline": baseline["metrics"], "judge_timing": baseline["judge_timing"],
                "arms": arms, "stage_seconds": self.stage_seconds,
                "wall_seconds_this_run": time.perf_counter() - start}
