"""S4 forgetting: the initial model decays at slope log(1 - alpha) onto a common floor."""

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from srlm_core import ConfigError
from srlm_core.experiments import forgetting

SMALL = forgetting.Config(n=300, iters=2, starts=(0.5, 2.0), seeds=3)


@pytest.fixture(scope="module")
def small_values():
    return forgetting.run(SMALL)


def test_chapter_run_is_the_default():
    assert forgetting.Config() == forgetting.Config(
        alpha=0.3, n=4000, iters=10, starts=(0.5, 1.0, 2.0, 4.0), seeds=16, seed=0, delta=0.05
    )


def test_small_run_is_deterministic_and_consistent(small_values):
    again = forgetting.run(SMALL)
    assert again == small_values
    for start in small_values["starts"]:
        dist = np.asarray(start["dist"])
        assert dist.shape == (SMALL.iters + 1, SMALL.seeds)
        assert np.allclose(dist[0], start["e0"])  # every seed starts at distance e_0
        assert len(start["bound"]) == len(start["eps"]) == SMALL.iters + 1
        assert start["noise_floor"] > 0
    summary = forgetting.summarise(small_values)
    assert summary["cover_decay_runs"] == len(SMALL.starts) * SMALL.seeds
    assert summary["T_decay"] == SMALL.iters
    assert summary["pred_slope"] == pytest.approx(math.log(0.7))
    assert summary["triangle_decay"] == pytest.approx(math.sqrt(1.7 / 0.3))


def test_population_run_is_the_contraction():
    """n = 0 is the population update: e_t = (1 - alpha)^t e_0 exactly (S1), the bound has no
    noise term and the floor is zero."""
    values = forgetting.run(forgetting.Config(n=0, iters=3, starts=(1.0,), seeds=1))
    start = values["starts"][0]
    expected = [0.7**t for t in range(4)]
    assert np.allclose(np.asarray(start["dist"])[:, 0], expected, rtol=1e-6)
    assert np.allclose(start["bound"], expected, rtol=1e-6)
    assert start["noise_floor"] == pytest.approx(0.0, abs=1e-12)


def _hand_made(rate: float, alpha: float = 0.3) -> dict:
    """Exact geometric decay at ``rate`` with small multiplicative noise, floor 1e-3."""
    rng = np.random.default_rng(0)
    T, seeds, floor = 6, 8, 1e-3

    def start(e0):
        t = np.arange(T + 1)[:, None]
        dist = e0 * rate**t * np.exp(0.01 * rng.standard_normal((T + 1, seeds)))
        return {"e0": e0, "dist": dist.tolist(), "kl": dist.tolist(),
                "bound": (2 * dist.max(axis=1)).tolist(),
                "predicted_rms": dist.mean(axis=1).tolist(),
                "eps": [0.0] + [0.01] * T, "kappa_sigma": [1.5] * (T + 1), "noise_floor": floor}

    return {"alpha": alpha, "n": 100, "iters": T, "seeds": seeds, "delta": 0.05, "margin": 4.0,
            "starts": [start(0.002), start(1.0), start(2.0)]}


def test_summarise_verdicts_on_hand_made_values():
    holds = forgetting.summarise(_hand_made(rate=0.7))
    assert (holds["n_fitted"], holds["n_inside"]) == (2, 2)
    assert holds["unfitted"] == "0.002"  # within four floors from the start: no decay phase
    assert holds["cover_decay"] == 100.0
    assert [row["prediction"] for row in forgetting.slope_rows(_hand_made(0.7))] == ["inside"] * 2
    fails = forgetting.summarise(_hand_made(rate=0.5))
    assert (fails["n_fitted"], fails["n_inside"]) == (2, 0)
    assert [row["prediction"] for row in forgetting.slope_rows(_hand_made(0.5))] == ["outside"] * 2
    # burn-in of the largest start: log(alpha e_0 / eps) / log(1 / (1 - alpha))
    assert holds["t_star_e4"] == pytest.approx(math.log(0.3 * 2.0 / 0.01) / math.log(1 / 0.7))
    assert holds["eps_first"] == holds["eps_last"] == 0.01


@pytest.mark.parametrize(
    "changes, field",
    [({"alpha": 1.0}, "alpha"), ({"seeds": 0}, "seeds"), ({"starts": ()}, "starts"),
     ({"starts": (1.0, -1.0)}, "starts"), ({"delta": 1.0}, "delta"), ({"margin": 0.0}, "margin"),
     ({"n": -1}, "n")],
)
def test_validate_names_the_bad_field(changes, field):
    with pytest.raises(ConfigError) as err:
        forgetting.Config(**changes).validate()
    assert err.value.field == field


def test_plot_and_table():
    fig = forgetting.plot(_hand_made(0.7))
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    plt.close(fig)
    table = forgetting.slope_table(_hand_made(0.7))
    assert list(table.data.columns) == ["e_0", "slope", "95% interval", "log(1-alpha)",
                                        "prediction"]
