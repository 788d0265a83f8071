"""The response pool of the controlled-alpha experiment, read back from its result record
``lm-pool`` (written by :mod:`srlm_core.experiments.lm_pool`): K finished SmolLM2 answers per
prompt, each with its exact token ids, its checker verdict g, log pi_0(y|x) and whether it was
sampled or edited.  :func:`load_pool` validates the record (checksum included) before use;
:func:`chapter_numbers` and :func:`example_table` are what the chapter shows of it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from srlm_core.errors import ConfigError


@dataclass(frozen=True)
class Pool:
    """A validated pool: ``prompts[i]['answers'][j]`` has text, ids (list of int), g, logp0,
    source and edit."""

    prompts: list
    summary: dict
    scan: list
    model: str = ""  #: the model whose tokenizer made the ids ("" when not recorded)

    def split(self, name: str) -> list:
        return [p for p in self.prompts if p["split"] == name]

    def for_tokenizer(self, tokenizer, model: str) -> Pool:
        """This pool for ``model``: unchanged when it made the pool's token ids (or when that
        is not recorded), else every answer re-tokenized from its text followed by the end of
        turn (a brought model with another tokenizer); the stored log pi_0 then no longer
        belongs to the ids, and the runner reports how far off it is."""
        if not self.model or self.model == model:
            return self
        eos = tokenizer.eos_token_id
        prompts = [{**p, "answers": [
            {**a, "ids": tokenizer(a["text"], add_special_tokens=False)["input_ids"] + [eos]}
            for a in p["answers"]]} for p in self.prompts]
        return Pool(prompts=prompts, summary=self.summary, scan=self.scan, model=model)


def pool_from_values(values: dict, where: str = "pool") -> Pool:
    """Parse and validate pool values (ids strings to lists); a malformed pool raises
    ConfigError naming the first bad entry."""
    prompts = []
    for i, prompt in enumerate(values.get("prompts", [])):
        answers = []
        for j, a in enumerate(prompt.get("answers", [])):
            try:
                ids = [int(x) for x in a["ids"].split()]
                g = int(a["g"])
                logp0 = float(a["logp0"])
            except (KeyError, ValueError, AttributeError, TypeError):
                raise ConfigError(where, f"prompt {i} answer {j} is malformed") from None
            if not ids or g not in (0, 1):
                raise ConfigError(where, f"prompt {i} answer {j} has no ids or g not in 0/1")
            answers.append({**a, "ids": ids, "g": g, "logp0": logp0})
        verdicts = {a["g"] for a in answers}
        if len(answers) < 2 or (prompt.get("split") == "train" and verdicts != {0, 1}):
            raise ConfigError(where, f"prompt {i} needs answers of both verdicts")
        prompts.append({**prompt, "answers": answers})
    if not any(p["split"] == "train" for p in prompts):
        raise ConfigError(where, "no training prompts")
    return Pool(prompts=prompts, summary=values.get("summary", {}), scan=values.get("scan", []))


def load_pool(result_id: str = "lm-pool", directory=None) -> Pool:
    """The pool record, validated (checksum included) and parsed."""
    from srlm_core.publishing.results import RESULTS_DIR, ResultError, load_record

    try:
        record = load_record(result_id, directory or RESULTS_DIR)
    except ResultError as err:
        raise ConfigError("pool", str(err)) from None
    pool = pool_from_values(record.values, where="pool")
    return dataclasses.replace(pool, model=record.params.get("model", ""))


def chapter_numbers(record) -> dict:
    """The pool record's counts and rates that the chapter glues, by glue name."""
    summary, params = record.values["summary"], record.params
    kept = summary["kept_prompts"]
    out = {"pool_scanned_prompts": summary["scanned_prompts"],
           "pool_sampled_answers": summary["sampled_answers"],
           "pool_finished_answers": summary["finished_answers"],
           "pool_finished_passing": summary["finished_passing"],
           "pool_kept_answers": summary["kept_answers"],
           "pool_edited_answers": summary["edited_answers"],
           "pool_sampled_only_train_prompts": summary["sampled_only_train_prompts"],
           "pool_train": kept["train"], "pool_heldout": kept["heldout"],
           "pool_no_pass": kept["no_pass"]}
    out.update({
        "pool_K": params["answers"], "pool_pairs": params["answers"] * (params["answers"] - 1) // 2,
        "pool_samples": params["samples"],
        "pool_max_tokens": params["max_new_tokens"],
        "pool_finished_pct": 100 * summary["finished_answers"] / summary["sampled_answers"],
        "pool_pass_pct": 100 * summary["finished_passing"] / summary["finished_answers"],
        "pool_tokens": summary["mean_answer_tokens"], "pool_minutes": record.wall_time_s / 60,
    })
    return out


def example_table(prompt: dict, width: int = 110):
    """A pandas Styler of one pool prompt's answers: text (shortened), verdict, source and
    log pi_0."""
    import pandas as pd

    rows = [{"answer": a["text"] if len(a["text"]) <= width else a["text"][:width - 3] + "...",
             "g (passes)": a["g"], "source": a["source"] + (f" ({a['edit']})" if a["edit"]
                                                             else ""),
             "log pi_0": a["logp0"]} for a in prompt["answers"]]
    frame = pd.DataFrame(rows)
    return (frame.style.format({"log pi_0": "{:.1f}"}).hide(axis="index")
            .set_caption(prompt["instruction"]))
