"""S5 experiment: one DPO round in dimensions d = d_min .. d_max at a fixed difficulty.

The problems come from :class:`srlm_core.model.spectral_features.SpectralDesign`: the same prompts,
the same pi*, pi_ref and KL(pi* || pi_ref) in every dimension, and nuisance directions of
variance mu_j ∝ j^(-p) added as d grows.  In every dimension and seed, n pairs are drawn from
pi_ref and labelled by a perfect judge (alpha = 1: the statistical error of one round of S4),
with the same random numbers for every d, and DPO is solved twice:

* at the balanced ridge lambda* of :func:`srlm_core.theory.polynomial_spectrum.balanced_ridge`,
  computed from (p, mu_1 of the Fisher information, n, ||w*||), the same for every d;
* at ``lam_min``, a tiny ridge standing in for lambda -> 0 (the unregularised DPO solution does
  not exist once the pairs are separable, which happens for d of the order of n).

The error is ||theta_hat - theta*||_I^2 with I = gamma Sigma the Fisher information of one pair;
beside it, its second-order prediction sum_j lambda^2 nu_j w_j^2 / (nu_j + lambda)^2 +
nu_j^2 / (n (nu_j + lambda)^2) (nu_j the eigenvalues of I), and the bound
lambda ||w*||^2 / 4 + d_eff(lambda) / n.  :func:`summarise`, :func:`plot` and :func:`table`
turn a record's values into the chapter's numbers, figure and table, and
:func:`relative_gap` compares a rerun with the record.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

from srlm_core.device import resolve_device
from srlm_core.errors import require
from srlm_core.model import metrics
from srlm_core.model.dpo import logistic_objective
from srlm_core.model.dual_logistic import fit_ridge_logistic
from srlm_core.model.judge import sample_pairs
from srlm_core.model.separation import mle_exists
from srlm_core.model.spectral_features import SpectralDesign
from srlm_core.options import option
from srlm_core.stats import equivalence_test, mean_interval

TITLE = "S5: DPO error versus ambient dimension d at fixed effective dimension"
TOLERANCE = {"rtol": 1e-6, "atol": 1e-9}
ARMS = ("balanced", "lam_min")
#: relative margin within which the balanced ridge's paired change from the smallest to the
#: largest d counts as flat (TOST over seeds at level 0.05)
FLAT_MARGIN = 0.05
#: a relative change of the bound's slack (bound over measured mean) from the smallest to the
#: largest d beyond which the bound "grows" with d
SLACK_GROWTH = 0.1
#: the largest gradient norm at which a Newton solve counts as converged
GRAD_TOL = 1e-6


@dataclass(frozen=True)
class Config:
    """d runs over the powers of two from ``d_min`` to ``d_max`` (<= ``contexts``)."""

    p: float = option(2.0, "decay exponent p of the spectrum mu_j ~ j^(-p)")
    d_min: int = option(16, "smallest dimension d (a power of two)")
    d_max: int = option(4096, "largest dimension d (a power of two, at most contexts)")
    contexts: int = option(4096, "prompts")
    n: int = option(1024, "pairs of the DPO round")
    signal: float = option(1.5, "norm of the target w*")
    beta: float = option(1.0, "KL strength beta")
    lam_min: float = option(1e-9, "tiny ridge standing in for lambda -> 0")
    seeds: int = option(16, "runs per dimension (at least 2)")
    seed: int = option(0, "generator seed, the same pairs for every d")
    device: str = option("cpu", "cpu, cuda or auto")

    def design(self) -> SpectralDesign:
        """The problems of the sweep (:class:`srlm_core.model.spectral_features.SpectralDesign`)."""
        return SpectralDesign(
            p=self.p, contexts=self.contexts, signal=self.signal, beta=self.beta, seed=self.seed
        )

    def validate(self) -> Config:
        """Raise :class:`~srlm_core.errors.ConfigError` naming the first invalid field."""
        self.design().validate()

        def power_of_two(k: int) -> bool:
            return k >= 1 and k & (k - 1) == 0

        require(
            self,
            ("d_min", power_of_two(self.d_min), "must be a power of two"),
            ("d_max", power_of_two(self.d_max), "must be a power of two"),
            ("d_max", self.d_min <= self.d_max <= self.contexts, "must be in [d_min, contexts]"),
            ("n", self.n >= 2, "must be >= 2"),
            ("lam_min", self.lam_min > 0.0, "must be > 0"),
            ("seeds", self.seeds >= 2, "must be >= 2 (for intervals)"),
        )
        resolve_device(self.device)
        return self

    def dims(self) -> list[int]:
        """The ambient dimensions: the powers of two from ``d_min`` to ``d_max``."""
        out, d = [], self.d_min
        while d <= self.d_max:
            out.append(d)
            d *= 2
        return out


def fisher_eigenvalues(config: Config, d: int) -> torch.Tensor:
    """nu_j = gamma mu_j, the spectrum of the Fisher information I of one DPO pair."""
    design = config.design()
    return design.curvature() * design.eigenvalues(d)


@functools.cache
def _balanced_ridge():
    """S5's balanced ridge in SymPy, derived once per process."""
    from srlm_core.theory.polynomial_spectrum import balanced_ridge

    return balanced_ridge()


def balanced_lambda(config: Config) -> float:
    """lambda* from the SymPy derivation, with mu_1 the top eigenvalue of I."""
    from srlm_core.theory.polynomial_spectrum import numeric

    nu1 = float(fisher_eigenvalues(config, 1)[0])
    return numeric(_balanced_ridge().lam_star, p=config.p, mu1=nu1, n=config.n, W=config.signal)


def predicted_risk(nu: torch.Tensor, w: torch.Tensor, lam: float, n: int) -> float:
    """Second-order E||theta_hat - theta*||_I^2 of the ridge estimator (S5, per direction)."""
    bias = lam**2 * nu * w**2 / (nu + lam) ** 2
    variance = nu**2 / (n * (nu + lam) ** 2)
    return float((bias + variance).sum())


def sandwich_risk(config: Config, d: int, lam: float) -> float:
    """A refined second-order E||theta_hat - theta*||_I^2: linearise the ridge estimator at its
    population value u_lambda = v e_1 instead of at theta* (M-estimation sandwich).  With the
    Hessian h Sigma and score covariance s Sigma there
    (:meth:`~srlm_core.model.spectral_features.SpectralDesign.sandwich_coefficients`), it is
    bias nu_1 (v - W)^2 plus variance
    sum_j nu_j s mu_j / (n (h mu_j + lambda)^2).  Shrinking the margin raises the logistic
    curvature (h > gamma), which lowers the variance in every direction; the plain prediction
    misses this."""
    design = config.design()
    v = design.population_ridge(lam)
    h, s = design.sandwich_coefficients(v)
    mu, nu = design.eigenvalues(d), fisher_eigenvalues(config, d)
    variance = (nu * s * mu / (config.n * (h * mu + lam) ** 2)).sum()
    return float(nu[0] * (v - config.signal) ** 2 + variance)


def stationarity(z, label, weight, lam: float, u: torch.Tensor) -> float:
    """max over seeds of ||grad|| of the DPO objective at the returned u (solver check)."""
    u = u.detach().clone().requires_grad_(True)
    logistic_objective(u, z, label, weight, lam).sum().backward()
    return float(u.grad.norm(dim=-1).max())


def mle_share(z: torch.Tensor, label: torch.Tensor) -> float:
    """Share of seeds whose unregularised DPO estimate exists (no separation).  For d > n the
    n pair differences cannot span R^d, so it does not exist and the LP is skipped."""
    S, n, d = z.shape
    if d > n:
        return 0.0
    return float(mle_exists(z, label).double().mean())


def run(config: Config) -> dict:
    """Errors per (d, arm, seed) and the predictions per (d, arm)."""
    config.validate()
    device = resolve_device(config.device)
    design = config.design()
    lam_star = balanced_lambda(config)
    lambdas = {"balanced": lam_star, "lam_min": config.lam_min}
    rows, errors = [], {}
    for d in config.dims():
        problem = design.problem(d)
        nu = fisher_eigenvalues(config, d)
        generator = torch.Generator().manual_seed(config.seed)  # the same pairs for every d
        theta_ref = problem.theta_ref.expand(config.seeds, -1)
        pairs = sample_pairs(problem, theta_ref, 1.0, config.n, generator)
        z = (problem.beta * pairs.feature_differences(problem)).to(device)
        label = pairs.label.to(device)
        weight = torch.full_like(label, 1.0 / config.n)
        share = mle_share(z, label)
        for arm, lam in lambdas.items():
            u = fit_ridge_logistic(z, label, weight, lam)
            grad = stationarity(z, label, weight, lam, u)
            u = u.cpu()
            delta = problem.theta_ref + u - problem.theta_star
            fisher_error = (nu * delta**2).sum(-1)
            kl = metrics.kl_target_to_policy(problem, problem.theta_ref + u)
            errors[f"{d}/{arm}"] = fisher_error.tolist()
            interval = mean_interval(fisher_error.numpy())
            d_eff = float(metrics.effective_dimension(nu, lam))
            rows.append(
                {
                    "d": d,
                    "arm": arm,
                    "lam": lam,
                    "d_eff": d_eff,
                    "error_mean": interval.mean,
                    "error_lo": interval.lo,
                    "error_hi": interval.hi,
                    "kl_mean": float(kl.mean()),
                    "prediction": predicted_risk(nu, problem.w_star, lam, config.n),
                    "bound": lam * config.signal**2 / 4 + d_eff / config.n,
                    "kl_target": float(metrics.kl_target_to_policy(problem, problem.theta_ref)),
                    "grad_max": grad,
                    "mle_share": share,
                }
            )
    return {
        "lam_star": lam_star,
        "curvature": design.curvature(),
        "top_eigenvalue": float(fisher_eigenvalues(config, 1)[0]),
        "rows": rows,
        "errors": errors,
    }


def relative_gap(values: dict, reference: dict) -> float:
    r"""The largest relative difference :math:`|e - e_{\mathrm{ref}}| / |e_{\mathrm{ref}}|`
    between the per-seed errors of ``values`` (a rerun, e.g. of the smallest dimension only)
    and those of the same ``d/arm`` entries in ``reference`` (the record)."""
    gaps = []
    for key, errors in values["errors"].items():
        recorded = np.asarray(reference["errors"][key], dtype=float)
        gaps.append(float(np.max(np.abs(np.subtract(errors, recorded)) / np.abs(recorded))))
    return max(gaps)


def ratio_span(ratios) -> str:
    """The range of a ratio to two decimals: ``"0.76"`` when its smallest and largest value
    agree to two decimals, else ``"0.74 to 0.78"``."""
    lo, hi = f"{min(ratios):.2f}", f"{max(ratios):.2f}"
    return lo if lo == hi else f"{lo} to {hi}"


def arms(values: dict):
    """The record's rows as two pandas frames indexed by d: the balanced ridge and
    ``lam_min``."""
    import pandas as pd

    rows = pd.DataFrame(values["rows"])
    return (rows[rows.arm == "balanced"].set_index("d"),
            rows[rows.arm == "lam_min"].set_index("d"))


def _per_seed(values: dict, arm: str, d: int) -> np.ndarray:
    return np.asarray(values["errors"][f"{d}/{arm}"], dtype=float)


def d_free_bound(values: dict, config: Config, risk: bool = False) -> float:
    r"""S5's :math:`d`-free bound at :math:`\lambda^\star` of a record: on
    :math:`d_{\mathrm{eff}}`, :math:`C_p(\lambda^\star/\nu_1)^{-1/p}`
    (:func:`srlm_core.theory.polynomial_spectrum.integral_comparison`), or with ``risk`` on
    the error, :math:`U(\lambda^\star) = \lambda^\star W^2/4 + C_p(\lambda^\star/\nu_1)^{-1/p}/n`
    (:func:`srlm_core.theory.polynomial_spectrum.balanced_ridge`)."""
    from srlm_core.theory import polynomial_spectrum

    at = {"p": config.p, "lam": values["lam_star"], "mu1": values["top_eigenvalue"]}
    if risk:
        return polynomial_spectrum.numeric(_balanced_ridge().risk_bound, **at, n=config.n,
                                           W=config.signal)
    return polynomial_spectrum.numeric(polynomial_spectrum.integral_comparison().upper, **at)


def summarise(values: dict, config: Config) -> dict:
    r"""The chapter's numbers from the record's values and parameters (``config``), S5.

    Setting: the sweep's parameters, :math:`\gamma`, :math:`\nu_1`, :math:`\lambda^\star`, the
    task size :math:`\mathrm{KL}(\pi^\star\Vert\pi_{\mathrm{ref}})` (mean and spread over d),
    :math:`d_{\mathrm{eff}}(\lambda^\star)` at the smallest and largest d beside its
    :math:`d`-free bound, and the smallest :math:`d_{\mathrm{eff}}(\lambda_{\min})/d`.
    Balanced ridge: the paired change of the error from the smallest to the largest d (mean and
    95% Student-t interval over seeds, in %), the largest deviation of a mean from the first,
    the range of measured over predicted error, how many predictions lie inside the seed
    interval, how many interval ends lie below the bound, and the smallest bound over mean.
    Near :math:`\lambda = 0`: the largest d at which every seed's unregularised estimate
    exists and the first at which one does not, the error over :math:`d/n` there, its growth
    against that of :math:`d/n`, its peak, its ratio to the balanced ridge's error at the
    largest d, and the final :math:`\mathrm{KL}(\pi^\star\Vert\hat\pi)` of both arms.

    Verdict words, chosen from those numbers: whether the paired change is equivalent to zero
    within ``FLAT_MARGIN`` (TOST over seeds), whether the measured mean lies below or above
    the second-order prediction in every dimension, whether the bound's slack grows by more
    than ``SLACK_GROWTH`` across d, whether the error near :math:`\lambda = 0` grows with d
    while the estimate exists, whether that arm ends further from :math:`\pi^\star` than
    the reference, and whether every Newton solve reached ``GRAD_TOL``."""
    import pandas as pd

    ridge, flat = arms(values)
    rows = pd.DataFrame(values["rows"])
    dims = [int(d) for d in ridge.index]
    change = (_per_seed(values, "balanced", dims[-1]) / _per_seed(values, "balanced", dims[0])
              - 1)
    change_ci = mean_interval(change)
    inside = (ridge["error_lo"] <= ridge["prediction"]) & (ridge["prediction"] <= ridge["error_hi"])
    exists = flat[flat["mle_share"] == 1]
    fails = flat.index[flat["mle_share"] < 1]
    flat_ratio = exists["error_mean"] / exists["prediction"]
    out = {
        "n_pairs": config.n,
        "n_seeds": config.seeds,
        "d_lo": dims[0],
        "d_hi": dims[-1],
        "orders": float(np.log10(dims[-1] / dims[0])),
        "p": config.p,
        "signal": config.signal,
        "gamma": values["curvature"],
        "nu1": values["top_eigenvalue"],
        "lam_star": values["lam_star"],
        "lam_min": config.lam_min,
        "kl_target": float(rows["kl_target"].mean()),
        "kl_target_spread": float(rows["kl_target"].max() - rows["kl_target"].min()),
        "deff_star_lo": float(ridge["d_eff"].iloc[0]),
        "deff_star_hi": float(ridge["d_eff"].iloc[-1]),
        "deff_free": d_free_bound(values, config),
        "lam_min_share": float((flat["d_eff"] / flat.index).min()),
        "flat_change_pct": 100 * change_ci.mean,
        "flat_change_lo": 100 * change_ci.lo,
        "flat_change_hi": 100 * change_ci.hi,
        "flat_max_dev_pct": float(100 * (ridge["error_mean"] / ridge["error_mean"].iloc[0] - 1)
                                  .abs().max()),
        "ridge_ratio": ratio_span(ridge["error_mean"] / ridge["prediction"]),
        "pred_change_pct": float(100 * (ridge["prediction"].iloc[-1]
                                        / ridge["prediction"].iloc[0] - 1)),
        "ridge_inside": int(inside.sum()),
        "n_dims": len(dims),
        "bound_holds": int((ridge["error_hi"] <= ridge["bound"]).sum()),
        "bound_slack": float((ridge["bound"] / ridge["error_mean"]).min()),
        "d_mle_last": int(exists.index.max()) if len(exists) else None,
        "d_mle_first_fail": int(fails.min()) if len(fails) else None,
        "flat_ratio_first": float(flat_ratio.iloc[0]) if len(exists) else None,
        "flat_ratio_last": float(flat_ratio.iloc[-1]) if len(exists) else None,
        "flat_growth": (float(exists["error_mean"].iloc[-1] / exists["error_mean"].iloc[0])
                        if len(exists) else None),
        "flat_growth_pred": float(exists.index[-1] / exists.index[0]) if len(exists) else None,
        "flat_peak": float(flat["error_mean"].max()),
        "flat_peak_d": int(flat["error_mean"].idxmax()),
        "flat_over_ridge_hi": float((flat["error_mean"] / ridge["error_mean"]).iloc[-1]),
        "kl_ridge": float(ridge["kl_mean"].iloc[-1]),
        "kl_flat": float(flat["kl_mean"].iloc[-1]),
        "grad_max": float(rows["grad_max"].max()),
    }
    return {**out, **_verdicts(out, ridge, flat, exists, change)}


def _verdicts(out: dict, ridge, flat, exists, change) -> dict:
    """The verdict words of :func:`summarise`."""
    flat_test = equivalence_test(change, FLAT_MARGIN)
    over = ridge["error_mean"] / ridge["prediction"]
    slack = ridge["bound"] / ridge["error_mean"]
    slack_growth = float(slack.iloc[-1] / slack.iloc[0] - 1)
    grows = len(exists) > 1 and out["flat_growth"] > 1
    converged = out["grad_max"] <= GRAD_TOL
    return {
        "flat_margin_pct": 100 * FLAT_MARGIN,
        "flat_equiv_p": flat_test.p_value,
        "flat_verdict": "stays flat" if flat_test.equivalent else "does not stay flat",
        "flat_equiv": ("equivalent to no change" if flat_test.equivalent
                       else "not shown to be equivalent to no change"),
        "pred_side": ("too high" if (over < 1).all() else "too low" if (over > 1).all()
                      else "on neither side throughout"),
        "bound_slack_growth_pct": 100 * slack_growth,
        "slack_growth_pct": 100 * SLACK_GROWTH,
        "bound_growth": ("does not grow with d" if abs(slack_growth) <= SLACK_GROWTH
                         else "grows with d" if slack_growth > 0 else "shrinks with d"),
        "flat_arm_verdict": "grows with d" if grows else "does not grow with d",
        "kl_side": "further from" if out["kl_flat"] > out["kl_target"] else "closer to",
        "newton_verdict": ("converged in every case" if converged
                           else "did not converge in every case"),
    }


def plot(values: dict, config: Config, sandwich: dict | None = None):
    r"""The error :math:`\lVert\hat\theta-\theta^\star\rVert_I^2` against d for both arms
    (mean over seeds with 95% Student-t intervals, the lower end clipped at :math:`10^{-12}`)
    beside its second-order prediction, the bound
    :math:`\lambda^\star\lVert w^\star\rVert^2/4+d_{\mathrm{eff}}(\lambda^\star)/n` and the
    :math:`d`-free bound :math:`U(\lambda^\star)` (S5); the range of d where some seed's
    unregularised estimate does not exist is shaded.  ``sandwich``: the values of
    :func:`srlm_core.experiments.sandwich_prediction.run`, drawn as a further prediction."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    ridge, flat = arms(values)
    dims = list(ridge.index)
    labels = {"balanced": r"balanced ridge $\lambda^\star$", "lam_min": r"$\lambda_{\min}\to 0$"}
    colors = {"balanced": sns.color_palette("viridis", 2)[0],
              "lam_min": sns.color_palette("rocket", 3)[1]}
    bound_free = d_free_bound(values, config, risk=True)

    fig, ax = plt.subplots(figsize=(10, 4.6))
    for arm, frame in (("balanced", ridge), ("lam_min", flat)):
        d = np.asarray(frame.index, dtype=float)
        ax.errorbar(d, frame["error_mean"],
                    yerr=[frame["error_mean"] - frame["error_lo"].clip(lower=1e-12),
                          frame["error_hi"] - frame["error_mean"]],
                    marker="o", capsize=3, color=colors[arm], label=labels[arm] + " (measured)")
        ax.plot(d, frame["prediction"], ls="--", color=colors[arm], lw=1.2,
                label="second-order prediction" + (r" ($\approx d/n$)" if arm == "lam_min" else ""))
    if sandwich is not None:
        ax.plot(sandwich["d"], sandwich["sandwich"], ls="-.", color=colors["balanced"], lw=1.2,
                label="sandwich prediction")
    ax.plot(ridge.index, ridge["bound"], ls=":", color=colors["balanced"], lw=1.5,
            label=r"$\lambda^\star\|w^\star\|^2/4+d_{\mathrm{eff}}(\lambda^\star)/n$")
    ax.axhline(bound_free, color="gray", lw=1, label=r"$d$-free bound $U(\lambda^\star)$")
    no_mle = flat.index[flat["mle_share"] < 1]
    if len(no_mle):
        ax.axvspan(no_mle[0] / np.sqrt(2), dims[-1] * 1.2, color="gray", alpha=0.12, lw=0)
        ax.text(np.sqrt(no_mle[0] * dims[-1]), 1e3, "unregularised estimate\ndoes not exist",
                fontsize=8, color="dimgray", ha="center", va="top")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_ylim(top=2e3)
    ax.set_xlabel("ambient dimension $d$")
    ax.set_ylabel(r"$\|\hat\theta-\theta^\star\|_I^2$")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig


def table(values: dict, sandwich: dict):
    r"""Per d: :math:`d_{\mathrm{eff}}(\lambda^\star)`; the measured error (mean and 95%
    interval over seeds), its second-order and sandwich predictions
    (:func:`srlm_core.experiments.sandwich_prediction.run`) and the bound at
    :math:`\lambda^\star`; the error at :math:`\lambda_{\min}` beside :math:`\approx d/n`; and
    the share of seeds whose unregularised estimate exists.  A pandas ``Styler``."""
    import pandas as pd

    ridge, flat = arms(values)
    dims = list(ridge.index)
    if list(sandwich["d"]) != dims:
        raise ValueError(f"sandwich prediction for d = {sandwich['d']}, record for d = {dims}")
    frame = pd.DataFrame({
        "d": dims,
        "d_eff(λ*)": ridge["d_eff"].to_numpy(),
        "error λ*": [f"{m:.5f} [{lo:.5f}, {hi:.5f}]" for m, lo, hi in
                     ridge[["error_mean", "error_lo", "error_hi"]].to_numpy()],
        "prediction λ*": ridge["prediction"].to_numpy(),
        "sandwich λ*": np.asarray(sandwich["sandwich"], dtype=float),
        "bound λ*": ridge["bound"].to_numpy(),
        "error λ_min": flat["error_mean"].to_numpy(),
        "d/n": flat["prediction"].to_numpy(),
        "MLE exists (share of seeds)": flat["mle_share"].to_numpy(),
    })
    return frame.style.format({
        "d_eff(λ*)": "{:.3f}", "prediction λ*": "{:.5f}", "sandwich λ*": "{:.5f}",
        "bound λ*": "{:.5f}", "error λ_min": "{:.4g}", "d/n": "{:.4g}",
        "MLE exists (share of seeds)": "{:.2f}",
    }).hide(axis="index")
