r"""S5 in SymPy: d_eff of a spectrum mu_j ~ j^-p and the balanced ridge's rate do not involve d.

The displayed equations of the derivation in :mod:`srlm_core.theory.polynomial_spectrum`, as
LaTeX: the constant :math:`C_p=\int_0^\infty du/(1+u^p)` and the integral
:math:`\int_0^\infty f = C_p(\lambda/\mu_1)^{-1/p}` of
:math:`f(x) = 1/(1+(\lambda/\mu_1)x^p)`; the sign of :math:`f'` and the integral-comparison
sandwich of :math:`d_{\mathrm{eff}}`; the bias and variance of one eigendirection of the
linearised ridge estimator with their slack against :math:`\lambda w^2/4` and
:math:`\mu/(n(\mu+\lambda))`; the unregularised variance :math:`d/n`; and the balanced ridge
:math:`\lambda^\star` with the exponents of :math:`U(\lambda^\star)` and
:math:`d_{\mathrm{eff}}(\lambda^\star)` in n; and the ridge inside the iterated procedure
(:func:`srlm_core.theory.polynomial_spectrum.iterated_ridge`): its round map and fixed point,
the effective ridge :math:`\lambda/\alpha`, the stationary variance, the bound
:math:`U_\alpha` and how the balanced ridge scales with :math:`\alpha`.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from srlm_core.errors import require
from srlm_core.options import option
from srlm_core.theory import polynomial_spectrum


@dataclass(frozen=True)
class Config:
    """``p``: the decay exponent at which the rate :math:`-p/(p+1)` is also given as a
    number (the sweep's)."""

    p: float = option(2.0, "decay exponent at which the rate -p/(p+1) is also given as a number")

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        require(self, ("p", self.p > 1, "must be > 1 (a summable spectrum)"))
        return self


def run(config: Config) -> dict:
    r"""``equations``: the derivation's displays by glue name (LaTeX); ``rate``: the
    exponent :math:`-p/(p+1)` of :math:`U(\lambda^\star)` in n at ``config.p`` (read as an
    exact fraction), as text."""
    config.validate()
    c_p = polynomial_spectrum.integral_constant()
    integral = polynomial_spectrum.effective_dimension_integral()
    asymptotic = polynomial_spectrum.effective_dimension_asymptotic()
    if sp.simplify(integral - asymptotic) != 0:
        raise ArithmeticError(f"SymPy's integral {integral} is not C_p (lambda/mu_1)^(-1/p)")
    comparison = polynomial_spectrum.integral_comparison()
    risk = polynomial_spectrum.second_order_risk()
    balanced = polynomial_spectrum.balanced_ridge()
    d_eff = r"d_{\mathrm{eff}}"
    equations = {
        "s5_cp": r"C_p = \int_0^\infty \frac{du}{1+u^p} = " + sp.latex(c_p),
        "s5_integral": r"\int_0^\infty \frac{dx}{1+(\lambda/\mu_1)x^p} = " + sp.latex(asymptotic),
        "s5_c2": (r"C_2 = " + sp.latex(c_p.subs(polynomial_spectrum.p, 2)) + r",\qquad C_3 = "
                  + sp.latex(sp.simplify(c_p.subs(polynomial_spectrum.p, 3)))),
        "s5_fprime": r"f'(x) = " + sp.latex(comparison.derivative) + r"\;<\;0,",
        "s5_sandwich": (sp.latex(comparison.lower) + r"\;\le\; " + d_eff
                        + r"(\lambda; d=\infty),\qquad " + d_eff + r"(\lambda; d)\;\le\;"
                        + sp.latex(comparison.upper) + r"\quad\text{for every } d."),
        "s5_bias": r"\text{bias} = " + sp.latex(risk.bias),
        "s5_variance": r"\text{variance} = " + sp.latex(risk.variance),
        "s5_bias_slack": (r"\frac{\lambda w^2}{4}-\text{bias} = " + sp.latex(risk.bias_slack)
                          + r"\;\ge 0"),
        "s5_variance_slack": (r"\frac{\mu}{n(\mu+\lambda)}-\text{variance} = "
                              + sp.latex(risk.variance_slack) + r"\;\ge 0"),
        "s5_unreg": (r"\lim_{\lambda\to 0}\sum_{j\le d}\frac{\mu_j^2}{n(\mu_j+\lambda)^2} = "
                     + sp.latex(polynomial_spectrum.unregularised_variance())),
        "s5_lam_star": r"\lambda^\star = " + sp.latex(balanced.lam_star),
        "s5_rates": (r"\frac{d\log U(\lambda^\star)}{d\log n} = " + sp.latex(balanced.rate)
                     + r",\qquad \frac{d\log " + d_eff + r"(\lambda^\star)}{d\log n} = "
                     + sp.latex(balanced.d_eff_rate)),
    }
    equations.update(iterated_equations(polynomial_spectrum.iterated_ridge()))
    rate = balanced.rate.subs(polynomial_spectrum.p, sp.nsimplify(config.p, rational=True))
    return {"equations": equations, "rate": str(rate)}


def iterated_equations(theory: polynomial_spectrum.IteratedRidge) -> dict:
    """The displays of :func:`srlm_core.theory.polynomial_spectrum.iterated_ridge` (the ridge
    inside the iterated procedure), as LaTeX by glue name."""
    return {
        "ir_map": (r"u_{t+1} = " + sp.latex(theory.round_map) + r",\qquad u_\infty = "
                   + sp.latex(theory.fixed_point)),
        "ir_bias_factor": (r"\frac{w-u_\infty}{w} = " + sp.latex(theory.bias_factor)
                           + r" = \frac{\lambda_e}{\mu+\lambda_e},\qquad \lambda_e = "
                           + sp.latex(theory.effective_ridge)),
        "ir_variance": (r"\mu\operatorname{Var}_\infty = " + sp.latex(theory.variance)
                        + r",\qquad \frac{\mu}{\alpha(2-\alpha)n(\mu+\lambda/\alpha)}"
                        r"-\mu\operatorname{Var}_\infty = " + sp.latex(theory.variance_slack)),
        "ir_bias_slack": (r"\frac{\lambda w^2}{4\alpha}-\text{bias} = "
                          + sp.latex(theory.bias_slack) + r"\;\ge 0"),
        "ir_bound": r"U_\alpha(\lambda) = " + sp.latex(theory.risk_bound),
        "ir_lam_star": (r"\frac{\lambda^\star_\alpha}{\lambda^\star_1} = "
                        + sp.latex(theory.lam_star_ratio) + r",\qquad \frac{U_\alpha"
                        r"(\lambda^\star_\alpha)}{U_1(\lambda^\star_1)} = "
                        + sp.latex(theory.risk_star_ratio)),
        "ir_cost": (r"\frac{U_\alpha(\lambda^\star_1)}{U_\alpha(\lambda^\star_\alpha)} = "
                    + sp.latex(theory.one_step_cost)),
    }
