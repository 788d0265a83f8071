r"""The paper's own loop on a real language model: self-reward by sequence likelihood.

Fu et al.'s loop, as stated: the policy :math:`\pi_t` is the model at sampling temperature
:math:`\tau` with answers of at most ``max_new_tokens`` tokens
(:mod:`srlm_core.lm.sequence_likelihood`).  Each round

1. draws ``pairs`` pairs of answers :math:`(y, y')` from :math:`\pi_t` for every training
   prompt (:mod:`srlm_core.lm.short_answers`);
2. labels each pair with :math:`r_t(y)-r_t(y')`, :math:`r_t=\log\pi_t(y\mid x)`, computed by
   a frozen copy of :math:`\pi_t`, which is also the round's reference;
3. minimises the squared loss of Eq. 3,
   :math:`(\beta[\log\tfrac{\pi(y)}{\pi_t(y)}-\log\tfrac{\pi(y')}{\pi_t(y')}]-[r_t(y)-r_t(y')])^2`
   (:func:`pair_loss`), by Adam for ``epochs`` epochs on the top ``trainable_blocks`` blocks
   (:mod:`srlm_core.lm.top_blocks`; the lower blocks stay those of :math:`\pi_0`), and
   measures how close it got (the residual share of the loss and the fitted slope of the new
   log-ratio differences, whose exact value is :math:`1/\beta`);
4. the next round samples from the trained network.

Before each round and after the last, :meth:`LikelihoodLoop.evaluate` measures :math:`\pi_t`
on every training and held-out prompt: the greedy answer and its exact probability,
:math:`\pi_t` of :math:`\pi_0`'s greedy answer, a beam estimate of the mode on the first
``beam_prompts`` prompts, correctness against the exact answers (greedy and sampled) and
answer lengths.

*Arms* (:func:`arms`): the iterated loop for every seed (unless ``main`` is false); with
``single_step``, one round of ``rounds x pairs`` pairs at the same :math:`\beta` and at the
matched :math:`\beta'` with :math:`1+1/\beta'=(1+1/\beta)^T`; the iterated loop at every
other temperature of ``taus`` and every other pair count of ``pair_counts`` (first seed).
:func:`run` is resumable: each round is a checkpoint in the work folder.  The analysis
module :mod:`srlm_core.experiments.sharpening.likelihood_self_reward_analysis` turns the values into
the chapter's numbers, figures and verdicts.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path

from srlm_core.errors import (
    ConfigError,
    is_lowercase_name,
    require,
    require_at_least,
    require_positive,
)
from srlm_core.lm.checkpoints import CheckpointStore
from srlm_core.lm.model_loading import model_provenance
from srlm_core.options import option
from srlm_core.publishing.results import write_atomic

TITLE = ("The paper's loop on SmolLM2-135M-Instruct: self-reward log pi_t, squared loss against "
         "pi_t, kappa-hat and confidence per round")
#: Sampled tokens can flip under floating-point differences between machines; the
#: comparison of a re-run is therefore loose.
TOLERANCE = {"rtol": 0.05, "atol": 0.05}
CODE = ("srlm_core/lm/sequence_likelihood.py", "srlm_core/lm/short_answers.py",
        "srlm_core/lm/top_blocks.py")
#: The record's provenance names the model.
provenance = model_provenance


@dataclass(frozen=True)
class Config:
    """The prompts, the policy's temperature, the loop, the training budget and the arms."""

    name: str = option("lm-likelihood-small", "run name (lowercase)")
    model: str = option("smollm2-135m-instruct",
                        "smollm2-135m-instruct, tiny-random or a checkpoint folder")
    train_prompts: int = option(3, "training prompts (the loop samples and trains on these)")
    heldout_prompts: int = option(1, "held-out prompts (measured, never trained on)")
    prompt_seed: int = option(0, "seed of the prompt generator")
    tau: float = option(1.0, "sampling temperature of pi_t (part of the policy)")
    beta: float = option(1.0, "KL strength beta of Eq. 2-3")
    rounds: int = option(2, "rounds T of the iterated loop")
    pairs: int = option(1, "pairs per training prompt per round (n = pairs x train_prompts)")
    seeds: tuple = option((0,), "training seeds of the iterated loop (sampling and batch order)")
    main: bool = option(True, "run the iterated loop at tau and pairs for every seed")
    single_step: bool = option(False,
                               "also run one round of T x pairs at beta and at matched beta'")
    taus: tuple = option((1.0,), "temperatures of the tau sweep (iterated loop, first seed)")
    pair_counts: tuple = option((1,), "pair counts of the n comparison (iterated loop, first seed)")
    max_new_tokens: int = option(12, "answer length limit H in tokens (end-of-turn included)")
    beams: int = option(2, "beam width of the mode estimate")
    beam_prompts: int = option(1, "prompts (training ones first) with a beam estimate")
    samples: int = option(1, "answers sampled per held-out prompt per round (sampled accuracy)")
    trainable_blocks: int = option(2, "top decoder blocks trained (plus the final norm)")
    learning_rate: float = option(3e-4, "Adam learning rate (linear decay to 0 within a round)")
    epochs: int = option(4, "epochs over the round's pairs")
    pairs_per_step: int = option(1, "pairs per optimiser step")
    device: str = option("cpu", "cpu, cuda or auto")

    def validate(self) -> Config:
        from srlm_core.device import DEVICE_CHOICES
        from srlm_core.lm.model_loading import require_model

        require_at_least(self, 1, "train_prompts", "rounds", "pairs", "max_new_tokens", "beams",
                         "trainable_blocks", "epochs", "pairs_per_step")
        require_at_least(self, 0, "heldout_prompts", "prompt_seed", "beam_prompts", "samples")
        require_positive(self, "tau", "beta", "learning_rate")
        require(self,
                ("name", is_lowercase_name(self.name), "use lowercase letters, digits, - and _"),
                ("seeds", bool(self.seeds) and all(isinstance(s, int) and s >= 0
                                                   for s in self.seeds)
                 and len(set(self.seeds)) == len(self.seeds),
                 "must be distinct non-negative integers"),
                ("taus", bool(self.taus) and all(0 < t < 10 for t in self.taus),
                 "must be temperatures in (0, 10)"),
                ("pair_counts", bool(self.pair_counts) and all(
                    isinstance(m, int) and m >= 1 for m in self.pair_counts),
                 "must be positive integers"),
                ("beam_prompts", self.beam_prompts <= self.train_prompts + self.heldout_prompts,
                 "must not exceed the number of prompts"),
                ("device", self.device in DEVICE_CHOICES,
                 f"must be one of {', '.join(DEVICE_CHOICES)}"))
        require_model(self)
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Arm:
    """One run of the loop from pi_0."""

    name: str
    tau: float
    beta: float
    rounds: int
    pairs: int
    seed: int


def matched_beta(beta: float, rounds: int) -> float:
    """beta' of one step equal in the population to ``rounds`` steps at ``beta``:
    1 + 1/beta' = (1 + 1/beta)^rounds."""
    return 1.0 / ((1.0 + 1.0 / beta) ** rounds - 1.0)


def arms(config: Config) -> list[Arm]:
    """The arms of ``config`` (see the module docstring), iterated ones first."""
    c = config
    out = [Arm(f"iterate-s{s}", c.tau, c.beta, c.rounds, c.pairs, s) for s in c.seeds
           if c.main]
    first = c.seeds[0]
    if c.single_step:
        out.append(Arm("one-step", c.tau, c.beta, 1, c.pairs * c.rounds, first))
        out.append(Arm("matched", c.tau, matched_beta(c.beta, c.rounds), 1,
                       c.pairs * c.rounds, first))
    out += [Arm(f"tau-{t:g}", t, c.beta, c.rounds, c.pairs, first) for t in c.taus
            if t != c.tau]
    out += [Arm(f"pairs-{m}", c.tau, c.beta, c.rounds, m, first) for m in c.pair_counts
            if m != c.pairs]
    return out


def pair_loss(logp, reference, beta: float):
    r"""Eq. 3 on pairs: ``logp`` and ``reference`` are (pairs, 2) tensors of log pi(y) and
    log pi_t(y) for (y, y'); returns the per-pair squared residuals
    :math:`(\beta[(\ell-\ell_t)(y)-(\ell-\ell_t)(y')]-[\ell_t(y)-\ell_t(y')])^2`, with
    :math:`r_t=\ell_t=\log\pi_t`."""
    ratio = logp - reference
    label = reference[:, 0] - reference[:, 1]
    return (beta * (ratio[:, 0] - ratio[:, 1]) - label) ** 2


def _seed(*parts) -> int:
    return int(hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:12], 16)


class LikelihoodLoop:
    """Runs (or resumes) the arms of ``config``; checkpoints live in ``workdir``."""

    def __init__(self, config: Config, workdir: Path | str):
        from srlm_core.device import resolve_device
        from srlm_core.lm.short_answers import build_prompts

        self.config = config.validate()
        self.device = resolve_device(config.device)
        self.workdir = Path(workdir)
        self.prompts = build_prompts(config.train_prompts, config.heldout_prompts,
                                     config.prompt_seed)
        self.train = [p for p in self.prompts if p["split"] == "train"]
        self.prompts = self.train + [p for p in self.prompts if p["split"] == "heldout"]
        self.heldout = self.prompts[len(self.train):]
        self.instructions = [p["instruction"] for p in self.prompts]
        self._model = None
        self._tokenizer = None

    # -- the model ------------------------------------------------------------------------
    def _load(self):
        if self._model is None:
            import torch
            from transformers.utils.logging import disable_progress_bar

            from srlm_core.lm.model_loading import load_model

            disable_progress_bar()  # the weight-loading bar would land in the chapter
            torch.manual_seed(0)
            self._model, self._tokenizer = load_model(self.config.model, device=self.device)
        return self._model, self._tokenizer

    def _policy_model(self, state: dict | None):
        """The full network of pi_t: pi_0 with the trained top blocks ``state``."""
        model, _ = self._load()
        if state is None:
            return model
        full = copy.deepcopy(model).eval()
        full.load_state_dict(state, strict=False)
        return full

    # -- measurements ---------------------------------------------------------------------
    def evaluate(self, state: dict | None, tau: float, seed: int, base: dict | None) -> dict:
        """Everything measured of pi_t (``state``) on all prompts; ``base`` is pi_0's
        evaluation (None when this is pi_0)."""
        from srlm_core.lm import sequence_likelihood as sl
        from srlm_core.lm.short_answers import is_correct

        cfg = self.config
        model = self._policy_model(state)
        tok = self._tokenizer
        greedy = sl.greedy(model, tok, self.instructions, cfg.max_new_tokens)
        base_ids = [g.ids for g in greedy] if base is None else base["greedy_ids"]
        base_answers = greedy if base is None else [
            sl.response("", True, ids) for ids in base_ids]
        logp = sl.logprobs(model, tok, self.instructions, greedy, tau)
        base_logp = logp if base is None else sl.logprobs(model, tok, self.instructions,
                                                          base_answers, tau)
        k = cfg.beam_prompts
        beams = sl.beam(model, tok, self.instructions[:k], cfg.beams, cfg.max_new_tokens, tau)
        beam_logp = sl.logprobs(model, tok, [i for i, row in zip(self.instructions, beams)
                                             for _ in row], [b for row in beams for b in row], tau)
        best, second = [], []
        for j, row in enumerate(beams):
            scores: dict[tuple, float] = {tuple(greedy[j].ids): logp[j]}
            for b, value in zip(row, beam_logp[sum(map(len, beams[:j])):], strict=False):
                scores[tuple(b.ids)] = value
            ranked = sorted(scores.values(), reverse=True)
            best.append(ranked[0])
            second.append(ranked[1] if len(ranked) > 1 else None)
        held = [p["instruction"] for p in self.heldout]
        drawn = sl.sample(model, tok, held, cfg.samples, cfg.max_new_tokens, tau,
                          _seed("heldout", seed, tau)) if cfg.samples and held else []
        return {
            "greedy_ids": [g.ids for g in greedy],
            "greedy_text": [str(g) for g in greedy],
            "greedy_logp": logp,
            "greedy_len": [len(g.ids) for g in greedy],
            "greedy_finished": [g.finished for g in greedy],
            "greedy_correct": [is_correct(p["kind"], p["answer"], g)
                               for p, g in zip(self.prompts, greedy, strict=True)],
            "base_logp": base_logp,
            "agree_base": [g.ids == b for g, b in zip(greedy, base_ids, strict=True)],
            "beam_best_logp": best,
            "beam_second_logp": second,
            "heldout_sampled_correct": [
                sum(is_correct(p["kind"], p["answer"], a) for a in row) / len(row)
                for p, row in zip(self.heldout, drawn, strict=True)],
            "heldout_sampled_len": [sum(len(a.ids) for a in row) / len(row) for row in drawn],
        }

    # -- one round of training ------------------------------------------------------------
    def train_round(self, state: dict | None, arm: Arm, t: int) -> tuple[dict, dict]:
        """Sample pairs from pi_t, label them by log pi_t, minimise Eq. 3; returns the
        trained blocks (pi_{t+1}) and the round's log."""
        import torch

        from srlm_core.lm import sequence_likelihood as sl
        from srlm_core.lm.short_answers import is_correct
        from srlm_core.lm.top_blocks import PoolSequences, TopBlocksPolicy

        cfg = self.config
        model, tok = self._load()
        sampler = self._policy_model(state)
        train_ins = [p["instruction"] for p in self.train]
        drawn = sl.sample(sampler, tok, train_ins, 2 * arm.pairs, cfg.max_new_tokens, arm.tau,
                          _seed("pairs", arm.seed, arm.tau, arm.pairs, t))
        del sampler
        answers = [a for row in drawn for a in row]
        sequences = PoolSequences.build(
            tok, [i for i, row in zip(train_ins, drawn, strict=True) for _ in row],
            [a.ids for a in answers])
        policy = TopBlocksPolicy(model, sequences, cfg.trainable_blocks, temperature=arm.tau)
        if state is not None:
            policy.load_state(state)
        reference = policy.all_logprobs().float().view(-1, 2)  # log pi_t = r_t, frozen
        n_pairs = reference.shape[0]
        params = policy.parameters()
        optimiser = torch.optim.Adam(params, lr=cfg.learning_rate)
        steps_per_epoch = -(-n_pairs // cfg.pairs_per_step)
        total = cfg.epochs * steps_per_epoch
        schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: 1 - s / total)
        generator = torch.Generator().manual_seed(_seed("order", arm.seed, t, arm.name))
        epoch_loss = []
        policy.model.train()
        for _ in range(cfg.epochs):
            order = torch.randperm(n_pairs, generator=generator).tolist()
            running = 0.0
            for start in range(0, n_pairs, cfg.pairs_per_step):
                batch = order[start:start + cfg.pairs_per_step]
                index = [2 * i + j for i in batch for j in (0, 1)]
                logp = policy.logprobs(index).view(-1, 2)
                loss = pair_loss(logp, reference[batch], arm.beta).mean()
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                schedule.step()
                running += loss.item() * len(batch)
            epoch_loss.append(running / n_pairs)
        policy.model.eval()
        after = policy.all_logprobs().float().view(-1, 2)
        label = reference[:, 0] - reference[:, 1]
        moved = (after[:, 0] - after[:, 1]) - label  # the new log-ratio difference
        informative = label.abs() > 0
        slope = (float((moved * label).sum() / (label * label).sum())
                 if bool(informative.any()) else None)
        log = {
            "pairs": n_pairs,
            "identical_pairs": int((~informative).sum()),
            "mean_abs_label": float(label.abs().mean()),
            "loss_start": float(pair_loss(reference, reference, arm.beta).mean()),
            "loss_end": float(pair_loss(after, reference, arm.beta).mean()),
            "epoch_loss": epoch_loss,
            "slope": slope,
            "target_slope": 1.0 / arm.beta,
            "sampled_correct": [sum(is_correct(p["kind"], p["answer"], a) for a in row)
                                / len(row) for p, row in zip(self.train, drawn, strict=True)],
            "sampled_len": [sum(len(a.ids) for a in row) / len(row) for row in drawn],
            "sampled_finished": [sum(a.finished for a in row) / len(row) for row in drawn],
        }
        return policy.state(), log

    # -- driver ---------------------------------------------------------------------------
    def _base(self, tau: float) -> dict:
        """pi_0's evaluation at ``tau`` (shared by every arm at that temperature)."""
        import torch

        path = self.workdir / f"base-tau{tau:g}.pt"
        if path.exists():
            return torch.load(path, weights_only=False)
        base = self.evaluate(None, tau, 0, None)
        write_atomic(path, lambda p: torch.save(base, p))
        return base

    def run_arm(self, arm: Arm) -> dict:
        import torch

        base = self._base(arm.tau)
        folder = self.workdir / arm.name
        folder.mkdir(parents=True, exist_ok=True)
        state, rounds = None, [{"eval": base}]
        for t in range(arm.rounds):
            path = folder / f"round_{t + 1}.pt"
            if path.exists():
                try:
                    checkpoint = torch.load(path, weights_only=False)
                except Exception as err:  # a corrupt checkpoint is never used
                    raise ConfigError("workdir", f"{path} is unreadable ({type(err).__name__})"
                                      "; delete it to recompute that round") from None
            else:
                new_state, log = self.train_round(state, arm, t)
                checkpoint = {"state": new_state, "train": log,
                              "eval": self.evaluate(new_state, arm.tau, arm.seed + t + 1,
                                                    base)}
                write_atomic(path, lambda p, c=checkpoint: torch.save(c, p))
            state = checkpoint["state"]
            rounds[-1]["train"] = checkpoint["train"]
            rounds.append({"eval": checkpoint["eval"]})
        return {**dataclasses.asdict(arm), "rounds": rounds}

    def run(self) -> dict:
        import json

        claim = json.loads(json.dumps({**self.config.to_dict(), "device": None}))
        CheckpointStore(self.workdir).claim(claim)  # tuples as the stored JSON lists
        return {
            "prompts": [{k: p[k] for k in ("id", "kind", "split", "answer", "instruction")}
                        for p in self.prompts],
            "config": self.config.to_dict(),
            "arms": {arm.name: self.run_arm(arm) for arm in arms(self.config)},
        }


def run(config: Config, workdir: Path | str | None = None) -> dict:
    """Every arm of ``config`` (in a temporary folder unless ``workdir`` is given)."""
    import tempfile

    if workdir is not None:
        return LikelihoodLoop(config, workdir).run()
    with tempfile.TemporaryDirectory(prefix="srlm-likelihood-") as folder:
        return LikelihoodLoop(config, folder).run()
