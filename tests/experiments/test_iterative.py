"""srlm run iterative: the record's content on a tiny grid, and its config checks."""

import numpy as np
import pytest

from srlm_core import ConfigError, experiments
from srlm_core.experiments import iterative
from srlm_core.options import build


def test_registered():
    assert "iterative" in experiments.names()


def test_tiny_sweep_values():
    """Each (n, instance)'s bound is the library's S4 bound for that n and problem seed (a
    sweep that ignored n, the instance or delta would repeat one value); the coverage is the
    share of covered runs; the slope is fitted per instance on the log of the instance's mean
    error and summarised across instances with a t interval (rebuilt here)."""
    from scipy import stats

    from srlm_core.model.bounds import iterative_bound
    from srlm_core.model.self_rewarding import SimulationConfig

    config = iterative.Config(n_min=200, n_max=400, iters=3, instances=3, seeds=4,
                              delta=0.1).validate()
    assert config.grid() == [200, 400]
    values = iterative.run(config)
    assert [row["n"] for row in values["per_n"]] == [200, 400]
    for row in values["per_n"]:
        assert len(row["instances"]) == 3
        for i, cell in enumerate(row["instances"]):
            assert len(cell["dist_T"]) == len(cell["kl_T"]) == len(cell["covered_all_t"]) == 4
            frame = iterative_bound(SimulationConfig(alpha=config.alpha, n=row["n"], iters=3,
                                                     init_dist=config.init_dist, seed=i),
                                    delta=0.1).frame
            assert cell["bound_T"] == pytest.approx(frame["bound"].iloc[-1], rel=1e-12)
            assert cell["bound_trace_T"] == pytest.approx(frame["bound_trace"].iloc[-1])
            assert cell["population_dist_T"] == pytest.approx(frame["population_dist"].iloc[-1])
        assert len({cell["bound_T"] for cell in row["instances"]}) == 3
    flags = [c for row in values["per_n"] for cell in row["instances"]
             for c in cell["covered_all_t"]]
    assert values["coverage"] == sum(flags) / len(flags)
    log_n = np.log([200, 400])
    for key, fit in values["slopes"].items():
        slopes = [np.polyfit(log_n, [np.log(np.mean(row["instances"][i][key]))
                                     for row in values["per_n"]], 1)[0] for i in range(3)]
        half = stats.t.ppf(0.975, 2) * np.std(slopes, ddof=1) / np.sqrt(3)
        assert fit["per_instance"] == pytest.approx(slopes, rel=1e-9)
        assert (fit["slope"], fit["lo"], fit["hi"]) == pytest.approx(
            (np.mean(slopes), np.mean(slopes) - half, np.mean(slopes) + half), rel=1e-9)
    # the record is reproducible: the same config gives the same numbers
    again = iterative.run(config)
    assert again["per_n"][1]["instances"][2]["dist_T"] == values["per_n"][1]["instances"][2][
        "dist_T"]


def test_coverage_is_the_share_of_runs_under_the_bound_at_every_round(monkeypatch):
    """With the noise term shrunk (so that some runs escape the bound) the coverage is the
    share over every n, instance and seed of runs under the bound at all t, recomputed here from the
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
    config = iterative.Config(n_min=200, n_max=400, iters=3, instances=2, seeds=8).validate()
    values = iterative.run(config)
    covered = []
    for n in config.grid():
        for i in range(config.instances):
            sim = config.simulation(n, i)
            result = SelfRewardingRunner(sim).run()
            dist = metrics.param_distance(result.problem, result.thetas).numpy()
            bound = shrunk(sim, config.delta).frame["bound"].to_numpy()
            covered += (dist <= bound[:, None]).all(axis=0).tolist()
    assert 0 < sum(covered) < len(covered)  # the case has teeth
    assert values["coverage"] == pytest.approx(np.mean(covered))


@pytest.mark.parametrize(
    "changes, field",
    [({"n_min": 0}, "n_min"), ({"n_max": 10}, "n_max"), ({"delta": 1.0}, "delta"),
     ({"n_min": 300, "n_max": 500}, "n_max"),
     ({"alpha": 0.0}, "alpha"), ({"seeds": 0}, "seeds"), ({"instances": 1}, "instances")],
)
def test_bad_config(changes, field):
    with pytest.raises(ConfigError) as err:
        build(iterative.Config, changes).validate()
    assert err.value.field == field


def _hand_made(slope_dist, slope_kl, scale=1.0):
    """Two n, two instances of two seeds; slope intervals of half-width 0.05 around the given
    slopes; the bound ``6 s``, its margin-free form ``3 s`` and the predicted root mean square
    ``1.5 s`` (s the n's error scale) times ``scale``."""
    def fit(slope):
        return {"slope": slope, "lo": slope - 0.05, "hi": slope + 0.05, "intercept": 0.0,
                "per_instance": [slope - 0.01, slope + 0.01]}

    def cell(s, cov):
        return {"dist_T": [s, 2 * s], "kl_T": [s**2, 2 * s**2], "covered_all_t": cov,
                "bound_T": 6 * s * scale, "bound_trace_T": 3 * s * scale,
                "bound_kappa_T": 9 * s, "predicted_rms_T": 1.5 * s, "predicted_kl_T": 2.5 * s**2,
                "bound_uniform_T": 7 * s, "population_dist_T": 0.0}

    per_n = [{"n": n, "instances": [cell(s, cov), cell(s, [True, True])]}
             for n, s, cov in ((100, 0.2, [True, False]), (400, 0.1, [True, True]))]
    return {"per_n": per_n, "slopes": {"dist_T": fit(slope_dist), "kl_T": fit(slope_kl)},
            "coverage": 7 / 8}


def test_summarise_on_hand_made_values():
    config = iterative.Config(alpha=0.5, init_dist=2.0, iters=10, instances=2)
    holds = iterative.summarise(_hand_made(-0.52, -0.98), config)
    assert (holds["dist_inside"], holds["kl_inside"]) == ("inside", "inside")
    assert (holds["slope_dist_min"], holds["slope_dist_max"]) == pytest.approx((-0.53, -0.51))
    fails = iterative.summarise(_hand_made(-0.3, -1.5), config)
    assert (fails["dist_inside"], fails["kl_inside"]) == ("outside", "outside")
    assert holds["coverage"] == 87.5 and holds["coverage_runs"] == 8
    assert holds["coverage_min"] == 75.0  # the first instance missed one of its four runs
    assert holds["coverage_verdict"] == "fails"  # 87.5% < 95%
    # mean error 1.5 s, bound 6 s: looser by 4 at every cell; the kappa form by 6
    assert holds["loose_mean_lo"] == pytest.approx(4.0) and holds["loose_mean_hi"] == 4.0
    assert holds["loose_kappa"] == pytest.approx(6.0)
    # root mean square sqrt(2.5) s against the prediction 1.5 s; KL mean 1.5 s^2 against 2.5 s^2
    assert holds["rms_ratio_worst"] == pytest.approx(np.sqrt(2.5) / 1.5)
    assert holds["rms_ratio_worst_sq"] == pytest.approx(2.5 / 2.25)
    assert holds["kl_ratio_lo"] == pytest.approx(0.6) and holds["kl_ratio_hi"] == pytest.approx(0.6)
    assert holds["sw_initial"] == 2.0 * 0.5**10 and holds["sw_instances"] == 2
    assert holds["triangle_factor"] == pytest.approx(np.sqrt(3.0))


def test_slack_factors_on_hand_made_values():
    """bound 6 s over margin-free 3 s: margin 2; 3 s over the predicted 1.5 s: triangle 2;
    predicted 1.5 s over the measured root mean square sqrt(2.5) s; that over the 95%
    quantile 1.95 s of [s, 2 s].  The product is the ratio bound / quantile, 6 / 1.95."""
    config = iterative.Config(alpha=0.5, instances=2)
    out = iterative.summarise(_hand_made(-0.5, -1.0), config)
    assert out["slack_margin"] == pytest.approx(2.0)
    assert out["slack_triangle"] == pytest.approx(2.0)
    assert out["slack_model"] == pytest.approx(1.5 / np.sqrt(2.5))
    assert out["slack_quantile"] == pytest.approx(np.sqrt(2.5) / 1.95)
    assert out["slack_ratio"] == pytest.approx(6 / 1.95)
    assert out["slack_product"] == pytest.approx(out["slack_ratio"], rel=1e-12)
    assert out["loose_q_lo"] == pytest.approx(6 / 1.95)
    # a bound with a noise term three times too large is three times as loose
    tripled = iterative.summarise(_hand_made(-0.5, -1.0, scale=3.0), config)
    assert tripled["slack_ratio"] == pytest.approx(3 * out["slack_ratio"])


def test_summarise_the_record():
    from srlm_core.publishing.results import load_record

    record = load_record("iterative")
    config = build(iterative.Config, record.params)
    summary = iterative.summarise(record.values, config)
    assert summary["coverage_runs"] == len(config.grid()) * config.instances * config.seeds
    assert config.instances >= 8
    slopes = record.values["slopes"]["dist_T"]
    assert (summary["slope_dist"], summary["slope_dist_lo"], summary["slope_dist_hi"]) == (
        slopes["slope"], slopes["lo"], slopes["hi"])
    looseness = [cell["bound_T"] / np.quantile(cell["dist_T"], 0.95)
                 for row in record.values["per_n"] for cell in row["instances"]]
    assert (summary["loose_q_lo"], summary["loose_q_hi"]) == pytest.approx(
        (min(looseness), max(looseness)))
    assert summary["slack_product"] == pytest.approx(summary["slack_ratio"], rel=1e-9)
    assert summary["sw_nmin"] == config.n_min == record.values["per_n"][0]["n"]


def test_plot():
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    fig = iterative.plot(_hand_made(-0.5, -1.0))
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    plt.close(fig)
