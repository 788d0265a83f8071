"""The self-rewarding loop on a real language model (Yuan et al. 2024): generate k candidates
per prompt, judge them with the model itself, pair best against worst, train with DPO, repeat;
measured on a held-out split against the checkers' ground truth.

Arms (``LMConfig.arms``): ``fixed`` (reference M0, S1), ``moving`` (reference pi_t),
``single_step`` (all T x n pairs judged by M0, one DPO round: S2's one-step limit)
and ``oracle`` (pairs ranked by the checkers: an upper reference).  Iteration t of every
iterative arm uses the same n training prompts, and every evaluation the same held-out prompts
and seeds (common random numbers).

The runner orchestrates; held-out measurement is :mod:`srlm_core.lm.evaluation`, the
comparison of the two judges :mod:`srlm_core.lm.judge_timing`, and the resumable work folder
:mod:`srlm_core.lm.checkpoints` (a rerun with the same folder skips finished iterations).
Launched over N processes (``torchrun``), generation, judging and evaluation are sharded over
the ranks, DPO trains data-parallel with the same global batch, and rank 0 alone writes
(:mod:`srlm_core.lm.parallel`).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from srlm_core.device import resolve_device
from srlm_core.errors import ConfigError
from srlm_core.lm import diagnostics as diag
from srlm_core.lm import parallel
from srlm_core.lm.checkers import compliance, passes
from srlm_core.lm.checkpoints import CheckpointStore
from srlm_core.lm.config import LMConfig
from srlm_core.lm.evaluation import evaluate
from srlm_core.lm.judge import judge
from srlm_core.lm.judge_timing import judge_timing
from srlm_core.lm.model_loading import load_model
from srlm_core.lm.pairs import build_pairs
from srlm_core.lm.prompts import load_prompts
from srlm_core.lm.stage_timer import StageTimer
from srlm_core.lm.training import DPOSettings, dpo_round, frozen_copy
from srlm_core.publishing.provenance import REPO_ROOT


class LMRunner:
    """Runs (or resumes) every arm of ``config`` in ``workdir``."""

    def __init__(self, config: LMConfig, workdir: Path | str):
        self.config = config.validate()
        self.store = CheckpointStore(workdir)
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
        self.timer = StageTimer()
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
                self.store.iteration_dir(arm, t), dtype=self.dtype).to(self.device)
        for p in policy.parameters():
            p.requires_grad_(True)
        return policy.eval()

    @property
    def workdir(self) -> Path:
        return self.store.workdir

    @property
    def stage_seconds(self) -> dict[str, float]:
        return self.timer.seconds

    # -- stages ---------------------------------------------------------------------------
    def _candidates(self, policy, prompts, seed: int):
        cfg = self.config
        return self.timer.call("generate", diag.generate, policy, self._tokenizer,
                           [p["instruction"] for p in prompts], cfg.candidates,
                           cfg.max_new_tokens, cfg.temperature, seed)

    def _self_scores(self, policy, prompts, candidates, seed: int):
        flat_i = [p["instruction"] for p, c in zip(prompts, candidates, strict=True) for _ in c]
        flat_r = [r for c in candidates for r in c]
        kwargs = {}
        if self.config.judge_mode == "generate":
            kwargs = {"samples": self.config.judge_samples,
                      "max_new_tokens": self.config.judge_max_new_tokens, "seed": seed}
        judged = self.timer.call("judge", judge, policy, self._tokenizer, flat_i, flat_r,
                             mode=self.config.judge_mode, **kwargs)
        k = self.config.candidates
        return [judged.scores[i:i + k] for i in range(0, len(flat_r), k)]

    def evaluate(self, policy) -> dict:
        """Held-out diagnostics of pi_t (:func:`srlm_core.lm.evaluation.evaluate`)."""
        m0, tok = self._initial()
        return evaluate(policy, m0, tok, self.heldout, self.config, self.timer)

    def _judge_timing(self) -> dict:
        """Both judges on the first ``timing_candidates`` M0 candidates (none below 2)."""
        cfg = self.config
        m0, tok = self._initial()
        n = cfg.timing_candidates
        if n < 2:
            return {}
        prompts = self.train[:max(1, math.ceil(n / cfg.candidates))]
        candidates = self._candidate_memo(m0, prompts, 1)[0]
        flat_i = [p["instruction"] for p, c in zip(prompts, candidates, strict=True) for _ in c][:n]
        flat_r = [r for c in candidates for r in c][:n]
        return judge_timing(m0, tok, flat_i, flat_r, cfg.judge_samples, cfg.judge_max_new_tokens,
                            cfg.seed)

    def _candidate_memo(self, policy, prompts, t: int, key: str | None = None):
        """Candidates and self-judge scores; memoised for M0 at t = 1 (identical across arms)."""
        key = key or f"m0-{t}-{len(prompts)}"
        if t == 1 and key in self._memo:
            return self._memo[key]
        seed = self.config.seed * 1000 + t
        candidates = self._candidates(policy, prompts, seed)
        scores = self._self_scores(policy, prompts, candidates, seed)
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
        train_log = self.timer.call("train", dpo_round, policy, reference, tok, pairs, settings)
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

    # -- driver ---------------------------------------------------------------------------
    def run(self, arms=None) -> dict:
        """Run (or resume) ``arms`` (default: all of the config's) and return every finished
        arm's rows; running the arms in separate calls gives the same result as one call."""
        cfg = self.config
        todo = cfg.arms if arms is None else tuple(arms)
        unknown = set(todo) - set(cfg.arms)
        if unknown:
            raise ConfigError("arms", f"{sorted(unknown)} are not in the config's arms")
        self.store.claim(cfg.to_dict())
        start = time.perf_counter()
        baseline = self.store.baseline(
            lambda: {"metrics": self.evaluate(self._initial()[0]),
                     "judge_timing": self._judge_timing()})
        steps = [(arm, t) for arm in todo
                 for t in ([1] if arm == "single_step" else range(1, cfg.iterations + 1))]
        for arm, t in tqdm(steps, desc="self-rewarding iterations", **parallel.quiet()):
            if self.store.done(arm, t):
                continue
            if arm == "moving" and t == 1 and self.store.done("fixed", 1):
                # Identical by construction: at t = 1 the moving reference is M0.
                self.store.copy("fixed", 1, "moving")
                continue
            result = self._iterate(arm, t)
            self.store.save(arm, t, result.pop("_policy"), result)
        arms = {}
        for arm in cfg.arms:
            rows = []
            for t in [1] if arm == "single_step" else range(1, cfg.iterations + 1):
                if not self.store.done(arm, t):
                    break
                row = self.store.metrics(arm, t)
                row["arm"] = arm
                rows.append(row)
            if rows:
                arms[arm] = rows
        return {"baseline": baseline["metrics"], "judge_timing": baseline["judge_timing"],
                "arms": arms, "stage_seconds": self.stage_seconds,
                "wall_seconds_this_run": time.perf_counter() - start}
