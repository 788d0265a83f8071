"""S5: the sandwich prediction of the balanced-ridge error, linearised at the population ridge
solution, and its comparison with the sweep's record."""

import pytest

from srlm_core import ConfigError
from srlm_core.experiments import effective_dimension, sandwich_prediction

SMALL = effective_dimension.Config(contexts=32, d_min=8, d_max=32, n=256)


@pytest.fixture(scope="module")
def values():
    return sandwich_prediction.run(SMALL)


def test_deterministic_and_per_dimension(values):
    assert sandwich_prediction.run(SMALL) == values
    assert values["d"] == [8, 16, 32]
    lam_star = effective_dimension.balanced_lambda(SMALL)
    assert values["lam_star"] == lam_star
    assert values["sandwich"] == [effective_dimension.sandwich_risk(SMALL, d, lam_star)
                                  for d in (8, 16, 32)]
    assert values["sandwich"][0] < values["sandwich"][1] < values["sandwich"][2]


def test_the_ridge_shrinks_the_margin_and_raises_the_curvature(values):
    design = SMALL.design()
    assert 0 < values["v_star"] < SMALL.signal
    assert values["curvature"] == design.curvature()
    assert values["h_star"] > values["curvature"]
    assert (values["h_star"], values["s_star"]) == design.sandwich_coefficients(values["v_star"])


def test_without_ridge_the_sandwich_is_the_plain_prediction():
    """As lambda -> 0, v -> W and h, s -> gamma: the sandwich becomes the second-order
    prediction at theta*, about d / n."""
    lam, d = 1e-12, 16
    problem = SMALL.design().problem(d)
    plain = effective_dimension.predicted_risk(
        effective_dimension.fisher_eigenvalues(SMALL, d), problem.w_star, lam, SMALL.n)
    assert effective_dimension.sandwich_risk(SMALL, d, lam) == pytest.approx(plain, rel=1e-9)
    assert plain == pytest.approx(d / SMALL.n, rel=1e-6)


def measured(means, los, his, predictions=(1.5, 3.0)):
    rows = [{"d": d, "arm": arm, "error_mean": m, "error_lo": lo, "error_hi": hi,
             "prediction": p}
            for d, m, lo, hi, p in zip((8, 16), means, los, his, predictions)
            for arm in ("balanced", "lam_min")]
    return {"rows": rows}


def test_summarise_on_hand_made_values():
    values = {"d": [8, 16], "sandwich": [1.0, 2.0], "v_star": 1.2, "h_star": 0.55,
              "curvature": 0.5}
    out = sandwich_prediction.summarise(values, measured([0.87, 1.74], [0.8, 1.5], [1.1, 1.9]))
    # plain: measured / prediction = 0.58 (gap 0.42); sandwich: 0.87 (gap 0.13)
    assert out == {"v_star": 1.2, "h_gain_pct": pytest.approx(10.0), "sandwich_ratio": "0.87",
                   "sandwich_inside": 1, "sandwich_closes": "most of the gap",
                   "sandwich_closed_pct": pytest.approx(100 * (1 - 0.13 / 0.42))}
    out = sandwich_prediction.summarise(values, measured([0.80, 1.80], [0.7, 1.7], [1.0, 2.1]))
    assert out["sandwich_ratio"] == "0.80 to 0.90"
    assert out["sandwich_inside"] == 2
    # plain gaps 0.2 and 0.1 (mean 0.15), sandwich gaps 0.2 and 0.1: nothing closed
    out = sandwich_prediction.summarise(values, measured([0.80, 1.80], [0.7, 1.7], [1.0, 2.1],
                                                         predictions=(1.0, 2.0)))
    assert out["sandwich_closes"] == "none of the gap"
    out = sandwich_prediction.summarise(values, measured([0.85, 1.8], [0.7, 1.7], [1.0, 2.1],
                                                         predictions=(0.5, 1.0)))
    assert out["sandwich_closes"] == "most of the gap"  # gaps 0.7, 0.8 against 0.15, 0.1
    out = sandwich_prediction.summarise(values, measured([0.5, 1.0], [0.4, 0.9], [0.6, 1.1],
                                                         predictions=(1.25, 2.5)))
    assert out["sandwich_closes"] == "less than half of the gap"  # gap 0.5 against 0.6


def test_summarise_refuses_other_dimensions():
    values = {"d": [8, 32], "sandwich": [1.0, 2.0], "v_star": 1.2, "h_star": 0.55,
              "curvature": 0.5}
    with pytest.raises(ValueError, match="record for d"):
        sandwich_prediction.summarise(values, measured([1, 2], [0, 1], [2, 3]))


def test_config_is_the_sweeps():
    assert sandwich_prediction.Config is effective_dimension.Config
    with pytest.raises(ConfigError) as err:
        sandwich_prediction.run(sandwich_prediction.Config(n=1))
    assert err.value.field == "n"
