"""S4 noise amplification: started at the target, iterating multiplies the one-round mean
square by 1 / (1 - (1 - alpha)^2)."""

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from srlm_core import ConfigError
from srlm_core.experiments import noise_amplification as amp

SMALL = amp.Config(alphas=(0.5, 1.0), n=300, seeds=3, one_round_seeds=4, stationary_rounds=2,
                   burn_in_level=0.3, n_resamples=100)


@pytest.fixture(scope="module")
def small_values():
    return amp.run(SMALL)


def test_chapter_run_is_the_default():
    assert amp.Config() == amp.Config(alphas=(0.25, 0.5, 0.75, 1.0), n=2000, seeds=32)


@pytest.mark.parametrize("alpha, level, expected", [(0.5, 0.01, 4), (1.0, 0.01, 1),
                                                    (0.25, 0.01, 9), (0.5, 0.3, 1)])
def test_burn_in(alpha, level, expected):
    assert amp.burn_in(alpha, level) == expected
    assert (1 - alpha) ** (2 * expected) < level


def test_small_run(small_values):
    assert amp.run(SMALL) == small_values  # seeded: the same numbers twice
    rows = small_values["rows"]
    # the prediction is the closed form 1 / (alpha (2 - alpha)): 4/3 at 1/2, 1 at 1
    assert [r["predicted"] for r in rows] == pytest.approx([4 / 3, 1.0], rel=1e-12)
    for r in rows:
        assert len(r["stationary"]) == SMALL.seeds
        assert len(r["one_round"]) == SMALL.one_round_seeds
        assert r["measured"] == pytest.approx(
            sum(r["stationary"]) / SMALL.seeds / (sum(r["one_round"]) / SMALL.one_round_seeds))
    assert [r["burn_in"] for r in rows] == [1, 1]


def _rows(measured, lo, hi, predicted=(2.0, 4 / 3)):
    return {"rows": [{"alpha": a, "measured": m, "lo": lo_, "hi": hi_, "predicted": p}
                     for a, m, lo_, hi_, p in zip((0.25, 0.5), measured, lo, hi, predicted)]}


def test_summarise_on_hand_made_values():
    holds = amp.summarise(_rows(measured=(2.1, 4 / 3), lo=(1.8, 1.2), hi=(2.4, 1.5)))
    assert holds == {"amp_inside": 2, "amp_worst": pytest.approx(5.0), "amp_a25": 2.1,
                     "amp_a25_pred": 2.0}
    fails = amp.summarise(_rows(measured=(3.0, 4 / 3), lo=(2.5, 1.4), hi=(3.5, 1.5)))
    assert fails["amp_inside"] == 0
    assert fails["amp_worst"] == pytest.approx(50.0)


@pytest.mark.parametrize(
    "changes, field",
    [({"alphas": ()}, "alphas"), ({"alphas": (0.5, 0.0)}, "alphas"), ({"n": 0}, "n"),
     ({"seeds": 1}, "seeds"), ({"one_round_seeds": 1}, "one_round_seeds"),
     ({"burn_in_level": 1.0}, "burn_in_level"), ({"confidence": 0.0}, "confidence"),
     ({"stationary_rounds": 0}, "stationary_rounds")],
)
def test_validate_names_the_bad_field(changes, field):
    with pytest.raises(ConfigError) as err:
        amp.Config(**changes).validate()
    assert err.value.field == field


def test_plot():
    fig = amp.plot(_rows(measured=(2.1, 1.3), lo=(1.8, 1.2), hi=(2.4, 1.5)))
    assert isinstance(fig, Figure)
    plt.close(fig)
