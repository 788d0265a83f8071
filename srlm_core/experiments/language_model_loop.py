"""The self-rewarding loop on SmolLM2-135M-Instruct: a small CPU run and the stored larger run.

Chapter "Self-rewarding a real language model".  :func:`run` executes the loop of
:class:`srlm_core.lm.loop.LMRunner` (generate, self-judge, pair best against worst, DPO,
repeat) with a configuration read from ``data/lm/configs``; :func:`summarise` and the table
functions report it.  :func:`summarise_record`, :func:`pass_table` and the plots analyse the
registry record ``lm-large`` (written by ``srlm lm run --config data/lm/configs/large.toml``)
with the held-out diagnostics of :mod:`srlm_core.lm.diagnostics`: pass rate with Wilson 95%
intervals, judge agreement, signal share :math:`\\hat\\alpha`, internal consistency,
:math:`\\mathrm{KL}(\\pi_t\\Vert\\pi_0)` and the condition-number proxy of S3.
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

from srlm_core.errors import ConfigError, require
from srlm_core.lm.config import LMConfig, load_config
from srlm_core.publishing.provenance import REPO_ROOT
from srlm_core.publishing.results import write_json_atomic

#: Display names of the arms (``LMConfig.arms``).
ARM_LABELS = {"fixed": "fixed reference", "moving": "moving reference",
              "single_step": "single step", "oracle": "oracle judge"}
#: The held-out diagnostics drawn against iterations, with their axis labels.
METRICS = {
    "pass_rate": "held-out pass rate",
    "judge_agreement": "judge agrees with checker",
    "alpha_hat": r"signal share $\hat\alpha$",
    "consistency": "internal consistency",
    "kl_to_initial": r"KL$(\pi_t\,\Vert\,\pi_0)$ (nats)",
    "log_kappa_proxy": r"$\log\hat\kappa$ (sampled set)",
    "mean_length": "mean response length (tokens)",
}
#: Names of the two runs in the figures: the executed one and the registry record.
RUNS = ("small (executed)", "large (record)")
#: File in the work folder accumulating the stage and wall times over calls of :func:`run`.
TIMING_FILE = "timing.json"
_LM_FIELDS = frozenset(f.name for f in dataclasses.fields(LMConfig) if f.name != "extra")


@dataclass(frozen=True)
class Config:
    """The loop's configuration: a TOML file of :class:`srlm_core.lm.config.LMConfig` keys
    (repository-relative or absolute path) and ``overrides`` of some of its keys."""

    config_file: str = "data/lm/configs/small.toml"
    overrides: dict = field(default_factory=dict)

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

    def lm_config(self) -> LMConfig:
        """The validated :class:`srlm_core.lm.config.LMConfig` (file, then overrides)."""
        overrides = {k: list(v) if isinstance(v, tuple) else v for k, v in self.overrides.items()}
        return load_config(self.path(), **overrides)


def prompt_split(lm_config: LMConfig, examples: int = 5) -> dict:
    """Sizes of the training and held-out prompt splits, the held-out topics and the first
    ``examples`` held-out prompts with the kinds of constraint their checkers verify."""
    path = Path(lm_config.prompts_file)
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
    the effective :class:`srlm_core.lm.config.LMConfig`, and the stage and wall times summed
    over the calls on ``workdir``.  Sampling, judging and DPO are seeded by the config."""
    from srlm_core.lm.loop import LMRunner

    lm_config = config.validate().lm_config()
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="srlm-lm-") as tmp:
            return run(config, tmp, arms)
    start = time.perf_counter()
    out = LMRunner(lm_config, workdir).run(arms=arms)
    timing = _add_timing(Path(workdir), out["stage_seconds"], time.perf_counter() - start)
    values = {
        "lm_config": lm_config.to_dict(), "prompts": prompt_split(lm_config),
        "baseline": out["baseline"], "judge_timing": out["judge_timing"], "arms": out["arms"],
        "stage_seconds": timing["stage_seconds"], "wall_seconds": timing["wall_seconds"],
    }
    return json.loads(json.dumps(values))  # plain JSON types only


def describe(values: dict) -> str:
    """One line: the run's name, arms, size and wall time."""
    cfg = values["lm_config"]
    return (f"{cfg['name']}: arms {', '.join(cfg['arms'])}, {cfg['iterations']} iterations of "
            f"{cfg['prompts_per_iteration']} prompts x {cfg['candidates']} candidates; "
            f"{values['wall_seconds'] / 60:.1f} min")


def _first_round(values: dict) -> dict:
    """Round one of the first arm of the config (the fixed reference in the book)."""
    return next(iter(values["arms"].values()))[0]


def summarise(values: dict) -> dict:
    """The executed run's glued numbers: prompt split, wall time and the shares of the stage
    time spent in held-out evaluation and in DPO training, round one's pairs and the share of
    them whose label agrees with (``lm_pair_right``) or contradicts (``lm_pair_wrong``) the
    checker, in percent, and the mean probability mass of the ``logits`` judge on the five
    score digits for :math:`\\pi_0` (its validity)."""
    stage = values["stage_seconds"]
    total = sum(stage.values())
    first = _first_round(values)
    example = first["example"] or {}
    prompts = values["prompts"]
    return {
        "lm_n_train": prompts["n_train"], "lm_n_heldout": prompts["n_heldout"],
        "lm_heldout_topics": prompts["heldout_topics"],
        "lm_small_minutes": values["wall_seconds"] / 60,
        "lm_small_train_share": 100 * stage.get("train", 0.0) / total,
        "lm_small_eval_share": 100 * sum(s for k, s in stage.items() if "eval" in k) / total,
        "lm_example_instruction": example.get("instruction", "(no pair in round one)"),
        "lm_pairs_round1": first["train"]["pairs"],
        "lm_prompts_round1": values["lm_config"]["prompts_per_iteration"],
        "lm_pair_right": 100 * first["pair_label_accuracy"],
        "lm_pair_wrong": 100 * first["pair_label_wrong"],
    }


def prompt_table(values: dict):
    """The example held-out prompts and their checked constraints (a pandas Styler)."""
    import pandas as pd

    table = pd.DataFrame([{"held-out instruction": p["instruction"],
                           "checked constraints": ", ".join(p["constraints"])}
                          for p in values["prompts"]["examples"]])
    return table.style.hide(axis="index")


def example_table(values: dict, width: int = 160):
    """Round one's example prompt: each candidate (cut to ``width`` characters), its
    self-judge score, the checker's verdict, and which two form the DPO pair (a Styler)."""
    import pandas as pd

    ex = _first_round(values)["example"]
    table = pd.DataFrame({
        "candidate": [c if len(c) < width else c[:width - 3] + "..." for c in ex["candidates"]],
        "self-judge score": ex["scores"],
        "passes checker": ex["passes"],
    })
    table["role"] = ["chosen" if c == ex["chosen"] else "rejected" if c == ex["rejected"]
                     else "" for c in ex["candidates"]]
    return table.style.format({"self-judge score": "{:.2f}"}).hide(axis="index")


def kl_steps(rows: list[dict]) -> list[float]:
    """Per-round increments :math:`d_t - d_{t-1}` of the distance
    :math:`d_t = \\sqrt{\\mathrm{KL}(\\pi_t\\Vert\\pi_0)}` from the initial model (a Fisher
    distance to second order; :math:`d_0 = 0`, negative KL estimates count as 0)."""
    d = np.sqrt(np.maximum([0.0] + [r["kl_to_initial"] for r in rows], 0.0))
    return np.diff(d).tolist()


def direction_word(ratio_fixed: float, ratio_moving: float) -> str:
    """Whether S1's direction held: shrinking steps away from :math:`\\pi_0` with the fixed
    reference (ratio below 1), growing ones with the moving reference (ratio above 1)."""
    held = [name for name, ok in (("fixed", ratio_fixed < 1), ("moving", ratio_moving > 1))
            if ok]
    if len(held) == 2:
        return "held for both references"
    return f"held only for the {held[0]} reference" if held else "held for neither reference"


def summarise_record(record: dict) -> dict:
    """The numbers glued from a larger run's registry record (its content: ``values``,
    ``params``, ``provenance``).

    * :math:`\\pi_0`'s diagnostics: pass rate, judge agreement and its side of chance,
      regression coefficients and signal share :math:`\\hat\\alpha_0`, consistency,
      :math:`\\log\\hat\\kappa` (S3), mean length; the same after the last round;
    * S1: the ratio of the last to the first step of :func:`kl_steps`, predicted
      :math:`(1-\\hat\\alpha_0)^{T-1}` with the fixed and :math:`(2-\\hat\\alpha_0)^{T-1}`
      with the moving reference, and :func:`direction_word`;
    * the last round's change of the pass rate against :math:`\\pi_0` (percentage points)
      for the fixed reference, the single step (S2) and the oracle judge."""
    values, params, prov = record["values"], record["params"], record["provenance"]
    base, arms = values["baseline"], values["arms"]
    fixed, moving = arms["fixed"], arms["moving"]
    steps_fixed, steps_moving = kl_steps(fixed), kl_steps(moving)
    ratio_fixed = float(steps_fixed[-1] / steps_fixed[0])
    ratio_moving = float(steps_moving[-1] / steps_moving[0])
    rounds = len(steps_fixed) - 1
    return {
        "lm_large_minutes": prov["wall_time_s"] / 60,
        "lm_large_cpu": prov["hardware"]["cpu"],
        "lm_large_commit": str(prov["git_commit"])[:10],
        "lm_large_iterations": params["iterations"],
        "lm_large_prompts": params["prompts_per_iteration"],
        "lm_large_heldout": params["heldout_prompts"] * params["heldout_samples"],
        "lm_base_pass": 100 * base["pass_rate"],
        "lm_alpha0": base["alpha_hat"],
        "lm_agree0": base["judge_agreement"],
        "lm_agree0_side": "below" if base["judge_agreement"] < 0.5 else "above",
        "lm_consist0": base["consistency"],
        "lm_coef_truth": base["coef_truth"],
        "lm_coef_loglik": base["coef_loglik"],
        "lm_len0": base["mean_length"],
        "lm_len_fixed": fixed[-1]["mean_length"],
        "lm_consist_fixed": fixed[-1]["consistency"],
        "lm_consist_moving": moving[-1]["consistency"],
        "lm_kappa0": base["log_kappa_proxy"],
        "lm_kappa_fixed": fixed[-1]["log_kappa_proxy"],
        "lm_rounds_between": rounds,
        "lm_ratio_fixed": ratio_fixed,
        "lm_ratio_moving": ratio_moving,
        "lm_pred_fixed": (1 - base["alpha_hat"]) ** rounds,
        "lm_pred_moving": (2 - base["alpha_hat"]) ** rounds,
        "lm_kl_fixed": fixed[-1]["kl_to_initial"],
        "lm_kl_moving": moving[-1]["kl_to_initial"],
        "lm_self_gain": 100 * (fixed[-1]["pass_rate"] - base["pass_rate"]),
        "lm_oracle_gain": 100 * (arms["oracle"][-1]["pass_rate"] - base["pass_rate"]),
        "lm_single_gain": 100 * (arms["single_step"][-1]["pass_rate"] - base["pass_rate"]),
        "lm_direction": direction_word(ratio_fixed, ratio_moving),
    }


def verdict(values: dict, arm: str) -> str:
    """The last round of ``arm`` against :math:`\\pi_0` through their Wilson 95% pass-rate
    intervals: better or worse when the intervals are disjoint, else no detectable change."""
    base, last = values["baseline"], values["arms"][arm][-1]
    if last["pass_rate_lo"] > base["pass_rate_hi"]:
        return "better (intervals disjoint)"
    if last["pass_rate_hi"] < base["pass_rate_lo"]:
        return "worse (intervals disjoint)"
    return "no detectable change (intervals overlap)"


def pass_table(values: dict):
    """Each arm's pass rate after its last round, its interval and :func:`verdict`
    (a Styler)."""
    import pandas as pd

    table = pd.DataFrame([
        {"arm": ARM_LABELS[arm], "pass rate after the last round": rows[-1]["pass_rate"],
         "95% interval": f"[{rows[-1]['pass_rate_lo']:.2f}, {rows[-1]['pass_rate_hi']:.2f}]",
         "against the initial model": verdict(values, arm)}
        for arm, rows in values["arms"].items()
    ])
    return table.style.format({"pass rate after the last round": "{:.2f}"}).hide(axis="index")


def curves(values: dict, record_values: dict) -> list[dict]:
    """Long-form rows (run, arm, iteration, metric, value, and the pass rate's interval
    ``lo``/``hi``) of every metric of :data:`METRICS`, :math:`\\pi_0` as iteration 0 of
    every arm, for the executed run and the record."""
    rows = []
    for run_name, vals in zip(RUNS, (values, record_values), strict=True):
        base = {**vals["baseline"], "iteration": 0}
        for arm, arm_rows in vals["arms"].items():
            for row in [base] + arm_rows:
                for key in METRICS:
                    interval = key == "pass_rate"
                    rows.append({"run": run_name, "arm": ARM_LABELS[arm],
                                 "iteration": row["iteration"], "metric": key,
                                 "value": row[key],
                                 "lo": row.get("pass_rate_lo") if interval else math.nan,
                                 "hi": row.get("pass_rate_hi") if interval else math.nan})
    return rows


def _palette() -> dict:
    import seaborn as sns

    return dict(zip(ARM_LABELS.values(), sns.color_palette("colorblind", 4), strict=True))


def plot_pass(values: dict, record_values: dict):
    """Held-out pass rate with Wilson 95% intervals against iterations, one panel for the
    executed run and one for the record (the single step at the last iteration)."""
    import matplotlib.pyplot as plt
    import pandas as pd

    data = pd.DataFrame(curves(values, record_values))
    data = data[data.metric == "pass_rate"]
    palette = _palette()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, run_name in zip(axes, RUNS, strict=True):
        part = data[data.run == run_name]
        for offset, (arm, group) in enumerate(part.groupby("arm", sort=False)):
            x = group.iteration + 0.06 * (offset - 1.5)
            ax.errorbar(x, group.value, yerr=[group.value - group.lo, group.hi - group.value],
                        marker="o", capsize=3, label=arm, color=palette[arm],
                        ls="-" if arm != ARM_LABELS["single_step"] else "none")
        ax.set(title=run_name, xlabel="iteration $t$ (single step: all pairs in one round)",
               ylabel="held-out pass rate", xticks=sorted(part.iteration.unique()))
    axes[1].legend(loc="best", fontsize="small")
    fig.tight_layout()
    return fig


def plot_diagnostics(values: dict, record_values: dict):
    """Every diagnostic of :data:`METRICS` but the pass rate against iterations, one panel
    each (solid: executed run; dashed: record)."""
    import pandas as pd
    import seaborn as sns

    data = pd.DataFrame(curves(values, record_values))
    data = data[data.metric != "pass_rate"].copy()
    data["metric"] = data.metric.map(METRICS)
    grid = sns.relplot(data=data, x="iteration", y="value", hue="arm", style="run",
                       col="metric", col_wrap=3, kind="line", marker="o", palette=_palette(),
                       style_order=list(RUNS), facet_kws={"sharey": False}, height=2.8,
                       aspect=1.3)
    grid.set_titles("{col_name}")
    grid.set_axis_labels("iteration $t$", "value")
    return grid.figure
