"""The analysis of the controlled-alpha measurements on synthetic log-ratios whose answer is
known: E_t by hand, gamma-hat, and predictions that hold when the data follow the partial-step
recursion and fail when they do not."""

import numpy as np
import pytest

from srlm_core.experiments import controlled_alpha_analysis as analysis
from srlm_core.experiments.controlled_alpha_analysis import analyse

C = 2.0
K = 4
P = 12


def _pool(rng):
    g = np.tile([1, 0, 1, 0], P + 2)
    return {"prompt_ids": list(range(P + 2)), "split": ["train"] * P + ["heldout"] * 2,
            "sizes": [K] * (P + 2), "g": g.tolist(), "edited": [False] * (K * (P + 2)),
            "logp0": rng.normal(-50, 5, K * (P + 2)).tolist(),
            "pi0_sampled": {"prompt_ids": [], "pass_rate": []}}


def _arm(pool, alpha, rounds, factor, reference="fixed", epoch_factor=1, noise=0.0, seed=1):
    """h_t = c g + e_t with e_t = -factor_t c g (per-answer noise optional)."""
    rng = np.random.default_rng(seed)
    g = np.asarray(pool["g"], float)
    rows = [np.zeros_like(g)]
    for t in range(1, rounds + 1):
        e = -factor(t) * C * g + noise * rng.normal(size=g.shape)
        rows.append(C * g + e)
    return {"alpha": alpha, "rounds": rounds, "reference": reference, "labels": "soft",
            "epoch_factor": epoch_factor, "h": [r.tolist() for r in rows]}


def _records(gamma=0.8, rho_05=None, moving_gamma=None):
    rng = np.random.default_rng(0)
    pool = _pool(rng)
    rho_05 = rho_05 or (1 - gamma * 0.5)
    main = {"pool": pool, "arms": {
        "alpha-1": _arm(pool, 1.0, 2, lambda t: (1 - gamma) ** t, noise=0.02),
        "alpha-0.5": _arm(pool, 0.5, 4, lambda t: rho_05 ** t, noise=0.02, seed=2),
        "alpha-0.25": _arm(pool, 0.25, 4, lambda t: (1 - gamma * 0.25) ** t, noise=0.02,
                           seed=3)}}
    from srlm_core.theory.partial_step import moving_reference

    form = moving_reference().closed_form
    import srlm_core.theory.partial_step as ps

    mg = moving_gamma or gamma
    contrast = {"pool": pool, "arms": {
        "single-step": _arm(pool, 0.5, 1, lambda t: 1 - 0.9 * 0.5, epoch_factor=4, noise=0.02),
        "moving": _arm(pool, 0.5, 4, lambda t: -float(form.subs({ps.alpha: 0.5, ps.gamma: mg,
                                                                 ps.t: t})),
                       reference="moving", noise=0.02)}}
    return main, contrast


def test_error_curve_and_gamma_by_hand():
    main, contrast = _records()
    out = analyse(main, contrast, scale=C, n_boot=300)
    # E_0: centred c g on (1, 0, 1, 0) is +-1 everywhere, so E_0 = 1
    assert out["E0"] == pytest.approx(1.0)
    assert out["gamma"]["value"] == pytest.approx(0.8, abs=0.02)
    ratio = out["arms"]["alpha-0.5"]["ratio"]["value"]
    assert ratio == pytest.approx([0.6 ** t for t in range(5)], abs=0.03)
    assert out["arms"]["moving"]["coordinate"]["value"][0] == pytest.approx(-1.0)


def test_predictions_hold_when_the_data_follow_the_recursion():
    out = analyse(*_records(), scale=C, n_boot=300)
    assert out["predictions"]["verdict"] == {"P1": True, "P2": True, "P3": True, "P4": True}
    assert out["predictions"]["P4"]["moving"]["overshoots"]


def test_predictions_fail_when_they_should():
    # alpha = 0.5 contracts at 0.8 per round although gamma-hat predicts 0.6
    out = analyse(*_records(rho_05=0.8), scale=C, n_boot=300)
    assert out["predictions"]["verdict"]["P1"] is False
    assert out["predictions"]["P1"]["alpha-0.5"]["gap"]["value"] == pytest.approx(0.2, abs=0.03)
    # a moving reference that grows with a different gamma is caught
    out = analyse(*_records(moving_gamma=0.3), scale=C, n_boot=300)
    assert out["predictions"]["verdict"]["P4"] is False


def test_decomposition_splits_the_error_exactly():
    out = analyse(*_records(), scale=C, n_boot=100)
    arm = out["arms"]["alpha-0.5"]
    for t in range(5):
        total = arm["ratio"]["value"][t] ** 2
        parts = arm["coordinate"]["value"][t] ** 2 + arm["orthogonal"]["value"][t] ** 2
        assert total == pytest.approx(parts, rel=1e-9)
    assert arm["orthogonal"]["value"][0] == pytest.approx(0.0, abs=1e-12)


def test_words_follow_the_numbers():
    from srlm_core.experiments.controlled_alpha_analysis import change_word, compare_word

    assert compare_word({"lo": 0.1, "hi": 0.3}) == "above"
    assert compare_word({"lo": -0.3, "hi": -0.1}) == "below"
    assert compare_word({"lo": -0.1, "hi": 0.3}) == "indistinguishable from"
    assert change_word(1.0, 0.5) == "fell" and change_word(1.0, 2.0) == "rose"
    assert change_word(1.0, 1.001) == "stayed"


def _dose_spec():
    arm = {"reference": "fixed", "labels": "soft", "epoch_factor": 1}
    return {"alpha-1": {**arm, "alpha": 1.0}, "alpha-0.5": {**arm, "alpha": 0.5},
            "alpha-0.25": {**arm, "alpha": 0.25}}


def test_dose_response_orders_the_smaller_share_slower():
    """Independent draws of rho(0.25) 0.1 above rho(0.5), each with spread 0.01: ordered; the
    design detects 2.80 x 0.01 sqrt(2), and the predicted difference gamma (0.5 - 0.25) = 0.1
    needs fewer prompts than the 20 given."""
    rng = np.random.default_rng(0)
    rates = {"alpha-0.5": (0.8, 0.8 + 0.01 * rng.standard_normal(2000)),
             "alpha-0.25": (0.9, 0.9 + 0.01 * rng.standard_normal(2000))}
    dose = analysis.dose_response(_dose_spec(), rates, 0.4, np.full(2000, 0.4), 20)
    assert (dose["small"], dose["large"]) == (0.25, 0.5)
    assert dose["difference"]["value"] == pytest.approx(0.1)
    assert dose["predicted"]["value"] == pytest.approx(0.1)
    assert dose["word"] == "ordered as S1 predicts"
    assert dose["detectable"] == pytest.approx(2.8016 * 0.01 * np.sqrt(2), rel=0.1)
    assert dose["prompts_needed"] < 20


def test_dose_response_reversed_or_unresolved():
    rng = np.random.default_rng(1)
    noise = rng.standard_normal(2000)
    reversed_ = {"alpha-0.5": (0.9, 0.9 + 0.01 * noise), "alpha-0.25": (0.8, 0.8 + 0.01 * noise)}
    assert analysis.dose_response(_dose_spec(), reversed_, 0.4, np.full(2000, 0.4),
                                  20)["word"] == "reversed"
    wide = {"alpha-0.5": (0.85, 0.85 + 0.1 * noise), "alpha-0.25": (0.86, 0.86 - 0.1 * noise)}
    dose = analysis.dose_response(_dose_spec(), wide, 0.4, np.full(2000, 0.4), 20)
    assert dose["word"].startswith("not resolved (the interval contains 0; the design detects")
    assert dose["prompts_needed"] > 20
    assert analysis.dose_response({"alpha-1": _dose_spec()["alpha-1"]}, {}, 0.4,
                                  np.full(2, 0.4), 20) is None


def test_heldout_share_on_a_record_against_itself_is_the_analysis():
    """Identity check: the stored record as its own held-out record gives analyse's rho-gap
    for alpha = 0.5 and a zero change of gamma-hat; another share has no arm."""
    from srlm_core.publishing.results import load_record

    main = load_record("lm-alpha")
    scale = main.params["scale"]
    out = analysis.heldout_share(main.values, main.values, 0.5, scale=scale)
    reference = analyse(main.values, scale=scale)["arms"]["alpha-0.5"]
    assert out["gap"] == pytest.approx(reference["rho_gap"])
    assert out["rho"] == pytest.approx(reference["rho"])
    assert out["gamma_change"] == {"value": 0.0, "lo": 0.0, "hi": 0.0}
    predicted = analysis.predicted_rate(analyse(main.values, scale=scale), 0.5)
    assert predicted["value"] == pytest.approx(out["predicted"]["value"])
    with pytest.raises(ValueError, match="alpha = 0.75"):
        analysis.heldout_share(main.values, main.values, 0.75, scale=scale)


def test_predicted_rate_carries_gamma_hat_interval():
    predicted = analysis.predicted_rate({"gamma": {"value": 0.4, "lo": 0.2, "hi": 0.6}}, 0.75)
    assert predicted == pytest.approx({"value": 0.7, "lo": 0.55, "hi": 0.85})
