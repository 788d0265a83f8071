"""D1/D4: exactness of the linear-softmax update with a full span, and the informative pairs."""

import json

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from srlm_core import ConfigError
from srlm_core.experiments.sharpening import sharpening_linear_exact as exp

SMALL = exp.Config(dims=(3,), multiples=(1, 8), rounds=3, prompts=16, responses=6, instances=2,
                   kappa0=3.0)


@pytest.fixture(scope="module")
def values():
    return exp.run(SMALL)


def test_run_is_json_and_exact_where_the_span_is_full(values):
    assert json.loads(json.dumps(values)) == values
    rows = values["rows"]
    assert len(rows) == 1 * 2 * 2 * 3
    for r in rows:
        assert r["rank"] == min(r["d"], r["independent"])
        assert (r["deviation"] <= 1e-12) == (r["rank"] == r["d"])
    summary = exp.summarise(values)
    assert summary["p3_full_verdict"] == "holds"
    assert summary["p3_generic_verdict"] == "in every round"
    assert summary["p3_switch_exact_verdict"] == "holds"
    rate = values["rates"][0]
    assert rate["rate"] == pytest.approx(exp.theorem_rate(3, 3, rate["radius"]))
    assert "p3_rate_d3" not in summary  # d = 3 is off the book's grid: not named


def row(t, rank, deviation, switches=0.0, informative=5, share=0.5, d=8, instance=0):
    return {"d": d, "n": 10, "multiple": 4, "instance": instance, "t": t,
            "informative": informative, "independent": rank, "rank": rank,
            "deviation": deviation, "predicted_share": share, "kappa": 1.5,
            "switches": switches, "failure_own": 0.0}


def hand_made(rows):
    return {"dims": [8], "multiples": [4], "rounds": 2, "instances": 1, "tolerance": 1e-9,
            "beta": 1.0, "kappa0": 3.0, "prompts": 4, "responses": 3,
            "rows": rows, "rates": [{"d": 8, "n": 8, "radius": 4.0, "rate": 1.0}]}


def test_summarise_where_the_predictions_hold():
    s = exp.summarise(hand_made([row(0, 8, 1e-15), row(1, 1, 0.3, switches=0.2)]))
    assert s["p3_full_verdict"] == "holds" and s["p3_full_max_dev"] == 1e-15
    assert s["p3_short_verdict"].startswith("every rank-deficient step departs")
    assert s["p3_switch_exact"] == 0.0 and s["p3_switch_after"] == 0.2
    assert s["p3_switch_exact_verdict"] == "holds"
    assert s["p3_share_inside"] == 2 and s["p3_share_verdict"] == "not below"
    assert s["p3_full_d8_m4_first"] == 1.0 and s["p3_full_d8_m4_last"] == 0.0
    assert s["p3_rate_d8"] == 1.0


def test_summarise_where_the_predictions_fail():
    bad = row(0, 8, 1e-3, switches=0.1, informative=0, share=0.9)
    bad["independent"] = 8
    short = row(1, 1, 0.0, informative=0, share=0.9)
    short["independent"] = 2  # rank below the pair graph's
    s = exp.summarise(hand_made([bad, short]))
    assert s["p3_full_verdict"] == "fails"
    assert s["p3_short_verdict"].startswith("some rank-deficient")
    assert s["p3_generic_verdict"] == "in 1 of 2 rounds"
    assert s["p3_switch_exact_verdict"] == "fails"
    assert s["p3_share_verdict"] == "below"


@pytest.mark.parametrize("change, field", [
    ({"dims": ()}, "dims"), ({"multiples": (0,)}, "multiples"), ({"beta": 0.0}, "beta"),
    ({"kappa0": 1.0}, "kappa0"), ({"rounds": 0}, "rounds"), ({"instances": 0}, "instances"),
    ({"tolerance": 0.0}, "tolerance"),
])
def test_validate_names_the_bad_field(change, field):
    with pytest.raises(ConfigError) as error:
        exp.Config(**change).validate()
    assert error.value.field == field


def test_plot_is_a_figure(values):
    fig = exp.plot(values)
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    plt.close(fig)
