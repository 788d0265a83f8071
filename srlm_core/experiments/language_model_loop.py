"""The self-rewarding loop on SmolLM2-135M-Instruct, read from its stored run.

Chapter "Self-rewarding a real language model".  :func:`run` executes the loop of
:class:`srlm_core.experiments.language_model_runner.LMRunner` (generate, self-judge, pair best
against worst, DPO, repeat) with a configuration read from ``data/lm/configs``; the book does
not execute it (``srlm run language-model-runner --config data/lm/configs/small.toml`` runs a
small version in minutes).  :func:`summarise_record`, :func:`round_one`, the tables and the
plots analyse the registry record ``lm-large`` (written by ``srlm lm run --config
data/lm/configs/large.toml``, an alias of that command) with the
held-out diagnostics of :mod:`srlm_core.lm.diagnostics`: pass rate, judge agreement, signal
share :math:`\\hat\\alpha` and the size it needs
(:func:`~srlm_core.experiments.language_model_loop_analysis.alpha_power`), internal consistency
per prompt, :math:`\\mathrm{KL}(\\pi_t\\Vert\\pi_0)` and the sampled condition number
(:func:`~srlm_core.experiments.language_model_loop_analysis.log_kappa_sampled`); intervals are
over prompts (the statistics over prompts are
:mod:`srlm_core.experiments.language_model_loop_analysis`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from srlm_core.config_file import load_config
from srlm_core.errors import ConfigError, require
from srlm_core.experiments import language_model_runner as runner
from srlm_core.experiments import named
from srlm_core.experiments.language_model_loop_analysis import (
    alpha_interval,
    alpha_power,
    change_word,
    consistency_change,
    log_kappa_sampled,
    median_best_logp,
    paired_comparison,
    rate_interval,
)
from srlm_core.options import option
from srlm_core.publishing.provenance import REPO_ROOT
from srlm_core.publishing.results import write_json_atomic

#: Display names of the arms (``runner.Config.arms``).
ARM_LABELS = {"fixed": "fixed reference", "moving": "moving reference",
              "single_step": "single step", "oracle": "oracle judge"}
#: File in the work folder accumulating the stage and wall times over calls of :func:`run`.
TIMING_FILE = "timing.json"
#: The glue names of each arm after its last round, against pi_0: the pass rate, the paired
#: difference and its interval, its p-value and word, the KL to pi_0 and to the round before,
#: and the finished share.
ARM_NAMES = {
    "fixed": {"pass_rate": "lm_fixed_pass", "diff": "lm_fixed_diff", "diff_lo": "lm_fixed_diff_lo",
              "diff_hi": "lm_fixed_diff_hi", "p": "lm_fixed_p", "word": "lm_fixed_word",
              "kl": "lm_fixed_kl", "kl_round": "lm_fixed_kl_round",
              "finished": "lm_fixed_finished"},
    "moving": {"pass_rate": "lm_moving_pass", "diff": "lm_moving_diff",
               "diff_lo": "lm_moving_diff_lo", "diff_hi": "lm_moving_diff_hi", "p": "lm_moving_p",
               "word": "lm_moving_word", "kl": "lm_moving_kl", "kl_round": "lm_moving_kl_round",
               "finished": "lm_moving_finished"},
    "single_step": {"pass_rate": "lm_single_step_pass", "diff": "lm_single_step_diff",
                    "diff_lo": "lm_single_step_diff_lo", "diff_hi": "lm_single_step_diff_hi",
                    "p": "lm_single_step_p", "word": "lm_single_step_word",
                    "kl": "lm_single_step_kl", "kl_round": "lm_single_step_kl_round",
                    "finished": "lm_single_step_finished"},
}
_LM_FIELDS = frozenset(f.name for f in dataclasses.fields(runner.Config) if f.name != "extra")


@dataclass(frozen=True)
class Config:
    """The loop's configuration: a TOML file of
    :class:`srlm_core.experiments.language_model_runner.Config` keys (repository-relative or
    absolute path) and ``overrides`` of some of its keys."""

    config_file: str = option("data/lm/configs/small.toml",
                              "TOML file of the loop's configuration (repository-relative or "
                              "absolute)")
    overrides: dict = field(default_factory=dict, metadata={
        "help": "keys of the configuration that replace the file's ([overrides] table)"})

    def path(self) -> Path:
        path = Path(self.config_file)
        return path if path.is_absolute() else REPO_ROOT / path

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming ``config_file`` or ``overrides``."""
        unknown = sorted(set(self.overrides) - _LM_FIELDS)
        require(self, ("config_file", self.path().is_file(), "no such file"),
                ("overrides", not unknown, f"unknown keys {unknown}"))
        try:
            self.lm_config()
        except ConfigError as err:
            # load_config names an override's own field, and the file's keys as "key '...'"
            if err.field in self.overrides:
                raise ConfigError("overrides", str(err)) from None
            key = str(err).split("key '", 1)[-1].split("'", 1)[0]
            name = "overrides" if key in self.overrides else "config_file"
            raise ConfigError(name, str(err).split(": ", 1)[-1]) from None
        return self

    def lm_config(self) -> runner.Config:
        """The validated :class:`srlm_core.experiments.language_model_runner.Config` (file, then
        overrides)."""
        overrides = {k: list(v) if isinstance(v, tuple) else v for k, v in self.overrides.items()}
        return load_config(self.path(), runner.Config, **overrides)


def prompt_split(prompts_file: str, examples: int = 5) -> dict:
    """Sizes of the training and held-out prompt splits of ``prompts_file`` (an
    :class:`~srlm_core.experiments.language_model_runner.Config` key), the held-out topics and
    the first ``examples`` held-out prompts with the kinds of constraint their checkers
    verify."""
    path = Path(prompts_file)
    splits = json.loads((path if path.is_absolute() else REPO_ROOT / path).read_text())
    return {
        "n_train": len(splits["train"]), "n_heldout": len(splits["heldout"]),
        "heldout_topics": splits["heldout_topics"],
        "examples": [{"instruction": p["instruction"],
                      "constraints": [c["kind"] for c in p["constraints"]]}
                     for p in splits["heldout"][:examples]],
    }


def _add_timing(workdir: Path, stage_seconds: dict, wall: float) -> dict:
    """Add this call's stage and wall seconds to the work folder's running totals."""
    path = workdir / TIMING_FILE
    total = json.loads(path.read_text()) if path.exists() else {"stage_seconds": {},
                                                                "wall_seconds": 0.0}
    for stage, seconds in stage_seconds.items():
        total["stage_seconds"][stage] = total["stage_seconds"].get(stage, 0.0) + seconds
    total["wall_seconds"] += wall
    write_json_atomic(path, total)
    return total


def run(config: Config, workdir: Path | str | None = None, arms=None) -> dict:
    """Run (or resume) the self-rewarding loop of ``config`` and return its values.

    ``workdir``: the loop's work folder (default: a temporary one, removed afterwards); a
    later call with the same folder resumes, so the arms can be run in separate calls
    (``arms``: the arms to run now, default all; ``[]`` evaluates :math:`\\pi_0` only).  The
    values hold every finished arm's rows (held-out diagnostics after each round, the
    training pairs' log, one example round), :math:`\\pi_0`'s diagnostics, the prompt split,
    the effective :class:`srlm_core.experiments.language_model_runner.Config`, the arithmetic
    used (``precision``, :func:`srlm_core.device.resolve_precision`), and the stage and wall
    times summed over the calls on ``workdir``.  Sampling, judging and DPO are seeded by the
    config."""
    lm_config = config.validate().lm_config()
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="srlm-lm-") as tmp:
            return run(config, tmp, arms)
    start = time.perf_counter()
    out = runner.LMRunner(lm_config, workdir).run(arms=arms)
    timing = _add_timing(Path(workdir), out["stage_seconds"], time.perf_counter() - start)
    values = {
        "lm_config": lm_config.to_dict(), "prompts": prompt_split(lm_config.prompts_file),
        "baseline": out["baseline"], "arms": out["arms"], "precision": out["precision"],
        "stage_seconds": timing["stage_seconds"], "wall_seconds": timing["wall_seconds"],
    }
    return json.loads(json.dumps(values))  # plain JSON types only


def _first_round(values: dict) -> dict:
    """Round one of the first arm of the config (the fixed reference in the book)."""
    return next(iter(values["arms"].values()))[0]


def round_one(values: dict, lm_config: dict) -> dict:
    """Round one of a run (its ``values`` and ``lm_config``, a record's ``params``), glued:
    the prompt split, the example prompt, round one's pairs, the share of them whose label
    agrees with (``lm_pair_right``) or contradicts (``lm_pair_wrong``) the checker, and the
    finished share of the candidates, in percent."""
    first = _first_round(values)
    prompts = prompt_split(lm_config["prompts_file"])
    return {
        "lm_n_train": prompts["n_train"], "lm_n_heldout": prompts["n_heldout"],
        "lm_heldout_topics": prompts["heldout_topics"],
        "lm_example_instruction": first["example"]["instruction"],
        "lm_pairs_round1": first["train"]["pairs"],
        "lm_prompts_round1": lm_config["prompts_per_iteration"],
        "lm_pair_right": 100 * first["pair_label_right"],
        "lm_pair_wrong": 100 * first["pair_label_wrong"],
        "lm_candidate_finished": 100 * first["candidate_finished_share"],
    }


def prompt_table(prompts_file: str):
    """The example held-out prompts of :func:`prompt_split` and their checked constraints (a
    pandas Styler)."""
    import pandas as pd

    table = pd.DataFrame([{"held-out instruction": p["instruction"],
                           "checked constraints": ", ".join(p["constraints"])}
                          for p in prompt_split(prompts_file)["examples"]])
    return table.style.hide(axis="index")


def example_table(values: dict, width: int = 160):
    """Round one's example prompt: each candidate (cut to ``width`` characters), whether it
    finished, its self-judge score, the checker's verdict, and which two form the DPO pair
    (a Styler)."""
    import pandas as pd

    ex = _first_round(values)["example"]
    table = pd.DataFrame({
        "candidate": [c if len(c) < width else c[:width - 3] + "..." for c in ex["candidates"]],
        "finished": ex["finished"],
        "self-judge score": ex["scores"],
        "passes checker": ex["passes"],
    })
    table["role"] = ["chosen" if c == ex["chosen"] else "rejected" if c == ex["rejected"]
                     else "" for c in ex["candidates"]]
    return table.style.format({"self-judge score": "{:.2f}"}).hide(axis="index")


def evaluations(values: dict) -> list[tuple[str, int, dict]]:
    """(arm, round, evaluation) for pi_0 (arm ``"initial"``, round 0) and every arm's rounds."""
    out = [("initial", 0, values["baseline"])]
    out += [(arm, row["iteration"], row) for arm, rows in values["arms"].items() for row in rows]
    return out


def table_rows(values: dict) -> list[dict]:
    """One row per evaluation: pass rate with its interval over prompts, finished share,
    KL to pi_0 and per round, the signed signal share with its interval, internal and rank
    consistency, judge agreement with the checker, condition proxy and mean length."""
    rows = []
    for arm, t, row in evaluations(values):
        answers = row["answers"]
        rate = rate_interval(answers)
        alpha = (alpha_interval(answers) if not math.isnan(row["alpha_hat"])
                 else {"value": math.nan, "lo": math.nan, "hi": math.nan})
        rows.append({"arm": arm, "round": t, "pass_rate": rate["value"],
                     "pass_lo": rate["lo"], "pass_hi": rate["hi"],
                     "finished_share": row["finished_share"],
                     "kl_to_initial": row["kl_to_initial"],
                     "kl_to_previous": row["kl_to_previous"],
                     "alpha_hat": alpha["value"], "alpha_lo": alpha["lo"],
                     "alpha_hi": alpha["hi"], "consistency": row["consistency"],
                     "rank_consistency": row.get("rank_consistency"),
                     "judge_agreement": row["judge_agreement"],
                     "log_kappa_proxy": row["log_kappa_proxy"],
                     "log_kappa_sampled": log_kappa_sampled(answers),
                     "mean_length": row["mean_length"], "answers": row["responses"]})
    return rows


def budget_check(values: dict) -> dict:
    """Pairs and optimizer steps per round of every arm; ``equal`` when every iterative round
    has the config's pairs and the same steps, and the single step T times both."""
    cfg = values["lm_config"]
    per_round = {(arm, row["iteration"]): (row["train"]["pairs"], row["train"]["steps"])
                 for arm, rows in values["arms"].items() for row in rows}
    iterative = {v for (arm, _), v in per_round.items() if arm != "single_step"}
    single = {v for (arm, _), v in per_round.items() if arm == "single_step"}
    (pairs, steps), = iterative if len(iterative) == 1 else ((math.nan, math.nan),)
    equal = (len(iterative) == 1 and pairs == cfg["pairs_per_iteration"]
             and all(v == (cfg["iterations"] * pairs, cfg["iterations"] * steps)
                     for v in single))
    return {"pairs": pairs, "steps": steps, "equal": equal}


def record_precision(record: dict) -> str:
    """The CPU arithmetic of a record of the loop (``float32`` or ``bf16``): its values'
    ``precision``, or, in a record written before that existed, its ``autocast_bf16`` flag."""
    if "precision" in record["values"]:
        return record["values"]["precision"]
    return "bf16" if record["params"].get("autocast_bf16") else "float32"


def summarise_record(record: dict) -> dict:
    r"""The numbers and verdict words glued from the larger run's record (its content:
    ``values``, ``params``, ``provenance``): the design (pairs, steps, answers), every arm's
    last round against :math:`\pi_0` and fixed against moving
    (:func:`~srlm_core.experiments.language_model_loop_analysis.paired_comparison`), the signal
    share after round one with its interval and the pre-registered verdicts."""
    values, params, prov = record["values"], record["params"], record["provenance"]
    base, arms = values["baseline"], values["arms"]
    T = params["iterations"]
    budget = budget_check({"lm_config": params, "arms": arms})
    out = {
        "lm_large_minutes": prov["wall_time_s"] / 60,
        "lm_large_cpu": prov["hardware"]["cpu"],
        "lm_large_precision": record_precision(record),
        "lm_large_commit": str(prov["git_commit"])[:10],
        "lm_large_iterations": T,
        "lm_large_block": params["prompts_per_iteration"],
        "lm_large_pairs": budget["pairs"], "lm_large_steps": budget["steps"],
        "lm_large_budget": "equal" if budget["equal"] else "NOT equal",
        "lm_large_prompts": params["heldout_prompts"],
        "lm_large_samples": params["heldout_samples"],
        "lm_large_answers": params["heldout_prompts"] * params["heldout_samples"],
        "lm_large_tokens": params["max_new_tokens"],
        "lm_base_pass": 100 * base["pass_rate"],
        "lm_base_finished": 100 * base["finished_share"],
        "lm_agree0": base["judge_agreement"],
    }
    for arm, rows in arms.items():
        last = rows[-1]
        c = paired_comparison(last["answers"], base["answers"])
        out.update(named(ARM_NAMES[arm], pass_rate=100 * last["pass_rate"],
                         diff=100 * c["difference"], diff_lo=100 * c["lo"], diff_hi=100 * c["hi"],
                         p=c["p_value"], word=change_word(c), kl=last["kl_to_initial"],
                         kl_round=last["kl_to_previous"], finished=100 * last["finished_share"]))
    fm = paired_comparison(arms["fixed"][-1]["answers"], arms["moving"][-1]["answers"])
    kl = paired_comparison(arms["moving"][-1]["answers"], arms["fixed"][-1]["answers"],
                           key="log_ratio")
    fixed = arms["fixed"]
    alpha = alpha_interval(fixed[0]["answers"])
    consistency = consistency_change(fixed[0]["answers"], fixed[-1]["answers"])
    evaluated = 1 + sum(len(rows) for rows in arms.values())
    eval_seconds = sum(v for k, v in values["stage_seconds"].items() if k.startswith("eval"))
    power = alpha_power(alpha, params["heldout_prompts"],
                        eval_seconds / (evaluated * params["heldout_prompts"]))
    kappa = {arm: [log_kappa_sampled(base["answers"])]
             + [log_kappa_sampled(row["answers"]) for row in rows] for arm, rows in arms.items()}
    out.update({
        "lm_fm_diff": 100 * fm["difference"], "lm_fm_lo": 100 * fm["lo"],
        "lm_fm_hi": 100 * fm["hi"], "lm_fm_p": fm["p_value"], "lm_fm_word": change_word(fm),
        "lm_kl_gap": kl["difference"], "lm_kl_gap_lo": kl["lo"], "lm_kl_gap_hi": kl["hi"],
        "lm_kl_round1": fixed[0]["kl_to_initial"],
        "lm_alpha1": alpha["value"], "lm_alpha1_lo": alpha["lo"], "lm_alpha1_hi": alpha["hi"],
        "lm_alpha_side": ("positive" if alpha["lo"] > 0 else "negative" if alpha["hi"] < 0
                          else "indistinguishable from zero"),
        "lm_alpha_half_width": power["half_width"], "lm_alpha_target": power["target"],
        "lm_alpha_prompts_needed": power["prompts"], "lm_alpha_hours_needed": power["hours"],
        "lm_heldout_pool": prompt_split(params["prompts_file"])["n_heldout"],
        "lm_consist1": fixed[0]["consistency"], "lm_consist_last": fixed[-1]["consistency"],
        "lm_consist_change": consistency["difference"], "lm_consist_lo": consistency["lo"],
        "lm_consist_hi": consistency["hi"], "lm_consist_p": consistency["p_value"],
        "lm_consist_detectable": consistency["detectable"],
        "lm_consist_prompts": consistency["prompts"],
        "lm_rank_last": fixed[-1]["rank_consistency"],
        "lm_log_kappa0": kappa["fixed"][0], "lm_log_kappa_fixed": kappa["fixed"][-1],
        "lm_log_kappa_moving": kappa["moving"][-1],
        "lm_best_logp0": median_best_logp(base["answers"]),
        "lm_best_logp_fixed": median_best_logp(fixed[-1]["answers"]),
        "lm_length_fixed": fixed[-1]["mean_length"], "lm_length0": base["mean_length"],
    })
    out.update(verdicts(out))
    return out


def verdicts(numbers: dict) -> dict:
    r"""The pre-registered predictions against the numbers of :func:`summarise_record`:

    * signal: S1 improves the truth only through the judge's signal share, so the
      fixed-reference loop gains when :math:`\hat\alpha` is positive and loses when it is
      negative; a paired null is "not resolved" with the change the design detects, and an
      :math:`\hat\alpha` whose interval contains 0 makes the prediction untestable;
    * drift: with the moving reference the policy moves farther from :math:`\pi_0` (S1's
      contrast), so its KL exceeds the fixed reference's;
    * consistency: iterating raises internal consistency (the fixed point is internally
      consistent), paired by prompt from round one to the last round."""
    side, word = numbers["lm_alpha_side"], numbers["lm_fixed_word"]
    if side == "indistinguishable from zero":
        signal = "cannot be tested (the interval of the signal share contains 0)"
    elif word.startswith("no detectable change"):
        signal = "is not resolved: " + word
    else:
        signal = "holds" if (word == "higher") == (side == "positive") else "fails"
    drift = "holds" if numbers["lm_kl_gap_lo"] > 0 else (
        "fails" if numbers["lm_kl_gap_hi"] < 0 else "is not resolved (interval contains 0)")
    if numbers["lm_consist_lo"] > 0:
        consistency = "holds"
    elif numbers["lm_consist_hi"] < 0:
        consistency = "fails"
    else:
        consistency = (f"is not resolved (interval contains 0; the design detects "
                       f"{numbers['lm_consist_detectable']:.2f})")
    return {"lm_signal_verdict": signal, "lm_drift_verdict": drift,
            "lm_consistency_verdict": consistency}


def pass_table(values: dict):
    """Every evaluation's pass rate with its interval over prompts, finished share, KL,
    diagnostics and mean answer length (a Styler)."""
    import pandas as pd

    rows = table_rows(values)
    table = pd.DataFrame([{
        "arm": ARM_LABELS.get(r["arm"], r["arm"]), "round": r["round"],
        "pass rate [95%]": f"{r['pass_rate']:.2f} [{r['pass_lo']:.2f}, {r['pass_hi']:.2f}]",
        "finished": r["finished_share"],
        "KL to π0": r["kl_to_initial"],
        "α̂ [95%]": (f"{r['alpha_hat']:.2f} [{r['alpha_lo']:.2f}, {r['alpha_hi']:.2f}]"
                     if not math.isnan(r["alpha_hat"]) else "undefined"),
        "consistency": r["consistency"], "mean length (tokens)": r["mean_length"],
    } for r in rows])
    return table.style.format(precision=2, na_rep="undefined").hide(axis="index")


def _palette() -> dict:
    import seaborn as sns

    names = ["initial model", *ARM_LABELS.values()]
    return dict(zip(names, sns.color_palette("colorblind", len(names)), strict=True))


def plot_pass(values: dict):
    """Held-out pass rate of every evaluation with its 95% interval over prompts, against
    the round (pi_0 at round 0; the single step at the last round)."""
    import matplotlib.pyplot as plt

    rows = table_rows(values)
    palette = _palette()
    fig, ax = plt.subplots(figsize=(7, 4))
    base = rows[0]
    ax.axhspan(base["pass_lo"], base["pass_hi"], color=palette["initial model"], alpha=0.15,
               label="initial model (95% interval)")
    for offset, arm in enumerate(values["arms"]):
        part = [base] + [r for r in rows if r["arm"] == arm]
        x = np.array([r["round"] for r in part]) + 0.06 * (offset - 1.5)
        y = np.array([r["pass_rate"] for r in part])
        err = [y - [r["pass_lo"] for r in part], [r["pass_hi"] for r in part] - y]
        ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=ARM_LABELS[arm],
                    color=palette[ARM_LABELS[arm]], ls="-" if arm != "single_step" else "none")
    ax.set(xlabel="round $t$ (single step: all pairs in one round)", ylabel="held-out pass rate",
           xticks=sorted({r["round"] for r in rows}))
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    return fig


def plot_diagnostics(values: dict):
    r"""Signed signal share :math:`\hat\alpha` (95% interval over prompts), internal
    consistency, :math:`\mathrm{KL}(\pi_t\Vert\pi_0)` and the sampled
    :math:`\log\hat\kappa_t`
    (:func:`~srlm_core.experiments.language_model_loop_analysis.log_kappa_sampled`), against the
    round."""
    import matplotlib.pyplot as plt

    rows = table_rows(values)
    palette = _palette()
    panels = [("alpha_hat", r"signal share $\hat\alpha$"),
              ("consistency", "internal consistency"),
              ("kl_to_initial", r"KL$(\pi_t\,\Vert\,\pi_0)$ (nats)"),
              ("log_kappa_sampled", r"sampled $\log\hat\kappa_t$ (nats)")]
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.2))
    for ax, (key, label) in zip(axes, panels, strict=True):
        for offset, arm in enumerate(values["arms"]):
            part = [r for r in rows if r["arm"] in (arm, "initial")]
            x = np.array([r["round"] for r in part]) + 0.06 * (offset - 1.5)
            y = np.array([np.nan if r[key] is None else r[key] for r in part], float)
            kwargs = {"marker": "o", "color": palette[ARM_LABELS[arm]], "label": ARM_LABELS[arm],
                      "ls": "-" if arm != "single_step" else "none"}
            if key == "alpha_hat":
                lo = np.array([r["alpha_lo"] for r in part])
                hi = np.array([r["alpha_hi"] for r in part])
                ax.errorbar(x, y, yerr=[y - lo, hi - y], capsize=3, **kwargs)
            else:
                ax.plot(x, y, **kwargs)
        if key in ("alpha_hat",):
            ax.axhline(0, color="grey", lw=0.8)
        if key == "consistency":
            ax.axhline(0.5, color="grey", lw=0.8, ls=":")
        ax.set(title=label, xlabel="round $t$", xticks=sorted({r["round"] for r in rows}))
    axes[0].legend(loc="best", fontsize="small")
    fig.tight_layout()
    return fig
