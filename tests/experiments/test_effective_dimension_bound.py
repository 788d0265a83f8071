"""S5: d_eff(lambda; d) of the sweep's Fisher spectrum against its d-free bound."""

import math
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from srlm_core import ConfigError
from srlm_core.experiments import effective_dimension, effective_dimension_bound

SWEEP = effective_dimension.Config(contexts=64, d_min=16, d_max=64, n=256)
SMALL = effective_dimension_bound.Config(sweep=SWEEP, dims=(1, 8, 64), log_lam_lo=-4.0,
                                         log_lam_hi=0.0, points=5)


@pytest.fixture(scope="module")
def values():
    return effective_dimension_bound.run(SMALL)


def test_deterministic(values):
    assert effective_dimension_bound.run(SMALL) == values


def test_closed_forms(values):
    """p = 2: nu_1 = gamma 6 / pi^2, d_eff(lambda; 1) = nu_1 / (nu_1 + lambda), the bound is
    (pi / 2) sqrt(nu_1 / lambda) and lambda* = (pi sqrt(nu_1) / (W^2 n))^(2/3)."""
    design = SWEEP.design()
    nu_1 = design.curvature() * 6 / math.pi**2
    assert values["top_eigenvalue"] == pytest.approx(nu_1, rel=1e-14)
    lambdas = np.logspace(-4, 0, 5)
    assert values["lambdas"] == pytest.approx(lambdas.tolist(), rel=1e-15)
    assert values["d_eff"]["1"] == pytest.approx((nu_1 / (nu_1 + lambdas)).tolist(), rel=1e-14)
    assert values["upper"] == pytest.approx((math.pi / 2 * np.sqrt(nu_1 / lambdas)).tolist(),
                                            rel=1e-12)
    lam_star = (math.pi * math.sqrt(nu_1) / (SWEEP.signal**2 * SWEEP.n)) ** (2 / 3)
    assert values["lam_star"] == pytest.approx(lam_star, rel=1e-12)


def test_every_curve_is_under_the_d_free_bound_and_grows_with_d(values):
    curves = np.array([values["d_eff"][str(d)] for d in SMALL.dims])
    assert np.all(curves <= np.asarray(values["upper"]))
    assert np.all(np.diff(curves, axis=0) > 0)
    assert np.all(curves[-1] <= 64)


def test_defaults_are_the_chapter_run():
    config = effective_dimension_bound.Config()
    assert config.sweep == effective_dimension.Config()
    assert config.dims == (16, 256, 4096)
    assert config.lambdas() == pytest.approx(np.logspace(-9, 0, 200).tolist(), rel=1e-15)


@pytest.mark.parametrize(
    "changes, field",
    [({"dims": (128,)}, "dims"), ({"dims": ()}, "dims"), ({"points": 1}, "points"),
     ({"log_lam_hi": -5.0}, "log_lam_hi"),
     ({"sweep": effective_dimension.Config(n=1)}, "n")],
)
def test_bad_config_is_named(changes, field):
    with pytest.raises(ConfigError) as err:
        replace(SMALL, **changes).validate()
    assert err.value.field == field


def test_plot(values):
    fig = effective_dimension_bound.plot(values)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert len(ax.get_lines()) >= len(SMALL.dims) + 3  # curves, two bounds, lambda*
    plt.close(fig)
