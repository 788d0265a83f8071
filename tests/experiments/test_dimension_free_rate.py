"""S5 in SymPy: the displayed equations of the derivation and the rate at the sweep's p."""

import pytest
import sympy as sp

from srlm_core import ConfigError
from srlm_core.experiments import dimension_free_rate
from srlm_core.theory import polynomial_spectrum


@pytest.fixture(scope="module")
def values():
    return dimension_free_rate.run(dimension_free_rate.Config())


def test_known_constants_and_rate(values):
    equations = values["equations"]
    assert equations["s5_c2"] == r"C_2 = \frac{\pi}{2},\qquad C_3 = \frac{2 \sqrt{3} \pi}{9}"
    assert equations["s5_unreg"].endswith(r"= \frac{d}{n}")
    assert equations["s5_rates"].endswith(r"= - \frac{p}{p + 1},\qquad \frac{d\log "
                                          r"d_{\mathrm{eff}}(\lambda^\star)}{d\log n} = "
                                          r"\frac{1}{p + 1}")
    assert values["rate"] == "-2/3"  # -p/(p+1) at p = 2


def test_equations_show_the_theory_expressions(values):
    equations = values["equations"]
    assert equations["s5_cp"].endswith(sp.latex(polynomial_spectrum.integral_constant()))
    lam_star = polynomial_spectrum.balanced_ridge().lam_star
    assert equations["s5_lam_star"] == r"\lambda^\star = " + sp.latex(lam_star)
    assert set(equations) == {
        "s5_cp", "s5_integral", "s5_c2", "s5_fprime", "s5_sandwich", "s5_bias", "s5_variance",
        "s5_bias_slack", "s5_variance_slack", "s5_unreg", "s5_lam_star", "s5_rates",
        "ir_map", "ir_bias_factor", "ir_variance", "ir_bias_slack", "ir_bound", "ir_lam_star",
        "ir_cost",
    }
    theory = polynomial_spectrum.iterated_ridge()
    assert equations["ir_bias_factor"].startswith(r"\frac{w-u_\infty}{w} = "
                                                  + sp.latex(theory.bias_factor))
    assert sp.latex(theory.lam_star_ratio) in equations["ir_lam_star"]


def test_rate_at_a_fractional_p():
    assert dimension_free_rate.run(dimension_free_rate.Config(p=2.5))["rate"] == "-5/7"


def test_bad_p_is_named():
    with pytest.raises(ConfigError) as err:
        dimension_free_rate.Config(p=1.0).validate()
    assert err.value.field == "p"
