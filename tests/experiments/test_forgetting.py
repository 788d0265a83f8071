"""S4 forgetting: the initial model decays at slope log(1 - alpha) onto a common floor."""

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from srlm_core import ConfigError
from srlm_core.experiments import forgetting
from srlm_core.model.policy import ProblemConfig
from srlm_core.options import build

SMALL = forgetting.Config(n=300, iters=2, starts=(0.5, 2.0), instances=2, seeds=3)


@pytest.fixture(scope="module")
def small_values():
    return forgetting.run(SMALL)


def test_chapter_run_is_the_default():
    assert forgetting.Config() == forgetting.Config(
        alpha=0.3, n=4000, iters=10, starts=(0.5, 1.0, 2.0, 4.0), instances=8, seeds=16,
        delta=0.05, margin=4.0, equivalence=0.1, problem=ProblemConfig(seed=0))


def test_small_run_is_deterministic_and_consistent(small_values):
    again = forgetting.run(SMALL)
    assert again == small_values
    for start in small_values["starts"]:
        dist = np.asarray(start["dist"])
        assert dist.shape == (SMALL.instances, SMALL.iters + 1, SMALL.seeds)
        assert np.allclose(dist[:, 0], start["e0"])  # every seed starts at distance e_0
        assert np.asarray(start["bound"]).shape == (SMALL.instances, SMALL.iters + 1)
        assert len(start["noise_floor"]) == SMALL.instances and min(start["noise_floor"]) > 0
        # the instances are different problems: their bounds and errors differ
        assert start["bound"][0] != start["bound"][1] and not np.allclose(dist[0], dist[1])
    summary = forgetting.summarise(small_values)
    assert summary["cover_decay_runs"] == len(SMALL.starts) * SMALL.instances * SMALL.seeds
    assert summary["T_decay"] == SMALL.iters
    assert summary["pred_slope"] == pytest.approx(math.log(0.7))
    assert summary["triangle_decay"] == pytest.approx(math.sqrt(1.7 / 0.3))


def test_population_run_is_the_contraction():
    """n = 0 is the population update: e_t = (1 - alpha)^t e_0 exactly (S1), the bound has no
    noise term and the floor is zero."""
    values = forgetting.run(forgetting.Config(n=0, iters=3, starts=(1.0,), instances=2, seeds=1))
    start = values["starts"][0]
    expected = [0.7**t for t in range(4)]
    for instance in range(2):
        assert np.allclose(np.asarray(start["dist"])[instance, :, 0], expected, rtol=1e-6)
        assert np.allclose(start["bound"][instance], expected, rtol=1e-6)
    assert start["noise_floor"] == pytest.approx([0.0, 0.0], abs=1e-12)


def _hand_made(rate: float, alpha: float = 0.3, late: float = 1.0) -> dict:
    """Exact geometric decay at ``rate`` with small multiplicative noise on 8 instances of 4
    seeds, predicted floor 1e-3, every start ending on 0.003 at T except the last, whose final
    error is multiplied by ``late``."""
    rng = np.random.default_rng(0)
    T, instances, seeds, floor = 6, 8, 4, 1e-3

    def start(e0, last=1.0):
        t = np.arange(T + 1)[None, :, None]
        dist = e0 * rate**t * np.exp(0.01 * rng.standard_normal((instances, T + 1, seeds)))
        # a common floor at T, below margin x floor: outside the decay phase
        dist[:, -1] = 0.003 * np.exp(0.01 * rng.standard_normal((instances, seeds))) * last
        return {"e0": e0, "dist": dist.tolist(), "kl": dist.tolist(),
                "bound": (2 * dist.max(axis=2)).tolist(),
                "predicted_rms": dist.mean(axis=2).tolist(),
                "eps": [[0.0] + [0.01] * T] * instances,
                "kappa_sigma": [[1.5] * (T + 1)] * instances, "noise_floor": [floor] * instances}

    return {"alpha": alpha, "n": 100, "iters": T, "instances": instances, "seeds": seeds,
            "delta": 0.05, "margin": 4.0, "equivalence": 0.1,
            "starts": [start(0.002), start(1.0), start(2.0, late)]}


def test_summarise_verdicts_on_hand_made_values():
    holds = forgetting.summarise(_hand_made(rate=0.7))
    assert (holds["n_fitted"], holds["n_inside"]) == (2, 2)
    assert holds["unfitted"] == "0.002"  # within four floors from the start: no decay phase
    assert holds["cover_decay"] == 100.0
    assert [row["prediction"] for row in forgetting.slope_rows(_hand_made(0.7))] == ["inside"] * 2
    fails = forgetting.summarise(_hand_made(rate=0.5))
    assert (fails["n_fitted"], fails["n_inside"]) == (2, 0)
    assert [row["prediction"] for row in forgetting.slope_rows(_hand_made(0.5))] == ["outside"] * 2
    # the start reported: the farthest when every interval holds the prediction, else the one
    # that misses by the most; decay at 0.5 per round is steeper than log(0.7)
    assert holds["slope_worst_role"] == "farthest from the prediction"
    assert fails["slope_worst_role"] == "whose interval misses the prediction by the most"
    assert fails["slope_direction"] == "steeper"
    assert fails["slope_gap"] == pytest.approx(math.log(0.7) - math.log(0.5), abs=0.02)
    # the hand-made root mean square is the mean error: its slope is the fitted one, inside
    assert fails["slope_rms_pred"] == pytest.approx(math.log(0.5), abs=0.02)
    assert fails["slope_rms_inside"] == "inside"
    # burn-in of the largest start: log(alpha e_0 / eps) / log(1 / (1 - alpha))
    assert holds["t_star_e4"] == pytest.approx(math.log(0.3 * 2.0 / 0.01) / math.log(1 / 0.7))
    assert holds["eps_first"] == holds["eps_last"] == 0.01
    assert (holds["instances_decay"], holds["seeds_decay"], holds["starts_decay"]) == (
        8, 4, "0.002, 1, 2")


def test_common_floor_is_an_equivalence_not_a_null():
    """Final errors within 1% of each other are equivalent within 10%; a start whose final
    error is 30% higher on every instance is not, however few instances (a null reading would
    need no such check); the detectable difference is reported beside it."""
    same = forgetting.summarise(_hand_made(0.7))
    assert same["equiv_verdict"] == "equivalent" and same["equiv_p"] < 0.05
    assert same["equiv_diff"] < 2.0 and 0 < same["equiv_detectable"] < 5.0
    rows = forgetting.final_equivalence(_hand_made(0.7, late=1.3))
    assert [row["equivalent"] for row in rows] == [True, False]
    assert rows[1]["difference"] == pytest.approx(0.3, abs=0.02)
    shifted = forgetting.summarise(_hand_made(0.7, late=1.3))
    assert shifted["equiv_verdict"] == "not shown equivalent"
    assert shifted["equiv_diff"] == pytest.approx(30.0, abs=2.0)


@pytest.mark.parametrize(
    "changes, field",
    [({"alpha": 1.0}, "alpha"), ({"seeds": 0}, "seeds"), ({"starts": ()}, "starts"),
     ({"starts": (1.0, -1.0)}, "starts"), ({"delta": 1.0}, "delta"), ({"margin": 0.0}, "margin"),
     ({"n": -1}, "n"), ({"instances": 1}, "instances"), ({"equivalence": 0.0}, "equivalence")],
)
def test_validate_names_the_bad_field(changes, field):
    with pytest.raises(ConfigError) as err:
        build(forgetting.Config, changes).validate()
    assert err.value.field == field


def test_plot_and_table():
    fig = forgetting.plot(_hand_made(0.7))
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    plt.close(fig)
    table = forgetting.slope_table(_hand_made(0.7))
    assert list(table.data.columns) == ["e_0", "slope", "95% interval", "log(1-alpha)",
                                        "prediction"]
