"""Controlled signal share on a real language model: is the contraction (1 - gamma alpha)^t
of the book's model visible in SmolLM2-135M-Instruct?

The theory's objects made exact on a network (chapter "Controlled signal share"):

* the finite response set: the stored pool ``lm-pool`` (:mod:`srlm_core.lm.pool`), K
  finished answers per prompt with checker verdicts g;
* the self-judge r_t = alpha c g + (1 - alpha) h_t with h_t = log pi_t - log pi_0 on the
  stored token ids, alpha set by us (:mod:`srlm_core.lm.controlled_judge`);
* the population DPO round: soft labels on all within-prompt pairs, beta = 1, whose exact
  minimiser is S1's update, run for a fixed budget of epochs (:mod:`srlm_core.lm.soft_dpo`)
  on the top blocks of the network (:mod:`srlm_core.lm.top_blocks`); the share gamma of each
  round's target it reaches is measured, not assumed;
* the observable E_t = RMS over prompts of the within-prompt-centred h_t - c g.

An *arm* is one alpha with its number of rounds, its reference (``fixed`` pi_0 or ``moving``
pi_t; the self-preference is always measured against pi_0), its labels (``soft`` or one
``bernoulli`` draw per pair and round) and an epoch factor (the single step with matched
compute is one round of ``epoch_factor x epochs`` epochs).  Every arm starts from pi_0.

:func:`run` trains every arm (resumable: each finished round is a checkpoint in ``workdir``)
and returns the raw measurements: h_t of every pool answer after every round, the training
log, and sampled pass rates at the end.  :mod:`srlm_core.experiments.controlled_alpha_analysis`
turns them into E_t, the calibration gamma-hat, the predictions P1-P4 and their verdicts.
Launched over N processes (``torchrun``), each training step's prompts are split over the ranks
(:func:`srlm_core.lm.soft_dpo.train_round`) and sampling is sharded; rank 0 alone writes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from srlm_core import parallel
from srlm_core.errors import (
    ConfigError,
    is_lowercase_name,
    require,
    require_at_least,
    require_one_of,
    require_positive,
)
from srlm_core.lm.checkpoints import CheckpointStore
from srlm_core.lm.model_loading import model_provenance
from srlm_core.lm.stage_timer import StageTimer
from srlm_core.options import option
from srlm_core.publishing.results import write_atomic, write_json_atomic

TITLE = "Controlled signal share on SmolLM2-135M-Instruct: log-ratio error E_t per round"
TOLERANCE = {"rtol": 0.02, "atol": 0.02}
CODE = ("srlm_core/lm/top_blocks.py", "srlm_core/lm/soft_dpo.py",
        "srlm_core/lm/controlled_judge.py")
#: The record's provenance names the model.
provenance = model_provenance
REFERENCES = ("fixed", "moving")


@dataclass(frozen=True)
class Arm:
    """One self-rewarding run on the pool."""

    name: str = "alpha-0.5"
    alpha: float = 0.5
    rounds: int = 4
    reference: str = "fixed"
    labels: str = "soft"
    epoch_factor: int = 1

    def validate(self) -> Arm:
        from srlm_core.lm.controlled_judge import LABELS

        require(self, ("alpha", 0.0 <= self.alpha <= 1.0, "must be in [0, 1]"))
        require_at_least(self, 1, "rounds", "epoch_factor")
        require_one_of(self, "reference", REFERENCES)
        require_one_of(self, "labels", LABELS)
        require(self, ("name", bool(self.name) and all(ch.isalnum() or ch in "-_."
                                                       for ch in self.name),
                       "use letters, digits, -, _ and . only"))
        return self


@dataclass(frozen=True)
class Config:
    """The pool subset, the judge's scale c, the optimiser and the arms."""

    name: str = option("lm-alpha-small", "run name (lowercase): the record's ID")
    pool: str = option("lm-pool", "result ID of the response pool")
    model: str = option("smollm2-135m-instruct",
                        "smollm2-135m-instruct, tiny-random or a checkpoint folder")
    train_prompts: int = option(8, "first training prompts of the pool trained on")
    eval_prompts: int = option(4, "held-out prompts of the pool measured")
    scale: float = option(2.0, "the judge's scale c")
    beta: float = option(1.0, "KL strength beta of the soft-label DPO round")
    trainable_blocks: int = option(1, "top decoder blocks trained")
    learning_rate: float = option(2e-5, "learning rate of a round")
    epochs: int = option(5, "epochs of a round")
    prompts_per_step: int = option(2, "prompts per optimiser step")
    sample_prompts: int = option(0, "held-out prompts sampled for pass rates at the end (0: none)")
    samples_per_prompt: int = option(4, "answers sampled per such prompt")
    max_new_tokens: int = option(128, "length limit of the sampled answers in tokens")
    seed: int = option(0, "seed of the training and the sampling")
    device: str = option("cpu", "cpu, cuda or auto")
    arms: tuple = option((Arm("alpha-1", 1.0, 1), Arm("alpha-0.5", 0.5, 3)),
                         "the arms, as [[arms]] tables of the config file: name, alpha, rounds, "
                         "reference (fixed or moving), labels (soft or bernoulli), epoch_factor")

    def validate(self) -> Config:
        from srlm_core.device import DEVICE_CHOICES
        from srlm_core.lm.model_loading import require_model

        require_at_least(self, 1, "train_prompts", "trainable_blocks", "epochs",
                         "prompts_per_step", "samples_per_prompt", "max_new_tokens")
        require_at_least(self, 0, "eval_prompts", "sample_prompts", "seed")
        require_positive(self, "scale", "beta", "learning_rate")
        require_model(self)
        require_one_of(self, "device", DEVICE_CHOICES)
        names = [arm.validate().name for arm in self.arms]
        require(self, ("arms", bool(names), "at least one arm is needed"),
                ("arms", len(set(names)) == len(names), "arm names must be distinct"),
                ("name", is_lowercase_name(self.name), "use lowercase letters, digits, - and _"))
        return self

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["arms"] = [dataclasses.asdict(arm) for arm in self.arms]
        return out


def load(path: Path | str, **overrides) -> Config:
    """A validated :class:`Config` from a TOML file (arms as ``[[arms]]`` tables)."""
    from srlm_core.config_file import load_config

    return load_config(path, Config, **overrides)


class ControlledAlphaRunner:
    """Trains (or resumes) every arm of ``config``; checkpoints live in ``workdir``."""

    def __init__(self, config: Config, workdir: Path | str, pool=None, progress: bool = True):
        from srlm_core.device import resolve_device
        from srlm_core.lm.pool import load_pool

        self.config = config.validate()
        self.device = resolve_device(config.device)
        self.workdir = Path(workdir)
        self.progress = progress
        self.pool = pool if pool is not None else load_pool(config.pool)
        train = self.pool.split("train")
        if config.train_prompts > len(train):
            raise ConfigError("train_prompts", f"the pool has {len(train)} training prompts, "
                                               f"asked for {config.train_prompts}")
        held = self.pool.split("heldout") + self.pool.split("no_pass")
        if config.eval_prompts > len(held):
            raise ConfigError("eval_prompts", f"the pool has {len(held)} held-out prompts, "
                                              f"asked for {config.eval_prompts}")
        if config.sample_prompts > len(held):
            raise ConfigError("sample_prompts", f"the pool has {len(held)} held-out prompts")
        self.train = train[:config.train_prompts]
        self.held = held[:max(config.eval_prompts, config.sample_prompts)]
        self.prompts = self.train + self.held[:config.eval_prompts]
        self.groups, flat = [], 0
        for prompt in self.prompts:
            self.groups.append(list(range(flat, flat + len(prompt["answers"]))))
            flat += len(prompt["answers"])
        self.timer = StageTimer()
        self._policy = None
        self._model = None
        self._logp0 = None

    @property
    def seconds(self) -> dict[str, float]:
        """Wall seconds per stage of this process (timings are not part of the values)."""
        return self.timer.seconds

    # -- set-up ---------------------------------------------------------------------------
    def _load(self):
        if self._policy is None:
            import torch

            from srlm_core.lm.model_loading import load_model
            from srlm_core.lm.top_blocks import PoolSequences, TopBlocksPolicy

            torch.manual_seed(self.config.seed)
            model, tokenizer = self.timer.call("load_model", load_model, self.config.model,
                                           device=self.device, seed=self.config.seed)
            pool = self.pool.for_tokenizer(tokenizer, self.config.model)
            if pool is not self.pool:  # a brought model: the same answers in its tokens
                by_id = {p["id"]: p for p in pool.prompts}
                self.prompts = [by_id[p["id"]] for p in self.prompts]
                self.train = self.prompts[:len(self.train)]
                self.held = [by_id[p["id"]] for p in self.held]
            sequences = PoolSequences.build(
                tokenizer, [p["instruction"] for p in self.prompts for _ in p["answers"]],
                [a["ids"] for p in self.prompts for a in p["answers"]])
            self._policy = self.timer.call("cache_frozen", TopBlocksPolicy, model, sequences,
                                       self.config.trainable_blocks,
                                       progress=self.progress and parallel.is_main())
            self._model, self._tokenizer = model, tokenizer
            self._logp0 = self.timer.call("evaluate", self._policy.all_logprobs)
        return self._policy

    def _arm_dir(self, arm: Arm) -> Path:
        return self.workdir / arm.name

    def _check_workdir(self) -> None:
        """Claim the work folder for this config (any device): the checkpoint store's rule."""
        CheckpointStore(self.workdir).claim({**self.config.to_dict(), "device": None})

    # -- one round ------------------------------------------------------------------------
    def _labels(self, arm: Arm, t: int, h):
        import torch

        from srlm_core.lm.controlled_judge import bernoulli_labels, judge_rewards, soft_labels

        digest = hashlib.sha256(f"{self.config.seed}:{arm.name}:{t}".encode()).hexdigest()
        generator = torch.Generator().manual_seed(int(digest[:12], 16))
        labels = []
        for k in range(len(self.train)):
            index = self.groups[k]
            g = torch.tensor([a["g"] for a in self.prompts[k]["answers"]], dtype=torch.float64)
            p = soft_labels(judge_rewards(g, h[index], arm.alpha, self.config.scale))
            labels.append(bernoulli_labels(p, generator) if arm.labels == "bernoulli" else p)
        return labels

    def _round(self, arm: Arm, t: int, logp_prev):
        """Round t of ``arm`` from pi_{t-1} (log-probs ``logp_prev``); returns the round's
        checkpoint (trainable state, log-probs after the round, training log)."""
        from srlm_core.lm.soft_dpo import SoftDPOSettings, train_round

        policy = self._load()
        h_prev = logp_prev - self._logp0
        labels = self._labels(arm, t, h_prev)
        reference = self._logp0 if arm.reference == "fixed" else logp_prev
        settings = SoftDPOSettings(
            beta=self.config.beta, learning_rate=self.config.learning_rate,
            epochs=self.config.epochs * arm.epoch_factor,
            prompts_per_step=self.config.prompts_per_step, seed=self.config.seed + t)
        log = self.timer.call("train", train_round, policy, self.groups[:len(self.train)], labels,
                          reference, settings)
        logp = self.timer.call("evaluate", policy.all_logprobs)
        return {"state": policy.state(), "logp": logp, "log": log}

    def _sampled_pass_rates(self, arm: Arm) -> dict:
        """Pass rate of answers sampled from the arm's final policy on held-out prompts (a cut
        answer fails)."""
        from srlm_core.lm import diagnostics as diag
        from srlm_core.lm.checkers import passes

        cfg = self.config
        prompts = self.held[:cfg.sample_prompts]
        full = self._policy.export(self._model)
        drawn = self.timer.call("sample", diag.generate, full, self._tokenizer,
                            [p["instruction"] for p in prompts], cfg.samples_per_prompt,
                            cfg.max_new_tokens, 1.0, cfg.seed + 104729, batch_size=64)
        del full
        return {"prompt_ids": [p["id"] for p in prompts],
                "pass_rate": [sum(r.finished and passes(p["constraints"], r) for r in rows)
                              / len(rows) for p, rows in zip(prompts, drawn, strict=True)],
                "finished": [sum(r.finished for r in rows) / len(rows) for rows in drawn]}

    def _pi0_sampled(self) -> dict:
        """pi_0's sampled pass rate on the sampled held-out prompts, from the pool's scan."""
        rates = {s["id"]: s["sampled_pass_rate"] for s in self.pool.scan}
        ids = [p["id"] for p in self.held[:self.config.sample_prompts]]
        return {"prompt_ids": ids, "pass_rate": [rates.get(i) for i in ids]}

    # -- driver ---------------------------------------------------------------------------
    def run_arm(self, arm: Arm) -> dict:
        import torch
        from tqdm import tqdm

        policy = self._load()
        folder = self._arm_dir(arm)
        folder.mkdir(parents=True, exist_ok=True)
        logp, rows, logs, previous = self._logp0, [], [], None
        for t in tqdm(range(1, arm.rounds + 1), desc=arm.name, leave=False,
                      disable=not (self.progress and parallel.is_main())):
            path = folder / f"round_{t}.pt"
            if path.exists():
                try:
                    checkpoint = torch.load(path, weights_only=True)
                except Exception as err:  # a corrupt checkpoint is never used
                    raise ConfigError("workdir", f"{path} is unreadable ({type(err).__name__});"
                                      " delete it to recompute that round") from None
            else:
                if previous is None:
                    policy.reset()
                else:
                    policy.load_state(previous["state"])
                checkpoint = self._round(arm, t, logp)
                if parallel.is_main():
                    write_atomic(path, lambda p, c=checkpoint: torch.save(c, p))
                parallel.barrier()
            previous, logp = checkpoint, checkpoint["logp"]
            rows.append((logp - self._logp0).tolist())
            logs.append(checkpoint["log"])
        self.seconds[f"train {arm.name}"] = sum(log["seconds"] for log in logs)
        out = {**dataclasses.asdict(arm), "h": [[0.0] * len(self._logp0), *rows],
               "epoch_loss": [log["epoch_loss"] for log in logs]}
        if self.config.sample_prompts:
            sampled = folder / "sampled.json"
            if sampled.exists():
                out["sampled"] = json.loads(sampled.read_text())
            else:
                policy.load_state(previous["state"])
                out["sampled"] = self._sampled_pass_rates(arm)
                if parallel.is_main():
                    write_json_atomic(sampled, out["sampled"])
                parallel.barrier()
        return out

    def run(self, arms=None) -> dict:
        """Run (or resume) ``arms`` (names; default all) and return the raw measurements
        (timings, which vary from run to run, are in :attr:`seconds`, not in the values)."""
        self._check_workdir()
        todo = [a for a in self.config.arms if arms is None or a.name in arms]
        results = {arm.name: self.run_arm(arm) for arm in todo}
        answers = [(p, a) for p in self.prompts for a in p["answers"]]
        return {
            "pool": {
                "prompt_ids": [p["id"] for p in self.prompts],
                "split": [p["split"] for p in self.prompts],
                "sizes": [len(p["answers"]) for p in self.prompts],
                "g": [a["g"] for _, a in answers],
                "edited": [a["source"] == "edited" for _, a in answers],
                "logp0": self._logp0.tolist(),
                "logp0_stored_max_abs_diff": float(max(
                    abs(x - a["logp0"]) for x, (_, a) in zip(self._logp0.tolist(), answers,
                                                              strict=True))),
                "pi0_sampled": self._pi0_sampled(),
            },
            "arms": results,
        }


def run(config: Config, workdir: Path | str | None = None, progress: bool = False) -> dict:
    """Train every arm of ``config`` (in a temporary folder unless ``workdir`` is given); the
    wall seconds per stage under ``timings`` (a record keeps them in its provenance)."""
    import tempfile

    def measured(folder) -> dict:
        runner = ControlledAlphaRunner(config, folder, progress=progress)
        return {**runner.run(), "timings": runner.seconds}

    if workdir is not None:
        return measured(workdir)
    with tempfile.TemporaryDirectory(prefix="srlm-alpha-") as folder:
        return measured(folder)
