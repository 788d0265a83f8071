"""srlm sweep iterative: the record's content on a tiny grid, and its config checks."""

import numpy as np
import pytest

from srlm_core import ConfigError
from srlm_core.experiments import SWEEPS, load_sweep

iterative = load_sweep("iterative")


def test_registered():
    assert "iterative" in SWEEPS


def test_tiny_sweep_values(ols_slope_interval):
    """Each n's bound is the library's S4 bound for that n (a sweep that ignored n or delta
    would repeat one value); the coverage is the share of covered runs; the slopes are the
    least-squares slopes of log error on log n over all seeds, with t intervals (derived
    independently in the conftest)."""
    from srlm_core.model.bounds import iterative_bound
    from srlm_core.model.self_rewarding import SimulationConfig

    config = iterative.Config(n_min=200, n_max=400, iters=3, seeds=4, delta=0.1).validate()
    assert config.grid() == [200, 400]
    values = iterative.run(config)
    assert [row["n"] for row in values["per_n"]] == [200, 400]
    for row in values["per_n"]:
        assert len(row["dist_T"]) == len(row["kl_T"]) == len(row["covered_all_t"]) == 4
        frame = iterative_bound(SimulationConfig(alpha=config.alpha, n=row["n"], iters=3,
                                                 init_dist=config.init_dist), delta=0.1).frame
        assert row["bound_T"] == pytest.approx(frame["bound"].iloc[-1], rel=1e-12)
        assert row["population_dist_T"] == pytest.approx(frame["population_dist"].iloc[-1])
    flags = [c for row in values["per_n"] for c in row["covered_all_t"]]
    assert values["coverage"] == sum(flags) / len(flags)
    log_n = [np.log(row["n"]) for row in values["per_n"] for _ in range(4)]
    for key, fit in values["slopes"].items():
        log_y = np.log([v for row in values["per_n"] for v in row[key]])
        slope, lo, hi = ols_slope_interval(log_n, log_y)
        assert (fit["slope"], fit["lo"], fit["hi"]) == pytest.approx((slope, lo, hi), rel=1e-9)
    # the record is reproducible: the same config gives the same numbers
    again = iterative.run(config)
    assert np.allclose(again["per_n"][1]["dist_T"], values["per_n"][1]["dist_T"])


def test_coverage_is_the_share_of_runs_under_the_bound_at_every_round(monkeypatch):
    """With the noise term shrunk (so that some runs escape the bound) the coverage is the
    share over every n and seed of runs under the bound at all t, recomputed here from the
    simulated distances; a coverage taken from one n only, or at T only, fails."""
    from srlm_core.model import bounds, metrics
    from srlm_core.model.self_rewarding import SelfRewardingRunner

    def shrunk(sim, delta):
        result = bounds.iterative_bound(sim, delta)
        frame = result.frame
        population = frame["population_dist"]
        frame["bound"] = population + 0.35 * (frame["bound"] - population)
        return result

    monkeypatch.setattr(iterative, "iterative_bound", shrunk)
    config = iterative.Config(n_min=200, n_max=400, iters=3, seeds=8).validate()
    values = iterative.run(config)
    covered = []
    for n in config.grid():
        result = SelfRewardingRunner(config.simulation(n)).run()
        dist = metrics.param_distance(result.problem, result.thetas).numpy()
        bound = shrunk(config.simulation(n), config.delta).frame["bound"].to_numpy()
        covered += (dist <= bound[:, None]).all(axis=0).tolist()
    assert 0 < sum(covered) < len(covered)  # the case has teeth
    assert values["coverage"] == pytest.approx(np.mean(covered))


@pytest.mark.parametrize(
    "changes, field",
    [({"n_min": 0}, "n_min"), ({"n_max": 10}, "n_max"), ({"delta": 1.0}, "delta"),
     ({"alpha": 0.0}, "alpha"), ({"seeds": 0}, "seeds")],
)
def test_bad_config(changes, field):
    with pytest.raises(ConfigError) as err:
        iterative.Config(**changes).validate()
    assert err.value.field == field


def _hand_made(slope_dist, slope_kl):
    """Two n with two seeds each; slope intervals of half-width 0.05 around the given slopes."""
    def fit(slope):
        return {"slope": slope, "lo": slope - 0.05, "hi": slope + 0.05, "intercept": 0.0}

    per_n = [
        {"n": n, "dist_T": [s, 2 * s], "kl_T": [s**2, 2 * s**2], "covered_all_t": cov,
         "bound_T": 6 * s, "bound_kappa_T": 9 * s, "predicted_rms_T": 1.5 * s,
         "predicted_kl_T": 2.5 * s**2, "bound_uniform_T": 7 * s, "population_dist_T": 0.0}
        for n, s, cov in ((100, 0.2, [True, False]), (400, 0.1, [True, True]))
    ]
    return {"per_n": per_n, "slopes": {"dist_T": fit(slope_dist), "kl_T": fit(slope_kl)},
            "coverage": 0.75}


def test_summarise_on_hand_made_values():
    config = iterative.Config(alpha=0.5, init_dist=2.0, iters=10)
    holds = iterative.summarise(_hand_made(-0.52, -0.98), config)
    assert (holds["dist_inside"], holds["kl_inside"]) == ("inside", "inside")
    fails = iterative.summarise(_hand_made(-0.3, -1.5), config)
    assert (fails["dist_inside"], fails["kl_inside"]) == ("outside", "outside")
    assert holds["coverage"] == 75.0 and holds["coverage_runs"] == 4
    assert holds["coverage_min"] == 50.0
    # mean error 1.5 s, bound 6 s: looser by 4 at every n; the kappa form by 6
    assert holds["loose_mean_lo"] == pytest.approx(4.0) and holds["loose_mean_hi"] == 4.0
    assert holds["loose_kappa"] == pytest.approx(6.0)
    # root mean square sqrt(2.5) s against the prediction 1.5 s; KL mean 1.5 s^2 against 2.5 s^2
    assert holds["rms_ratio_small_n"] == pytest.approx(np.sqrt(2.5) / 1.5)
    assert holds["rms_ratio_small_n_sq"] == pytest.approx(2.5 / 2.25)
    assert holds["kl_ratio_lo"] == pytest.approx(0.6) and holds["kl_ratio_hi"] == pytest.approx(0.6)
    assert holds["sw_initial"] == 2.0 * 0.5**10
    assert holds["triangle_factor"] == pytest.approx(np.sqrt(3.0))


def test_summarise_the_record():
    from srlm_core.publishing.results import load_record

    record = load_record("iterative")
    config = iterative.Config(**record.params)
    summary = iterative.summarise(record.values, config)
    assert summary["coverage_runs"] == len(config.grid()) * config.seeds
    slopes = record.values["slopes"]["dist_T"]
    assert (summary["slope_dist"], summary["slope_dist_lo"], summary["slope_dist_hi"]) == (
        slopes["slope"], slopes["lo"], slopes["hi"])
    looseness = [row["bound_T"] / np.quantile(row["dist_T"], 0.95)
                 for row in record.values["per_n"]]
    assert (summary["loose_q_lo"], summary["loose_q_hi"]) == pytest.approx(
        (min(looseness), max(looseness)))
    assert summary["sw_nmin"] == config.n_min == record.values["per_n"][0]["n"]


def test_plot():
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    fig = iterative.plot(_hand_made(-0.5, -1.0))
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    plt.close(fig)
