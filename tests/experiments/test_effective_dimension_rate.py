import numpy as np
import pytest
import torch

from srlm_core import ConfigError
from srlm_core.experiments import effective_dimension_rate as rate
from srlm_core.model.spectral_features import SpectralDesign


def test_config_validates_and_names_the_field():
    rate.Config().validate()
    with pytest.raises(ConfigError, match="ps"):
        rate.Config(ps=(1.0,)).validate()
    with pytest.raises(ConfigError, match="dims"):
        rate.Config(dims=(512,)).validate()


def test_fisher_is_gamma_sigma_when_the_reward_is_on_the_top_direction():
    config = rate.Config(contexts=16, reward_decay=60.0)  # w = signal e_1 to rounding
    prob = rate.problem(config, 2.0, 8)
    design = SpectralDesign(p=2.0, contexts=16, signal=config.signal)
    expected = design.curvature() * torch.diag(design.eigenvalues(8))
    assert torch.allclose(rate.fisher(prob), expected, atol=1e-12)


def test_the_spread_reward_has_the_stated_norm_and_decay():
    prob = rate.problem(rate.Config(contexts=16), 1.5, 8)
    w = prob.w_star
    assert float(w.norm()) == pytest.approx(1.5)
    assert float(w[0] / w[3]) == pytest.approx(4.0)


def hand_made(slope_big, slope_small, second=-0.7, asym=-2 / 3, J=10, seeds=12):
    rng = np.random.default_rng(0)
    ns = [256, 1024, 4096]
    preds, cells = [], []
    for d, slope in ((4, slope_small), (16, slope_big), (64, slope_big)):
        preds.append({"p": 2.0, "d": d, "asymptotic": asym, "second_order": second,
                      "J": J, "risk": [1.0] * 3, "nu1": 0.1, "lam_first": 0.01,
                      "lam_last": 0.001})
        for n in ns:
            noise = np.exp(0.02 * rng.standard_normal(seeds))
            cells.append({"p": 2.0, "d": d, "n": n, "lam": 0.01,
                          "second_order": (n / 256) ** second,
                          "errors": ((n / 256) ** slope * noise).tolist()})
    return {"predictions": preds, "cells": cells, "ns": ns,
            "margins": {"slope": 0.1, "model": 0.05, "d": 0.05}}


def test_summarise_verdicts_hold_on_a_d_free_rate_at_the_prediction():
    out = rate.summarise(hand_made(-0.7, -0.9))
    assert (out["s5r_asym_2"], out["s5r_model_2"], out["s5r_free_2"], out["s5r_shows_2"]) == (
        "holds", "holds", "holds", "holds")


def test_summarise_verdicts_fail_off_the_prediction_and_without_d_dependence():
    out = rate.summarise(hand_made(-0.4, -0.4))
    assert (out["s5r_asym_2"], out["s5r_model_2"], out["s5r_shows_2"]) == (
        "fails", "fails", "fails")
    values = hand_made(-0.7, -0.7)
    values["cells"] = [c if c["d"] != 64 else {**c, "errors": [e * (c["n"] / 256) ** 0.2
                                                              for e in c["errors"]]}
                       for c in values["cells"]]
    assert rate.summarise(values)["s5r_free_2"] == "fails"
    assert rate.summarise(hand_made(-0.7, -0.9, J=2))["s5r_shows_2"] == "no such d"


def test_small_run_has_the_shape_and_closes_its_figure():
    import matplotlib.pyplot as plt

    config = rate.Config(ps=(2.0,), ns=(256, 1024), dims=(4, 16), contexts=16, seeds=4)
    values = rate.run(config)
    assert len(values["cells"]) == 4
    assert all(len(c["errors"]) == 4 and min(c["errors"]) > 0 for c in values["cells"])
    assert set(rate.prediction_numbers(values["predictions"])) >= {"s5p_asym_2", "s5p_J_2"}
    plt.close(rate.plot(values))
