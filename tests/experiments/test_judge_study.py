import matplotlib.pyplot as plt
import pytest

from srlm_core.errors import ConfigError
from srlm_core.experiments import judge_study as js


def _row(logits, generate, passes, mass=(0.5, 0.5, 0.5)):
    return {"answers": ["a"] * len(passes), "finished": [True] * len(passes),
            "passes": list(passes),
            "logits": {"scores": list(logits), "mass": list(mass)},
            "generate": {"scores": list(generate), "mass": [0.9] * len(passes),
                         "written": [4.0] + [None] * (len(passes) - 1),
                         "texts": [["Fine. Score: 4"]] * len(passes)}}


def _values(rows, logits_seconds, generate_seconds):
    return {"prompts": rows, "resamples": 199,
            "timings": {"sampling_seconds": 1.0, "logits_seconds": logits_seconds,
                        "generate_seconds": generate_seconds}}


def test_summarise_goal_met():
    """Identical rankings, a 20x speed-up: tau 1, AUC 1 for both judges, goal met."""
    rows = [_row([1, 2, 3], [2, 3, 4], [False, False, True]),
            _row([3, 1, 2], [4, 1, 3], [True, False, False])]
    got = js.summarise(_values(rows, [1.0, 1.0], [20.0, 20.0]))
    assert got["judge_tau"] == pytest.approx(1.0) and got["judge_tau_prompts"] == 2
    assert got["judge_auc_logits"] == got["judge_auc_generate"] == 1.0
    assert got["judge_speedup"] == pytest.approx(20.0)
    assert got["judge_seconds_logits"] == pytest.approx(1 / 3)
    assert got["judge_mass_logits"] == pytest.approx(0.5)
    assert got["judge_mass_generate_lo"] == pytest.approx(0.9)
    assert got["judge_written_share"] == pytest.approx(1 / 3)
    assert (got["judge_speed_verdict"], got["judge_agreement_verdict"],
            got["judge_goal_verdict"]) == (
        "met", "met", "met")


def test_summarise_goal_missed_says_by_how_much():
    """tau 1/3 on each prompt and a 4x speed-up: both parts missed, by 0.47 and a factor 2.5."""
    rows = [_row([1, 2, 3], [1, 3, 2], [True, False, False])] * 2
    got = js.summarise(_values(rows, [1.0, 1.0], [4.0, 4.0]))
    assert got["judge_tau"] == pytest.approx(1 / 3)
    assert got["judge_auc_logits"] == 0.0 and got["judge_auc_generate"] == 0.0
    assert got["judge_agreement_verdict"] == "missed by 0.47"
    assert got["judge_speed_verdict"] == "missed by a factor 2.5"
    assert got["judge_goal_verdict"] == "missed"


@pytest.mark.parametrize(("field", "value"), [("prompts", 1), ("samples", 1), ("split", "dev"),
                                              ("judge_temperature", 0.0),
                                              ("judge_max_new_tokens", 0)])
def test_validate_names_the_field(field, value):
    with pytest.raises(ConfigError) as err:
        js.Config(**{field: value}).validate()
    assert err.value.field == field


def test_default_design_is_large_enough():
    config = js.Config().validate()
    assert config.prompts >= 20 and config.prompts * config.samples >= 60


def test_tiny_run_values_and_plot():
    values = js.run(js.tiny())
    rows = values["prompts"]
    assert len(rows) == 3 and all(len(r["answers"]) == 2 for r in rows)
    for r in rows:
        assert all(1.0 <= s <= 5.0 for j in js.JUDGES for s in r[j]["scores"])
        assert all(0.0 < m < 1.0 for j in js.JUDGES for m in r[j]["mass"])
        assert all(len(t) == 1 and isinstance(t[0], str) for t in r["generate"]["texts"])
    assert len(values["timings"]["generate_seconds"]) == 3
    summary = js.summarise(values)
    assert summary["judge_answers"] == 6
    assert summary["judge_speed_verdict"].startswith(("met", "missed"))
    fig = js.plot(values)
    assert len(fig.axes) >= 1
    plt.close(fig)
