"""The chapter's numbers, words and figures from analyses of synthetic controlled-alpha
records (:mod:`srlm_core.experiments.controlled_alpha_chapter`)."""

import matplotlib.pyplot as plt

from srlm_core.experiments.controlled_alpha_analysis import analyse
from srlm_core.experiments.controlled_alpha_chapter import (
    chapter_figures,
    chapter_numbers,
    conclusion_markdown,
    heldout_numbers,
)
from tests.experiments.test_controlled_alpha_analysis import C, _records


def test_chapter_numbers_name_every_verdict():
    out = analyse(*_records(rho_05=0.8), scale=C, n_boot=100)
    numbers = chapter_numbers(out)
    assert numbers["p1"] == "fails" and numbers["a05_p1"] == "fails"
    assert numbers["a05_rho_word"] == "slower than"
    assert numbers["gamma_value"] == out["gamma"]["value"]
    assert numbers["moving_shape"] == "first approaches, then overshoots"
    assert all(isinstance(v, int | float | str) for v in numbers.values())


def test_conclusion_words_follow_the_verdicts():
    good = conclusion_markdown(analyse(*_records(), scale=C, n_boot=100))
    assert "(P1 holds)" in good and "P4 holds" in good and "P3 holds" in good
    bad = conclusion_markdown(analyse(*_records(rho_05=0.8), scale=C, n_boot=100))
    assert "(P1 fails)" in bad and "slower than the predicted" in bad
    figures = chapter_figures(analyse(*_records(), scale=C, n_boot=100))
    assert set(figures) == {"fig_contraction", "fig_contrast", "alpha_table",
                            "decomposition_table"}
    plt.close("all")  # other tests check that nothing leaves figures open


def test_heldout_numbers_name_the_verdict_and_the_gap():
    test = {"holds": False, "rho": {"value": 0.8, "lo": 0.75, "hi": 0.85},
            "gap": {"value": 0.1, "lo": 0.02, "hi": 0.2},
            "gamma_replicate": {"value": 0.4, "lo": 0.3, "hi": 0.5},
            "gamma_change": {"value": -0.01, "lo": -0.1, "hi": 0.1}}
    out = heldout_numbers(test, 600.0)
    assert out["heldout_verdict"] == "fails" and out["heldout_minutes"] == 10.0
    assert out["heldout_word"] == "slower than"
    assert out["heldout_gap_lo"] == 0.02 and out["heldout_gamma_change_value"] == -0.01
    assert heldout_numbers({**test, "holds": True,
                            "gap": {"value": 0.0, "lo": -0.1, "hi": 0.1}},
                           60.0)["heldout_word"] == "consistent with"
