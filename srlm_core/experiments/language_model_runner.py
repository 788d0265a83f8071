"""The self-rewarding loop on a real language model (Yuan et al. 2024): generate k candidates
per prompt, judge them with the model itself, pair best against worst, train with DPO, repeat;
measured on a held-out split against the checkers' ground truth.

Arms (``Config.arms``): ``fixed`` (reference M0, S1), ``moving`` (reference pi_t),
``single_step`` (all T x P pairs judged by M0, one DPO round: S2's one-step limit)
and ``oracle`` (pairs ranked by the checkers: an upper reference).  Iteration t of every
iterative arm uses the same block of training prompts, and every evaluation the same
held-out prompts and seeds (common random numbers).

Every iterative arm gets exactly ``pairs_per_iteration`` pairs, built from finished
candidates only, and so the same optimizer steps per round; the single step gets all
T x ``pairs_per_iteration`` of them in one round.  On the CPU the run computes in float32, or
in bfloat16 autocast (weights and optimizer in float32) as ``precision`` asks
(:func:`srlm_core.device.resolve_precision`); the precision used is part of the result.

The runner orchestrates; held-out measurement is :mod:`srlm_core.lm.evaluation` and the
resumable work folder :mod:`srlm_core.lm.checkpoints` (a rerun with the same folder skips
finished iterations).  ``srlm run language-model-runner --config data/lm/configs/small.toml``
(or its alias ``srlm lm run``) runs it into the record named by the config; a key of the
TOML file that is not a field of :class:`Config`, or a wrong value, is one error naming the
key, before any model is loaded.  Launched over N processes (``torchrun``), generation,
judging and evaluation are sharded over the ranks, DPO trains data-parallel with the same
global batch, and rank 0 alone writes (:mod:`srlm_core.parallel`).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from srlm_core import parallel
from srlm_core.device import DEVICE_CHOICES, PRECISION_CHOICES, resolve_device, resolve_precision
from srlm_core.errors import (
    ConfigError,
    is_lowercase_name,
    require,
    require_at_least,
    require_one_of,
    require_positive,
)
from srlm_core.lm import diagnostics as diag
from srlm_core.lm.checkers import compliance, passes
from srlm_core.lm.checkpoints import CheckpointStore
from srlm_core.lm.evaluation import evaluate
from srlm_core.lm.model_loading import load_model, model_provenance, require_model
from srlm_core.lm.pairs import build_pairs
from srlm_core.lm.prompts import load_prompts
from srlm_core.lm.rubric_judge import JUDGE_MODES, judge
from srlm_core.lm.stage_timer import StageTimer
from srlm_core.lm.training import DPOSettings, dpo_round, frozen_copy
from srlm_core.options import option
from srlm_core.publishing.provenance import REPO_ROOT

#: fixed: reference = M0 (S1); moving: reference = pi_t (Yuan et al.); single_step: all
#: T x P pairs judged by M0, one round; oracle: pairs ranked by the ground-truth checker.
ARMS = ("fixed", "moving", "single_step", "oracle")


@dataclass(frozen=True)
class Config:
    """The run's model, arms, rounds, sampling, judge and training; a TOML file of these keys
    is read with ``srlm run language-model-runner --config FILE``."""

    name: str = option("lm-small", "run name (lowercase): the record's ID")
    model: str = option("smollm2-135m-instruct",
                        "smollm2-135m-instruct, tiny-random or a checkpoint folder")
    device: str = option("cpu", "cpu, cuda or auto (a GPU when present)")
    seed: int = option(0, "seed of the sampling, the judging and the training")
    arms: tuple = option(("fixed", "moving", "single_step", "oracle"),
                         "arms run: fixed, moving, single_step, oracle")
    iterations: int = option(2, "rounds T of the iterative arms")
    prompts_per_iteration: int = option(8,
                                        "training prompts per round (a block; as many again in "
                                        "reserve)")
    pairs_per_iteration: int = option(4,
                                      "pairs per round of every iterative arm (a multiple of "
                                      "batch_size)")
    candidates: int = option(4, "answers sampled per prompt and judged")
    heldout_prompts: int = option(12, "held-out prompts of every evaluation")
    heldout_samples: int = option(4, "answers sampled per held-out prompt")
    max_new_tokens: int = option(40, "answer length limit in tokens")
    precision: str = option("float32",
                            "CPU arithmetic: float32, bf16 (autocast) or auto (bf16 where the CPU "
                            "has it natively)")
    temperature: float = option(0.7, "sampling temperature")
    judge_mode: str = option("logits",
                             "self-judge: logits (expected score) or generate (sampled "
                             "rationales)")
    judge_samples: int = option(3, "rationales per answer of the generate judge")
    judge_max_new_tokens: int = option(96, "rationale length limit of the generate judge")
    min_margin: float = option(0.1,
                               "smallest score gap between the best and the worst answer of a "
                               "pair")
    beta: float = option(0.1, "DPO's KL strength beta")
    learning_rate: float = option(5e-6, "learning rate of a DPO round")
    epochs: int = option(2, "epochs of a DPO round over its pairs")
    batch_size: int = option(4, "pairs per optimiser step")
    prompts_file: str = option("data/lm/prompts.json",
                               "prompts with their checkers (repository-relative or absolute "
                               "path)")
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    def validate(self) -> Config:
        positive = ("iterations", "prompts_per_iteration", "pairs_per_iteration",
                    "heldout_prompts", "max_new_tokens", "judge_samples", "judge_max_new_tokens",
                    "epochs", "batch_size")
        require_at_least(self, 1, *positive)
        require_at_least(self, 2, "candidates", "heldout_samples")  # pairs need two
        require_positive(self, "temperature", "beta", "learning_rate")
        require_at_least(self, 0, "min_margin", "seed")
        require_model(self)
        require_one_of(self, "device", DEVICE_CHOICES)
        require_one_of(self, "precision", PRECISION_CHOICES)
        require_one_of(self, "judge_mode", JUDGE_MODES)
        arms = list(self.arms)
        distinct_known = bool(arms) and set(arms) <= set(ARMS) and len(set(arms)) == len(arms)
        require(self, ("arms", distinct_known, f"must be distinct names from {', '.join(ARMS)}"),
                ("name", is_lowercase_name(self.name), "use lowercase letters, digits, - and _"),
                ("pairs_per_iteration", self.pairs_per_iteration <= self.prompts_per_iteration,
                 "at most prompts_per_iteration (one pair per prompt)"),
                ("pairs_per_iteration", self.pairs_per_iteration % self.batch_size == 0,
                 f"must be a multiple of batch_size ({self.batch_size}), so that every arm "
                 "takes the same optimizer steps per round"))
        return self

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["arms"] = list(self.arms)
        return out


#: Sampled tokens can flip under floating-point differences between machines.
TOLERANCE = {"rtol": 0.05, "atol": 0.05}
#: The record's provenance names the model.
provenance = model_provenance


def title(config: Config) -> str:
    """The record's title: the model, the run's name and its arms."""
    return f"Self-rewarding {config.model} ({config.name}): arms {', '.join(config.arms)}"


def run(config: Config, workdir: Path | str) -> dict:
    """Run (or resume) every arm of ``config`` in ``workdir`` (:meth:`LMRunner.run`)."""
    return LMRunner(config, workdir).run()


class LMRunner:
    """Runs (or resumes) every arm of ``config`` in ``workdir``."""

    def __init__(self, config: Config, workdir: Path | str):
        self.config = config.validate()
        self.store = CheckpointStore(workdir)
        self.device = resolve_device(config.device)
        self.dtype = torch.bfloat16 if self.device.type == "cuda" else torch.float32
        self.precision = resolve_precision(config.precision, self.device)
        prompts_file = Path(config.prompts_file)
        if not prompts_file.is_absolute():
            prompts_file = REPO_ROOT / prompts_file
        if not prompts_file.exists():
            raise ConfigError("prompts_file", f"no such file: {prompts_file}")
        splits = load_prompts(prompts_file)
        need = 2 * config.iterations * config.prompts_per_iteration  # blocks and reserves
        if need > len(splits["train"]):
            raise ConfigError("prompts_per_iteration", f"2 x iterations x prompts_per_iteration"
                              f" = {need} exceeds the {len(splits['train'])} training prompts")
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
    def _autocast(self):
        """bf16 autocast on the CPU when the run's precision is bf16 (weights and optimizer
        stay float32), else nothing."""
        on = self.precision == "bf16" and self.device.type == "cpu"
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=on)

    def _candidates(self, policy, prompts, seed: int):
        cfg = self.config
        return self.timer.call("generate", diag.generate, policy, self._tokenizer,
                               [p["instruction"] for p in prompts], cfg.candidates,
                               cfg.max_new_tokens, cfg.temperature, seed,
                               len(prompts) * cfg.candidates)

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

    def evaluate(self, policy, previous=None) -> dict:
        """Held-out answers of pi_t and their diagnostics
        (:func:`srlm_core.lm.evaluation.evaluate`; ``previous`` is pi_{t-1})."""
        m0, tok = self._initial()
        return evaluate(policy, m0, tok, self.heldout, self.config, self.timer, previous)

    def _block(self, b: int, part: int = 0) -> list[dict]:
        """Training prompt block b = 1..T (round b of every iterative arm); ``part`` 1 is the
        block's reserve, read only when the block gives too few pairs."""
        n, T = self.config.prompts_per_iteration, self.config.iterations
        start = (b - 1) * n + part * T * n
        return self.train[start:start + n]

    def _judged_candidates(self, policy, b: int, part: int = 0, key=None, older=None):
        """Candidates of ``policy`` on block ``b`` (or its reserve, ``part`` 1; seeded by the
        round and part), its self-judge scores and, with ``older``, that judge's scores of
        them; memoised under ``key`` (a policy that several arms share: M0, or pi_1 of the
        fixed and moving arms)."""
        key = None if key is None else (*key, part)
        if key is not None and key in self._memo:
            return self._memo[key]
        prompts, seed = self._block(b, part), self.config.seed * 1000 + 500 * part + b
        candidates = self._candidates(policy, prompts, seed)
        out = (candidates, self._self_scores(policy, prompts, candidates, seed),
               None if older is None else self._self_scores(older, prompts, candidates, seed))
        if key is not None:
            self._memo[key] = out
        return out

    def _round_pairs(self, arm: str, policy, b: int, key=None,
                     older=None) -> tuple[list, dict]:
        """Exactly ``pairs_per_iteration`` pairs from block ``b``: best against worst among
        each prompt's finished candidates (:func:`srlm_core.lm.pairs.build_pairs`), in prompt
        order, continued into the block's reserve when the block gives too few; the
        self-judge's scores, or the checker's compliance for the oracle.  The log describes
        the block's candidates and the pairs used; with ``older`` (the judge one round before
        ``policy``) it has the judge's rank consistency between the two rounds on the block's
        candidates, as CREAM measures it."""
        cfg = self.config
        pairs, log = self._part_pairs(arm, policy, b, 0, key, older)
        if len(pairs) < cfg.pairs_per_iteration:
            more, more_log = self._part_pairs(arm, policy, b, 1, key, None)
            pairs, log = pairs + more, {**more_log, **log, "reserve_used": True}
        if len(pairs) < cfg.pairs_per_iteration:
            raise ConfigError("pairs_per_iteration", f"round {b} of arm {arm} found only "
                              f"{len(pairs)} of {cfg.pairs_per_iteration} pairs in its block "
                              f"and reserve; raise prompts_per_iteration")
        pairs = pairs[:cfg.pairs_per_iteration]
        chosen = [p["chosen"].finished and passes(p["prompt"]["constraints"], p["chosen"])
                  for p in pairs]
        rejected = [p["rejected"].finished and passes(p["prompt"]["constraints"], p["rejected"])
                    for p in pairs]
        log["pair_label_right"] = float(np.mean([c and not r for c, r in zip(
            chosen, rejected, strict=True)]))
        log["pair_label_wrong"] = float(np.mean([r and not c for c, r in zip(
            chosen, rejected, strict=True)]))
        return pairs, log

    def _part_pairs(self, arm: str, policy, b: int, part: int, key, older):
        """Every pair of block ``b``'s ``part`` (0: the block, 1: its reserve) and the log
        of its candidates (empty when the part gives no pair)."""
        cfg = self.config
        prompts = self._block(b, part)
        candidates, self_scores, before = self._judged_candidates(policy, b, part, key, older)
        if arm == "oracle":
            scores = [[compliance(p["constraints"], r) for r in c]
                      for p, c in zip(prompts, candidates, strict=True)]
            margin = 1e-9
        else:
            scores, margin = self_scores, cfg.min_margin
        finished = [[s if r.finished else math.nan for s, r in zip(row, c, strict=True)]
                    for row, c in zip(scores, candidates, strict=True)]
        pairs = build_pairs(prompts, candidates, finished, margin)
        if not pairs:
            return [], {}
        truth = [[r.finished and passes(p["constraints"], r) for r in c]
                 for p, c in zip(prompts, candidates, strict=True)]
        i0 = prompts.index(pairs[0]["prompt"])
        rank = None
        if before is not None:
            k = cfg.candidates
            groups = [list(range(i, i + k)) for i in range(0, k * len(prompts), k)]
            rank = diag.rank_consistency(groups, [x for row in self_scores for x in row],
                                         [x for row in before for x in row])
        return pairs, {
            "reserve_used": False,
            "rank_consistency": rank,
            "candidate_pass_rate": float(np.mean([x for row in truth for x in row])),
            "candidate_finished_share": float(np.mean([r.finished for c in candidates
                                                       for r in c])),
            "example": {"instruction": prompts[i0]["instruction"],
                        "constraints": prompts[i0]["constraints"],
                        "candidates": candidates[i0], "scores": scores[i0],
                        "finished": [r.finished for r in candidates[i0]],
                        "passes": truth[i0], "chosen": pairs[0]["chosen"],
                        "rejected": pairs[0]["rejected"]},
        }

    def _iterate(self, arm: str, t: int) -> dict:
        """Round t of ``arm``: pairs, one DPO round, held-out evaluation.  The single step
        takes the M0-judged pairs of all T blocks in one round (the same pairs in total)."""
        cfg = self.config
        m0, tok = self._initial()
        single = arm == "single_step"
        policy = self._policy(arm, 0 if single else t - 1)
        if single:
            rounds = [self._round_pairs(arm, m0, b, key=("m0", b))
                      for b in range(1, cfg.iterations + 1)]
            pairs = [p for r, _ in rounds for p in r]
            log = rounds[0][1]
        else:
            older = None if t == 1 else m0 if t == 2 else self._policy(arm, t - 2).eval()
            # pi_1 is the same for the fixed and the moving arm (the reference is M0 in round 1)
            key = (("m0", 1) if t == 1 else ("pi1", 2) if t == 2 and arm in ("fixed", "moving")
                   else None)
            pairs, log = self._round_pairs(arm, policy, t, key=key, older=older)
        reference = frozen_copy(policy) if arm == "moving" else m0
        settings = DPOSettings(beta=cfg.beta, learning_rate=cfg.learning_rate, epochs=cfg.epochs,
                               batch_size=cfg.batch_size, seed=cfg.seed + t)
        train_log = self.timer.call("train", dpo_round, policy, reference, tok, pairs, settings)
        previous = m0 if single or t == 1 else self._policy(arm, t - 1).eval()
        metrics = self.evaluate(policy, previous)
        return {"arm": arm, "iteration": cfg.iterations if single else t, **metrics,
                "train": train_log, **log, "_policy": policy}

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
        _quiet_libraries()
        start = time.perf_counter()
        with self._autocast():
            baseline = self.store.baseline(lambda: {"metrics": self.evaluate(self._initial()[0])})
            steps = [(arm, t) for arm in todo
                     for t in ([1] if arm == "single_step" else range(1, cfg.iterations + 1))]
            for arm, t in tqdm(steps, desc="self-rewarding rounds", **parallel.quiet()):
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
        return {"baseline": baseline["metrics"], "arms": arms, "precision": self.precision,
                "stage_seconds": self.stage_seconds,
                "wall_seconds_this_run": time.perf_counter() - start}


def _quiet_libraries() -> None:
    """One bar per stage: no progress bars from the libraries underneath (the datasets
    TRL builds, the checkpoint shards transformers writes)."""
    from datasets.utils.logging import disable_progress_bar as datasets_quiet
    from transformers.utils.logging import disable_progress_bar as transformers_quiet

    datasets_quiet()
    transformers_quiet()
