r"""S3: existence of the unpenalised DPO estimate and the burn-in a poor start needs.

From each start :math:`e_0` one DPO step with :math:`\lambda = 0`
(:func:`srlm_core.model.dpo.dpo_update`) is taken on ``n`` self-judged pairs for every ``n``
of the grid, ``seeds`` times.  The estimate exists exactly when no direction separates the
winners from the losers, decided by a linear programme per seed
(:func:`srlm_core.model.separation.mle_exists`).  Over the seeds where it exists, the error
:math:`n\,\mathbb E\lVert\hat\theta_1-\theta_1\rVert^2` is compared with the Fisher prediction
:math:`\operatorname{tr}(I_0^{-1})/\beta^2` of S2.  The burn-in of a start is the smallest
``n`` of the grid from which on, at every larger ``n`` too, all seeds' estimates exist and the
error is within ``tolerance`` of the prediction.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from srlm_core.errors import ConfigError, require_at_least
from srlm_core.experiments import named
from srlm_core.model import metrics
from srlm_core.model import one_step_prediction as osp
from srlm_core.model.dpo import dpo_update
from srlm_core.model.judge import sample_pairs
from srlm_core.model.policy import ProblemConfig, initial_parameters
from srlm_core.model.separation import mle_exists
from srlm_core.options import nested, option

#: The glue names of the share of seeds whose estimate exists, from the poorest and the best
#: start, by the grid size quoted (``n_report``).
EXIST_NAMES = {50: {"poor": "s3_exist_poor_50", "good": "s3_exist_good_50"}}


@dataclass(frozen=True)
class Config:
    """The pairs for grid size ``n`` come from the generator seeded ``n`` (the same for every
    start).  ``n_report``: the grid size at which the chapter quotes how often the estimate
    exists."""

    alpha: float = option(0.5, "signal share alpha of the self-judge")
    seeds: int = option(64, "runs per start and grid size")
    tolerance: float = option(0.25,
                              "largest relative gap of the error to the Fisher prediction that "
                              "counts as reached")
    starts: tuple[float, ...] = option((1.0, 2.0, 4.0, 8.0), "initial distances e_0 to the target")
    ns: tuple[int, ...] = option((25, 50, 100, 200, 400, 800, 1600),
                                 "grid of pair counts n, increasing")
    n_report: int = option(50,
                           "grid size at which the chapter quotes how often the estimate exists")
    problem: ProblemConfig = nested(ProblemConfig(), "the random problem")

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        if not 0.0 < self.alpha <= 1.0:
            raise ConfigError("alpha", f"must be in (0, 1], got {self.alpha}")
        require_at_least(self, 1, "seeds")
        require_at_least(self, 0, "tolerance")
        self.problem.validate()
        if len(self.starts) < 1 or min(self.starts) < 0.0:
            raise ConfigError("starts", f"must be non-negative distances, got {self.starts}")
        if len(self.ns) < 1 or min(self.ns) < 1 or list(self.ns) != sorted(set(self.ns)):
            raise ConfigError("ns", f"must be increasing positive sizes, got {self.ns}")
        if self.n_report not in self.ns:
            raise ConfigError("n_report", f"must be one of ns, got {self.n_report}")
        return self


def run(config: Config) -> dict:
    r"""Per start and grid size: the share of seeds where the estimate exists, the mean of
    :math:`n\lVert\hat\theta_1-\theta_1\rVert^2` over those seeds (``None`` if none), the
    prediction :math:`\operatorname{tr}(I_0^{-1})/\beta^2`, their ratio, and
    :math:`\kappa(\pi_0)`, :math:`\kappa_\Sigma(\pi_0)` of the start."""
    c = config.validate()
    p = c.problem.make()
    rows = []
    for e0 in c.starts:
        theta0 = initial_parameters(p, e0, seed=0)
        predicted = osp.predict_one_step(p, theta0, c.alpha).param_variance
        theta1 = osp.one_step_limit(p, theta0, c.alpha)
        batch = theta0.expand(c.seeds, -1).clone()
        kappa0 = float(metrics.condition_number(p, theta0))
        kappa_sigma0 = float(metrics.feature_condition_number(p, theta0))
        for n in c.ns:
            generator = torch.Generator().manual_seed(n)
            pairs = sample_pairs(p, batch, c.alpha, n, generator)
            dphi = pairs.feature_differences(p)
            estimate = dpo_update(dphi, pairs.label, p.beta, 0.0, p.theta_ref, batch)
            exists = mle_exists(p.beta * dphi, pairs.label).numpy()
            error = n * ((estimate - theta1) ** 2).sum(-1).numpy()
            mean = float(error[exists].mean()) if exists.any() else None
            rows.append({"e0": e0, "n": n, "exists": float(exists.mean()), "error": mean,
                         "predicted": predicted,
                         "ratio": None if mean is None else mean / predicted,
                         "kappa0": kappa0, "kappa_sigma0": kappa_sigma0})
    return {"tolerance": c.tolerance, "n_report": c.n_report, "seeds": c.seeds, "rows": rows}


def burn_in_sizes(values: dict) -> dict[float, int | None]:
    """Per start, the smallest grid size from which every larger size is ready too (all
    estimates exist, error ratio at most ``1 + tolerance``); ``None`` if no size is."""
    out = {}
    for e0 in dict.fromkeys(row["e0"] for row in values["rows"]):
        group = sorted((row for row in values["rows"] if row["e0"] == e0), key=lambda r: r["n"])
        ready = [row["exists"] == 1.0 and row["ratio"] is not None
                 and row["ratio"] <= 1 + values["tolerance"] for row in group]
        first = next((i for i in range(len(ready)) if all(ready[i:])), None)
        out[e0] = None if first is None else int(group[first]["n"])
    return out


def _row(values: dict, e0: float, n: int) -> dict:
    return next(row for row in values["rows"] if row["e0"] == e0 and row["n"] == n)


def size_text(size: int | None, values: dict) -> str:
    """A burn-in size for prose: the number, or ``more than`` the largest grid size."""
    largest = max(row["n"] for row in values["rows"])
    return f"more than {largest}" if size is None else str(size)


def summarise(values: dict) -> dict:
    """The burn-in of the best and the poorest start (text), whether it ``grows`` from the
    best to the poorest start (``None``, never ready, counts as beyond the grid; else
    ``does not grow``), and the share (in %) of seeds whose estimate exists at ``n_report`` pairs
    from each (:data:`EXIST_NAMES`); the starts, the tolerance in % and the number of seeds."""
    starts = burn_in_sizes(values)
    good, poor, n = min(starts), max(starts), values["n_report"]
    beyond = max(row["n"] for row in values["rows"]) + 1
    grows = (starts[poor] or beyond) > (starts[good] or beyond)
    return {
        "s3_burn_good": size_text(starts[good], values),
        "s3_burn_poor": size_text(starts[poor], values),
        "s3_burn_trend": "grows" if grows else "does not grow",
        **named(EXIST_NAMES.get(n), poor=_row(values, poor, n)["exists"] * 100,
                good=_row(values, good, n)["exists"] * 100),
        "burn_e0_good": good,
        "burn_e0_poor": poor,
        "burn_n_report": n,
        "burn_tolerance_pct": 100 * values["tolerance"],
        "n_burn_seeds": int(values["seeds"]),
    }


def table(values: dict):
    """One row per start: its condition numbers, the share of seeds whose estimate exists at
    ``n_report`` pairs, and its burn-in (a ``pandas.DataFrame``)."""
    import pandas as pd

    starts, n = burn_in_sizes(values), values["n_report"]
    first = {e0: _row(values, e0, n) for e0 in starts}
    return pd.DataFrame({
        r"$e_0$": list(starts),
        r"$\kappa(\pi_0)$": [f"{first[e0]['kappa0']:.3g}" for e0 in starts],
        r"$\kappa_\Sigma(\pi_0)$": [f"{first[e0]['kappa_sigma0']:.3g}" for e0 in starts],
        f"estimate exists at n = {n}": [f"{first[e0]['exists']:.0%}" for e0 in starts],
        "burn-in n": list(starts.values()),
    })


def plot(values: dict):
    """Left: the share of seeds where the estimate exists against ``n``.  Right: measured over
    predicted error against ``n``, with exact agreement (dashed) and the tolerance (dotted)."""
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    summary = pd.DataFrame(values["rows"]).astype({"ratio": float})
    starts = list(dict.fromkeys(summary.e0))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.0))
    palette = dict(zip(starts, sns.color_palette("viridis", len(starts))))
    sns.lineplot(data=summary, x="n", y="exists", hue="e0", palette=palette, marker="o",
                 seed=0, ax=axes[0])
    axes[0].set(xscale="log", xlabel="pairs $n$",
                ylabel="fraction of seeds where the MLE exists")
    axes[0].legend(title=r"$e_0$")
    sns.lineplot(data=summary, x="n", y="ratio", hue="e0", palette=palette, marker="o",
                 seed=0, ax=axes[1], legend=False)
    axes[1].axhline(1.0, ls="--", color="k", lw=1)
    axes[1].axhline(1.0 + values["tolerance"], ls=":", color="k", lw=1)
    axes[1].set(xscale="log", yscale="log", xlabel="pairs $n$",
                ylabel=r"measured / predicted $n\,\mathbb{E}\|\hat\theta_1-\theta_1\|^2$")
    fig.tight_layout()
    return fig
