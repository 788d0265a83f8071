"""The fixed response pool of the controlled-alpha experiment: the model world's finite set of
K responses per prompt, made of real SmolLM2 answers.

For every scanned prompt, ``samples`` answers are drawn from pi_0 at ``temperature`` with up to
``max_new_tokens`` new tokens; only *finished* answers (ending in the end-of-turn token) are
answers.  A prompt keeps K of them, about half passing its checker (g = 1) and half failing
(g = 0).  Where sampling alone cannot give a prompt both verdicts, answers of one verdict are
edited into the other (:mod:`srlm_core.lm.edits`); each answer records whether it was sampled
or edited.  Training prompts with the fewest edited answers are kept first.  The held-out
part has prompts with both verdicts and a few with no passing sample at all (left unedited).

Every answer is stored with its exact token ids (the sampled ones, or the edited text's
tokens followed by the end-of-turn token), its verdict g and log pi_0(y|x).  ``srlm run
lm-pool`` (or its alias ``srlm lm pool``) writes the pool as the result record ``lm-pool``:
checksummed, with its provenance and the command that made it; :mod:`srlm_core.lm.pool` reads
it back.
"""

from __future__ import annotations

from dataclasses import dataclass

from srlm_core.errors import (
    ConfigError,
    require,
    require_at_least,
    require_one_of,
    require_positive,
)
from srlm_core.lm.checkers import passes
from srlm_core.lm.model_loading import model_provenance
from srlm_core.options import option

TITLE = "Response pool of SmolLM2-135M-Instruct answers with checker verdicts (controlled alpha)"
TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}
CODE = ("srlm_core/lm/edits.py",)
#: The record's provenance names the model.
provenance = model_provenance


@dataclass(frozen=True)
class Config:
    """What to sample and how many prompts and answers to keep."""

    model: str = option("smollm2-135m-instruct",
                        "smollm2-135m-instruct, tiny-random or a checkpoint folder")
    seed: int = option(0, "seed of the sampling")
    samples: int = option(16, "answers sampled per scanned prompt")
    max_new_tokens: int = option(128, "answer length limit in tokens")
    temperature: float = option(1.0, "sampling temperature")
    answers: int = option(6,
                          "answers K kept per prompt, half passing and half failing (at least 4)")
    train_scan: int = option(36, "training prompts scanned")
    train_keep: int = option(24, "training prompts kept (fewest edited answers first)")
    heldout_scan: int = option(22, "held-out prompts scanned")
    heldout_keep: int = option(16, "held-out prompts kept with both verdicts")
    heldout_no_pass: int = option(4, "held-out prompts kept with no passing sample (left unedited)")
    device: str = option("cpu", "cpu, cuda or auto")

    def validate(self) -> Config:
        from srlm_core.device import DEVICE_CHOICES
        from srlm_core.lm.model_loading import require_model

        require_at_least(self, 1, "samples", "max_new_tokens", "train_scan", "train_keep",
                         "heldout_scan")
        require_at_least(self, 4, "answers")  # two of each verdict
        require_at_least(self, 0, "heldout_keep", "heldout_no_pass", "seed")
        require(
            self,
            ("train_keep", self.train_keep <= self.train_scan,
             f"must be at most train_scan ({self.train_scan})"),
            ("heldout_keep", self.heldout_keep + self.heldout_no_pass <= self.heldout_scan,
             f"plus heldout_no_pass must be at most heldout_scan ({self.heldout_scan})"),
        )
        require_positive(self, "temperature")
        require_model(self)
        require_one_of(self, "device", DEVICE_CHOICES)
        return self


def _answer(text: str, ids: list[int], g: bool, source: str, edit: str | None = None) -> dict:
    return {"text": text, "ids": ids, "g": int(g), "source": source, "edit": edit}


def select_answers(constraints, finished, k: int, allow_edits: bool = True) -> list[dict] | None:
    """K answers for one prompt from its finished samples ``[(text, ids)]``: half passing, half
    failing, sampled ones first, edited ones (token ids left empty, to be filled by the
    caller's tokenizer) only where sampling gave too few; None when that is not possible."""
    from srlm_core.lm.edits import flip

    passing = [(t, i) for t, i in finished if passes(constraints, t)]
    failing = [(t, i) for t, i in finished if not passes(constraints, t)]
    want_pass = k // 2
    take_pass = min(len(passing), want_pass)
    take_fail = min(len(failing), k - take_pass)
    take_pass = min(len(passing), k - take_fail)
    if take_pass >= 2 and take_fail >= 2 and take_pass + take_fail == k:
        return ([_answer(t, i, True, "sampled") for t, i in passing[:take_pass]]
                + [_answer(t, i, False, "sampled") for t, i in failing[:take_fail]])
    if not allow_edits:
        return None
    want_fail = k - want_pass
    chosen = ([_answer(t, i, True, "sampled") for t, i in passing[:want_pass]]
              + [_answer(t, i, False, "sampled") for t, i in failing[:want_fail]])
    texts = {a["text"] for a in chosen}
    for verdict, want, sources in ((True, want_pass, failing), (False, want_fail, passing)):
        for text, _ in sources:
            if sum(a["g"] == verdict for a in chosen) >= want:
                break
            flipped = flip(text, constraints)
            if flipped and flipped[0] not in texts:
                chosen.append(_answer(flipped[0], [], verdict, "edited", flipped[1]))
                texts.add(flipped[0])
    n_pass = sum(a["g"] for a in chosen)
    if n_pass != want_pass or len(chosen) - n_pass != want_fail:
        return None
    return chosen


def _unique_finished(samples) -> list[tuple[str, list[int]]]:
    seen, out = set(), []
    for r in samples:
        if r.finished and r.strip() and r not in seen:
            seen.add(str(r))
            out.append((str(r), list(r.ids)))
    return out


def run(config: Config) -> dict:
    """Sample, select, edit and score the pool (see the module docstring)."""
    import torch

    from srlm_core.device import resolve_device
    from srlm_core.lm import diagnostics as diag
    from srlm_core.lm.model_loading import load_model
    from srlm_core.lm.prompts import load_prompts

    config.validate()
    device = resolve_device(config.device)
    model, tokenizer = load_model(config.model, device=device, seed=config.seed)
    splits = load_prompts()
    scanned = ([("train", p) for p in splits["train"][:config.train_scan]]
               + [("heldout", p) for p in splits["heldout"][:config.heldout_scan]])
    samples = diag.generate(model, tokenizer, [p["instruction"] for _, p in scanned],
                            config.samples, config.max_new_tokens, config.temperature,
                            config.seed, batch_size=64)
    scan, candidates = [], {"train": [], "heldout": [], "no_pass": []}
    for (split, prompt), drawn in zip(scanned, samples, strict=True):
        finished = _unique_finished(drawn)
        n_pass = sum(passes(prompt["constraints"], t) for t, _ in finished)
        scan.append({"split": split, "id": prompt["id"], "samples": len(drawn),
                     "finished": sum(r.finished for r in drawn),
                     "unique_finished": len(finished), "passing": n_pass,
                     "sampled_pass_rate": sum(r.finished and passes(prompt["constraints"], r)
                                              for r in drawn) / len(drawn)})
        if split == "heldout" and n_pass == 0 and len(finished) >= config.answers:
            answers = [_answer(t, i, False, "sampled") for t, i in finished[:config.answers]]
            candidates["no_pass"].append((prompt, answers))
            continue
        answers = select_answers(prompt["constraints"], finished, config.answers)
        if answers is not None:
            candidates[split].append((prompt, answers))
    # fewest edited answers first (stable: scan order breaks ties)
    for split in ("train", "heldout"):
        candidates[split].sort(key=lambda pa: sum(a["source"] == "edited" for a in pa[1]))
    kept = ([("train", p, a) for p, a in candidates["train"][:config.train_keep]]
            + [("heldout", p, a) for p, a in candidates["heldout"][:config.heldout_keep]]
            + [("no_pass", p, a) for p, a in candidates["no_pass"][:config.heldout_no_pass]])
    if sum(s == "train" for s, _, _ in kept) < config.train_keep:
        raise ConfigError("train_scan", f"only {len(candidates['train'])} of {config.train_scan} "
                          f"scanned training prompts give {config.answers} answers; scan more")
    eos = tokenizer.eos_token_id
    for _, _, answers in kept:
        for a in answers:
            if not a["ids"]:
                a["ids"] = tokenizer(a["text"], add_special_tokens=False)["input_ids"] + [eos]
    flat = [(p, a) for _, p, answers in kept for a in answers]
    with torch.no_grad():
        logp = diag.sequence_logprobs(
            model, tokenizer, [p["instruction"] for p, _ in flat],
            [diag.response(a["text"], True, a["ids"]) for _, a in flat], temperature=1.0)
    for (_, a), value in zip(flat, logp.total, strict=True):
        a["logp0"] = float(value)
    prompts = []
    for split, prompt, answers in kept:
        prompts.append({"split": split, "id": prompt["id"], "instruction": prompt["instruction"],
                        "constraints": prompt["constraints"],
                        "answers": [{**a, "ids": " ".join(map(str, a["ids"]))}
                                    for a in answers]})
    heldout_ids = {p["id"] for p in prompts if p["split"] != "train"}
    heldout_scan = [s for s in scan if s["id"] in heldout_ids]
    answers_all = [a for p in prompts for a in p["answers"]]
    return {
        "prompts": prompts,
        "scan": scan,
        "summary": {
            "scanned_prompts": len(scan),
            "sampled_answers": sum(s["samples"] for s in scan),
            "finished_answers": sum(s["finished"] for s in scan),
            "finished_passing": sum(s["passing"] for s in scan),
            "kept_prompts": {s: sum(p["split"] == s for p in prompts)
                             for s in ("train", "heldout", "no_pass")},
            "kept_answers": len(answers_all),
            "edited_answers": sum(a["source"] == "edited" for a in answers_all),
            "sampled_only_train_prompts": sum(
                p["split"] == "train" and all(a["source"] == "sampled" for a in p["answers"])
                for p in prompts),
            "mean_answer_tokens": sum(len(a["ids"].split()) for a in answers_all)
            / len(answers_all),
            "heldout_sampled_pass_rate_pi0": sum(s["sampled_pass_rate"] for s in heldout_scan)
            / max(1, len(heldout_scan)),
        },
    }
