r"""Linear softmax with n < d: the exact update rotates the direction, as the spectrum allows.

With :math:`n<d` the minimum-norm minimiser of Eq. 3 is :math:`\theta_t+P_S\theta_t/\beta`
(:func:`srlm_core.model.sharpening.linear.update`): only the part of :math:`\theta_t` in the span
:math:`S` of the sampled :math:`\Delta\phi` is amplified.  Per feature spectrum
(:math:`\lambda_j=e^{-aj}`, :math:`a=0` isotropic), dimension, update rule (minimum norm, or
ridge :math:`\lambda=` ``ridge_scale``:math:`/n`) and problem instance, at a fixed :math:`n`, it
records the one-round error of the centred logits against the population step,

.. math:: e_1=\frac{\lVert \bar z_{\theta_1}-\bar z_{(1+1/\beta)\theta_0}\rVert}
   {\lVert\bar z_{(1+1/\beta)\theta_0}\rVert},\qquad \bar z_\theta(x,y)=\theta\cdot\phi(x,y)
   -\tfrac1K\textstyle\sum_{y'}\theta\cdot\phi(x,y'),

its isotropic closed form :math:`\sqrt{1-r/d}/(1+\beta)` (:math:`r` the rank of the span;
:math:`\mathbb E\lVert P_{S^\perp}u\rVert^2=1-r/d` for a uniformly random :math:`S`), the
effective dimension :math:`d_\lambda` of Corollary 6.4 at :math:`\lambda=1/n` (from the
features' second moments), and after :math:`T` rounds :math:`\kappa`,
:math:`F_{\mathrm{own}}`, :math:`F_{\mathrm{base}}` and the mode-switch share.  Problem
instances are the units; the rules share each instance and its pairs' random stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from srlm_core import stats
from srlm_core.errors import require, require_at_least, require_positive
from srlm_core.experiments import named
from srlm_core.model.sharpening import linear, observables
from srlm_core.options import option

#: The glue names of each (spectrum decay, d): the mean error, d_lambda and the outcome after
#: T rounds (minimum norm).
CELL_NAMES = {
    (0.0, 8): {"err": "p3_rot_err_iso_d8", "d_eff": "p3_rot_deff_iso_d8",
               "switches": "p3_rot_switches_iso_d8", "failure_own": "p3_rot_failure_own_iso_d8",
               "failure_base": "p3_rot_failure_base_iso_d8", "kappa": "p3_rot_kappa_iso_d8"},
    (0.0, 32): {"err": "p3_rot_err_iso_d32", "d_eff": "p3_rot_deff_iso_d32",
                "switches": "p3_rot_switches_iso_d32", "failure_own": "p3_rot_failure_own_iso_d32",
                "failure_base": "p3_rot_failure_base_iso_d32", "kappa": "p3_rot_kappa_iso_d32"},
    (0.0, 128): {"err": "p3_rot_err_iso_d128", "d_eff": "p3_rot_deff_iso_d128",
                 "switches": "p3_rot_switches_iso_d128",
                 "failure_own": "p3_rot_failure_own_iso_d128",
                 "failure_base": "p3_rot_failure_base_iso_d128", "kappa": "p3_rot_kappa_iso_d128"},
    (0.0, 512): {"err": "p3_rot_err_iso_d512", "d_eff": "p3_rot_deff_iso_d512",
                 "switches": "p3_rot_switches_iso_d512",
                 "failure_own": "p3_rot_failure_own_iso_d512",
                 "failure_base": "p3_rot_failure_base_iso_d512", "kappa": "p3_rot_kappa_iso_d512"},
    (0.1, 8): {"err": "p3_rot_err_a010_d8", "d_eff": "p3_rot_deff_a010_d8",
               "switches": "p3_rot_switches_a010_d8", "failure_own": "p3_rot_failure_own_a010_d8",
               "failure_base": "p3_rot_failure_base_a010_d8", "kappa": "p3_rot_kappa_a010_d8"},
    (0.1, 32): {"err": "p3_rot_err_a010_d32", "d_eff": "p3_rot_deff_a010_d32",
                "switches": "p3_rot_switches_a010_d32",
                "failure_own": "p3_rot_failure_own_a010_d32",
                "failure_base": "p3_rot_failure_base_a010_d32", "kappa": "p3_rot_kappa_a010_d32"},
    (0.1, 128): {"err": "p3_rot_err_a010_d128", "d_eff": "p3_rot_deff_a010_d128",
                 "switches": "p3_rot_switches_a010_d128",
                 "failure_own": "p3_rot_failure_own_a010_d128",
                 "failure_base": "p3_rot_failure_base_a010_d128",
                 "kappa": "p3_rot_kappa_a010_d128"},
    (0.1, 512): {"err": "p3_rot_err_a010_d512", "d_eff": "p3_rot_deff_a010_d512",
                 "switches": "p3_rot_switches_a010_d512",
                 "failure_own": "p3_rot_failure_own_a010_d512",
                 "failure_base": "p3_rot_failure_base_a010_d512",
                 "kappa": "p3_rot_kappa_a010_d512"},
    (0.5, 8): {"err": "p3_rot_err_a050_d8", "d_eff": "p3_rot_deff_a050_d8",
               "switches": "p3_rot_switches_a050_d8", "failure_own": "p3_rot_failure_own_a050_d8",
               "failure_base": "p3_rot_failure_base_a050_d8", "kappa": "p3_rot_kappa_a050_d8"},
    (0.5, 32): {"err": "p3_rot_err_a050_d32", "d_eff": "p3_rot_deff_a050_d32",
                "switches": "p3_rot_switches_a050_d32",
                "failure_own": "p3_rot_failure_own_a050_d32",
                "failure_base": "p3_rot_failure_base_a050_d32", "kappa": "p3_rot_kappa_a050_d32"},
    (0.5, 128): {"err": "p3_rot_err_a050_d128", "d_eff": "p3_rot_deff_a050_d128",
                 "switches": "p3_rot_switches_a050_d128",
                 "failure_own": "p3_rot_failure_own_a050_d128",
                 "failure_base": "p3_rot_failure_base_a050_d128",
                 "kappa": "p3_rot_kappa_a050_d128"},
    (0.5, 512): {"err": "p3_rot_err_a050_d512", "d_eff": "p3_rot_deff_a050_d512",
                 "switches": "p3_rot_switches_a050_d512",
                 "failure_own": "p3_rot_failure_own_a050_d512",
                 "failure_base": "p3_rot_failure_base_a050_d512",
                 "kappa": "p3_rot_kappa_a050_d512"},
}


@dataclass(frozen=True)
class Config:
    """``n``: pairs per round; ``dims``: feature dimensions :math:`d` (increasing); ``decays``:
    spectra :math:`a` (0 isotropic, listed first); ``ridge_scales``: the update rules, ridge
    :math:`\\lambda=` scale :math:`/n` (0: minimum norm, listed first); ``beta``; ``kappa0``:
    :math:`\\kappa(\\pi_0)` of every instance; ``rounds``: :math:`T`; ``prompts``,
    ``responses``: the table's size; ``instances``: problem instances per spectrum and
    dimension; the margins, fixed before the run: ``closed_form_margin`` (largest relative gap
    of the isotropic mean error to its closed form), ``rise_margin`` (smallest rise of the
    isotropic error from the smallest to the largest :math:`d`), ``flat_margin`` (the
    equivalence margin of the last spectrum's error between :math:`d=n` and the largest
    :math:`d`); ``seed``: base seed."""

    n: int = option(32, "pairs per round")
    dims: tuple[int, ...] = option((8, 32, 128, 512), "feature dimensions d, increasing")
    decays: tuple[float, ...] = option((0.0, 0.1, 0.5),
                                       "spectra a of lambda_j = exp(-a j) (0, isotropic, first)")
    ridge_scales: tuple[float, ...] = option((0.0, 1.0),
                                             "update rules: ridge lambda = scale / n (0, minimum "
                                             "norm, first)")
    beta: float = option(1.0, "KL strength beta")
    kappa0: float = option(8.0, "kappa(pi_0) of every instance")
    rounds: int = option(4, "rounds T")
    prompts: int = option(128, "prompts of the table")
    responses: int = option(32, "responses per prompt")
    instances: int = option(8, "problem instances per spectrum and dimension")
    closed_form_margin: float = option(0.2,
                                       "largest relative gap of the isotropic mean error to its "
                                       "closed form")
    rise_margin: float = option(0.2,
                                "smallest rise of the isotropic error from the smallest to the "
                                "largest d")
    flat_margin: float = option(0.05,
                                "equivalence margin of the last spectrum's error between d = n "
                                "and the largest d")
    seed: int = option(0, "base seed")

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        require_at_least(self, 1, "n", "rounds", "prompts")
        require_at_least(self, 2, "responses", "instances")
        require(self, ("dims", len(self.dims) >= 2 and list(self.dims) == sorted(set(self.dims))
                       and self.dims[0] >= 1, "needs two or more increasing dimensions"),
                ("dims", self.n in self.dims, "must contain n"),
                ("decays", bool(self.decays) and self.decays[0] == 0
                 and min(self.decays) >= 0, "must start with 0 (isotropic), none negative"),
                ("ridge_scales", bool(self.ridge_scales) and self.ridge_scales[0] == 0
                 and min(self.ridge_scales) >= 0, "must start with 0 (minimum norm)"),
                ("kappa0", 1 < self.kappa0 < self.responses,
                 "must lie strictly between 1 and responses"))
        require_positive(self, "beta", "closed_form_margin", "rise_margin", "flat_margin")
        return self


def centred_logits(theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    r"""The logits :math:`\theta\cdot\phi(x,y)` minus their mean over responses."""
    z = phi @ theta
    return z - z.mean(axis=-1, keepdims=True)


def effective_dimension(phi: np.ndarray, ridge: float) -> float:
    r"""Corollary 6.4's :math:`d_\lambda=\sum_j\mu_j/(\mu_j+\lambda)` with :math:`\mu_j` the
    eigenvalues of the features' second-moment matrix :math:`\mathbb E\phi\phi^\top`, which
    the sign symmetry of :math:`g` makes diagonal: :math:`\mu_j` is estimated by the mean of
    :math:`\phi_j^2` over all prompts and responses."""
    second = np.mean(phi.reshape(-1, phi.shape[-1]) ** 2, axis=0)
    return float(np.sum(second / (second + ridge)))


def run(config: Config) -> dict:
    r"""One row per spectrum, dimension, rule and instance: :math:`e_1`, the rank of round 0's
    span, the isotropic closed form, :math:`d_\lambda(1/n)`, and the observables of
    :math:`\pi_T`."""
    c = config.validate()
    rows = []
    for decay in c.decays:
        for d in c.dims:
            for instance in range(c.instances):
                rng = np.random.default_rng((c.seed, int(1000 * decay), d, instance))
                phi, theta0 = linear.problem(c.prompts, c.responses, d, decay, c.kappa0, rng)
                base = observables.modes(linear.policy(theta0, phi))
                target = centred_logits((1 + 1 / c.beta) * theta0, phi)
                d_eff = effective_dimension(phi, 1.0 / c.n)
                for scale in c.ridge_scales:
                    pairs_rng = np.random.default_rng((c.seed, int(1000 * decay), d, instance, 1))
                    thetas, log = linear.iterate(theta0, phi, c.beta, c.rounds, c.n, pairs_rng,
                                                 ridge=scale / c.n)
                    final = linear.policy(thetas[-1], phi)
                    error = centred_logits(thetas[1], phi) - target
                    rank = log[0].rank
                    rows.append({
                        "decay": decay, "d": d, "ridge_scale": scale, "instance": instance,
                        "error": float(np.linalg.norm(error) / np.linalg.norm(target)),
                        "rank": rank, "closed_form": float(np.sqrt(1 - rank / d) / (1 + c.beta)),
                        "d_eff": d_eff, "kappa": float(observables.kappa(final)),
                        "failure_own": float(observables.failure_own(final)),
                        "failure_base": float(observables.failure_base(final, base)),
                        "switches": float(observables.mode_switches(final, base))})
    return {"n": c.n, "dims": list(c.dims), "decays": list(c.decays), "beta": c.beta,
            "kappa0": c.kappa0, "rounds": c.rounds, "prompts": c.prompts,
            "responses": c.responses,
            "ridge_scales": list(c.ridge_scales), "instances": c.instances,
            "margins": {"closed_form": c.closed_form_margin, "rise": c.rise_margin,
                        "flat": c.flat_margin}, "rows": rows}


def _errors(rows, decay, d, scale=0.0, key="error") -> np.ndarray:
    """One cell's values, ordered by instance."""
    cell = sorted((r for r in rows if r["decay"] == decay and r["d"] == d
                   and r["ridge_scale"] == scale), key=lambda r: r["instance"])
    return np.array([r[key] for r in cell])


def summarise(values: dict) -> dict:
    r"""The design's numbers, and verdicts on the pre-registered shapes (isotropic closed form
    within its margin at every :math:`d` with :math:`r<d`; the isotropic error rising by more than
    its margin from the smallest to the largest :math:`d`, 95% interval over instances; the worst
    :math:`d` of the closed form and the largest gap elsewhere; the last spectrum's error equivalent
    between :math:`d=n` and the largest :math:`d`, two one-sided tests; the errors at every
    :math:`d>n` ordered as the spectra's :math:`d_\lambda`; the ridge error at least the
    minimum-norm error in every cell) and per spectrum and dimension the mean error,
    :math:`d_\lambda` and the outcome after :math:`T` rounds (minimum norm)."""
    rows, m = values["rows"], values["margins"]
    dims, decays, n = values["dims"], values["decays"], values["n"]
    lo_d, hi_d = dims[0], dims[-1]
    out = {"p3_rot_n": n, "p3_rot_d_max": hi_d, "p3_rot_d_min": lo_d,
           "p3_rot_dims": ", ".join(map(str, dims)),
           "p3_rot_decays": ", ".join(f"{a:g}" for a in decays if a > 0),
           "p3_rot_decay_last": decays[-1], "p3_rot_beta": values["beta"],
           "p3_rot_kappa0": values["kappa0"], "p3_rot_rounds": values["rounds"],
           "p3_rot_prompts": values["prompts"], "p3_rot_responses": values["responses"],
           "p3_rot_instances": values["instances"],
           "p3_rot_closed_margin": 100 * m["closed_form"], "p3_rot_rise_margin": m["rise"],
           "p3_rot_flat_margin": m["flat"]}
    gaps = {}
    for d in dims:
        measured = _errors(rows, 0.0, d).mean()
        closed = _errors(rows, 0.0, d, key="closed_form").mean()
        if closed > 0:
            gaps[d] = abs(measured / closed - 1)
    worst = max(gaps, key=gaps.get)
    out["p3_rot_closed_worst_d"] = worst
    out["p3_rot_closed_worst_measured"] = float(_errors(rows, 0.0, worst).mean())
    out["p3_rot_closed_worst_predicted"] = float(_errors(rows, 0.0, worst,
                                                         key="closed_form").mean())
    out["p3_rot_closed_others"] = 100 * float(max((g for d, g in gaps.items() if d != worst),
                                                  default=0.0))
    gaps = list(gaps.values())
    out["p3_rot_closed_gap"] = 100 * float(max(gaps))
    out["p3_rot_closed_verdict"] = "holds" if max(gaps) <= m["closed_form"] else "fails"
    rise = stats.mean_interval(_errors(rows, 0.0, hi_d) - _errors(rows, 0.0, lo_d))
    out.update({"p3_rot_rise": rise.mean, "p3_rot_rise_lo": rise.lo, "p3_rot_rise_hi": rise.hi,
                "p3_rot_rise_verdict": "holds" if rise.lo > m["rise"] else "fails"})
    last = decays[-1]
    change = _errors(rows, last, hi_d) - _errors(rows, last, n)
    tost = stats.equivalence_test(change, m["flat"])
    spread = change.std(ddof=1) if change.std(ddof=1) > 0 else 0.0
    out.update({"p3_rot_flat": float(change.mean()), "p3_rot_flat_p": tost.p_value,
                "p3_rot_flat_mdd": stats.minimum_detectable_difference(spread, len(change)),
                "p3_rot_flat_verdict": "holds" if tost.equivalent else "fails"})
    ordered = all(np.all(np.diff([_errors(rows, a, d).mean() for a in decays]) < 0)
                  for d in dims if d > n)
    out["p3_rot_order_verdict"] = "holds" if ordered else "fails"
    worse = [(_errors(rows, a, d, s).mean() >= _errors(rows, a, d).mean())
             for a in decays for d in dims for s in values["ridge_scales"][1:]]
    out["p3_rot_ridge_cells"] = len(worse)
    out["p3_rot_ridge_worse"] = int(sum(worse))
    out["p3_rot_ridge_verdict"] = "holds" if all(worse) else "fails"
    for a in decays:
        for d in dims:
            out.update(named(CELL_NAMES.get((a, d)), err=float(_errors(rows, a, d).mean()), **{
                key: float(_errors(rows, a, d, key=key).mean())
                for key in ("d_eff", "switches", "failure_own", "failure_base", "kappa")}))
    return out


def plot(values: dict):
    """Three panels against :math:`d` (log scale), one line per spectrum (minimum norm solid,
    ridge dashed; markers: means over instances with 95% intervals): the one-round logit
    error :math:`e_1` with the isotropic closed form (grey); the same error against
    :math:`d_\\lambda(1/n)`; the mode-switch share after :math:`T` rounds."""
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    frame = pd.DataFrame(values["rows"])
    frame["spectrum"] = frame["decay"].map(lambda a: "isotropic" if a == 0 else f"a = {a:g}")
    frame["rule"] = frame["ridge_scale"].map(lambda s: "min-norm" if s == 0 else f"ridge {s:g}/n")
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    sns.lineplot(data=frame, x="d", y="error", hue="spectrum", style="rule", marker="o",
                 seed=0, ax=axes[0])
    iso = frame[(frame.decay == 0) & (frame.ridge_scale == 0)].groupby("d")["closed_form"].mean()
    axes[0].plot(iso.index, iso.values, color="gray", lw=3, alpha=0.5, label="closed form")
    axes[0].set_ylabel(r"one-round logit error $e_1$")
    main = frame[frame.ridge_scale == 0]
    sns.scatterplot(data=main, x="d_eff", y="error", hue="spectrum", size="d", ax=axes[1],
                    legend=False, alpha=0.6)
    axes[1].set_xlabel(r"$d_\lambda$ at $\lambda=1/n$")
    axes[1].set_ylabel(r"$e_1$")
    sns.lineplot(data=main, x="d", y="switches", hue="spectrum", marker="o", ax=axes[2],
                 seed=0, legend=False)
    axes[2].set_ylabel(r"mode switches after $T$ rounds")
    for ax in (axes[0], axes[1], axes[2]):
        ax.set_xscale("log")
    axes[0].axvline(values["n"], color="gray", ls=":")
    axes[2].axvline(values["n"], color="gray", ls=":")
    fig.tight_layout()
    return fig
