"""The count engine is exact: the same solver on the same pairs, the same distribution of the
sample and of theta_1, the population update on expected counts, a Laplacian Hessian equal to
the per-pair one, and deterministic reruns."""

import numpy as np
import pytest
import torch
from scipy import stats

from srlm_core import ConfigError
from srlm_core.model import pair_counts
from srlm_core.model.dpo import dpo_update
from srlm_core.model.judge import sample_pairs
from srlm_core.model.pair_counts import (
    PairCounts,
    distinct_pairs,
    dpo_update_counts,
    expected_pair_counts,
    fit_logistic_counts,
    laplacian_hessian,
    mle_missing,
    pair_features,
    sample_pair_counts,
)
from srlm_core.model.policy import make_problem
from srlm_core.model.self_rewarding import (
    SelfRewardingRunner,
    SimulationConfig,
    population_update,
)
from srlm_core.model.separation import mle_exists


def _problem(d=4, K=4, contexts=6, seed=0):
    return make_problem(d=d, K=K, contexts=contexts, seed=seed)


def _thetas(problem, S, shift=0.4, seed=1):
    g = torch.Generator().manual_seed(seed)
    return problem.theta_star + shift * torch.randn(S, problem.dim, generator=g,
                                                    dtype=torch.float64)


@pytest.mark.parametrize("block", [pair_counts.BLOCK_ELEMENTS, 1])
def test_laplacian_hessian_equals_the_per_pair_hessian(block, monkeypatch):
    monkeypatch.setattr(pair_counts, "BLOCK_ELEMENTS", block)  # 1: one seed per block
    g = torch.Generator().manual_seed(0)
    z = torch.randn(5, 4, 3, generator=g, dtype=torch.float64)
    curvature = torch.rand(3, 5, 6, generator=g, dtype=torch.float64)
    pairs = pair_features(z)  # (C, P, d)
    per_pair = torch.einsum("scp,cpd,cpe->sde", curvature, pairs, pairs)
    assert torch.allclose(laplacian_hessian(z, curvature), per_pair, atol=1e-12)


@pytest.mark.parametrize("lam, reference", [(0.0, "fixed"), (0.0, "moving"), (0.1, "fixed")])
def test_count_solver_equals_the_per_sample_solver_on_the_same_pairs(lam, reference):
    p = _problem()
    theta = _thetas(p, 5)
    ref = theta if reference == "moving" else p.theta_ref
    pairs = sample_pairs(p, theta, 0.5, 2000, torch.Generator().manual_seed(3))
    per_sample = dpo_update(pairs.feature_differences(p), pairs.label, p.beta, lam, ref, theta)
    counts = dpo_update_counts(p, PairCounts.from_pairs(pairs, p), lam, ref, theta)
    assert torch.allclose(counts, per_sample, atol=1e-9)


def test_sample_space_solver_on_distinct_pairs_equals_the_per_sample_solver():
    """d = 60 above the 12 distinct pairs of 4 contexts x 3 responses: the ridge step runs in
    sample space on those pairs, not on the 500 samples."""
    p = _problem(d=60, K=3, contexts=4)
    theta = _thetas(p, 3)
    pairs = sample_pairs(p, theta, 0.5, 500, torch.Generator().manual_seed(4))
    counts = PairCounts.from_pairs(pairs, p)
    z, _, weight = distinct_pairs(p.beta * p.features, counts)
    assert z.shape[1] <= 12 < p.dim and torch.allclose(weight.sum(-1), counts.weights().sum((1, 2)))
    per_sample = dpo_update(pairs.feature_differences(p), pairs.label, p.beta, 0.1, p.theta_ref,
                            theta)
    assert torch.allclose(dpo_update_counts(p, counts, 0.1, p.theta_ref, theta), per_sample,
                          atol=1e-8)


@pytest.mark.parametrize("lam, reference", [(0.0, "fixed"), (0.0, "moving"), (0.05, "fixed")])
def test_population_limit_is_the_count_solver_on_expected_counts(lam, reference):
    p = make_problem(d=8, K=8, contexts=32, seed=2)
    theta = _thetas(p, 3, shift=1.0)
    ref = theta if reference == "moving" else p.theta_ref
    weight, target = expected_pair_counts(p, theta, 0.5)
    u = fit_logistic_counts(p.beta * p.features, target, weight, lam, theta - ref)
    assert torch.allclose(ref + u, population_update(p, theta, 0.5, lam, ref), atol=1e-10)
    assert torch.allclose(weight.sum((1, 2)) + (p.context_probs * (
        p.log_probs(theta).exp() ** 2).sum(-1)).sum(-1), torch.ones(3, dtype=torch.float64))


def test_counts_have_the_moments_of_the_counted_pairs():
    """Both samplers against the exact moments E M = n w, E V = n w q, Var M = n w (1 - w)."""
    p = _problem(d=3, K=3, contexts=4)
    S, n = 4000, 60
    theta = _thetas(p, 1).expand(S, -1)
    weight, target = (x[0].reshape(-1) for x in expected_pair_counts(p, theta[:1], 0.5))
    drawn = {
        "counts": sample_pair_counts(p, theta, 0.5, n, torch.Generator().manual_seed(5)),
        "samples": PairCounts.from_pairs(
            sample_pairs(p, theta, 0.5, n, torch.Generator().manual_seed(6)), p),
    }
    for counts in drawn.values():
        M, V = counts.counts.reshape(S, -1), counts.wins.reshape(S, -1)
        assert bool(((M >= V) & (V >= 0)).all()) and bool((M.sum(-1) <= n).all())
        var_m = n * weight * (1 - weight)
        assert (M.mean(0) - n * weight).abs().max() < 5 * (var_m / S).sqrt().max()
        var_v = n * weight * target * (1 - weight * target)
        assert (V.mean(0) - n * weight * target).abs().max() < 5 * (var_v / S).sqrt().max()
        assert torch.allclose(M.var(0), var_m, rtol=0.15, atol=0.05)


def _theta_one(engine: str, seeds: int, **options):
    config = SimulationConfig(engine=engine, seeds=seeds, iters=options.pop("iters", 1),
                              **options)
    return SelfRewardingRunner(config).run().thetas[-1].numpy()


def _assert_same_distribution(a: np.ndarray, b: np.ndarray) -> None:
    """Means and covariances within Monte-Carlo error, and two-sample Kolmogorov-Smirnov
    tests on each coordinate and on fixed random projections (Bonferroni at 1%)."""
    N, d = a.shape
    se_mean = np.sqrt(a.var(0) / N + b.var(0) / len(b))
    assert np.all(np.abs(a.mean(0) - b.mean(0)) < 4.5 * se_mean)
    ca, cb = a - a.mean(0), b - b.mean(0)
    prod_a, prod_b = ca[:, :, None] * ca[:, None, :], cb[:, :, None] * cb[:, None, :]
    se_cov = np.sqrt(prod_a.var(0) / N + prod_b.var(0) / len(b))
    assert np.all(np.abs(prod_a.mean(0) - prod_b.mean(0)) < 4.5 * se_cov)
    directions = np.vstack([np.eye(d), np.random.default_rng(0).normal(size=(3, d))])
    pvalues = [stats.ks_2samp(a @ v, b @ v).pvalue for v in directions]
    assert min(pvalues) > 0.01 / len(pvalues), pvalues


def test_theta_one_has_the_same_distribution_from_counts_and_from_samples():
    options = dict(n=200, d=3, K=3, contexts=4, init_dist=1.0, alpha=0.5)
    samples = _theta_one("samples", 3000, **options)
    counts = _theta_one("counts", 3000, **options)
    assert not np.allclose(samples, counts)  # independent draws, not the same numbers
    _assert_same_distribution(samples, counts)


@pytest.mark.slow
@pytest.mark.parametrize("options", [
    dict(n=300, d=4, K=4, contexts=6, init_dist=2.0, iters=3, reference="moving"),
    dict(n=150, d=4, K=4, contexts=6, init_dist=1.0, iters=2, lam=0.05),
])
def test_theta_t_has_the_same_distribution_over_rounds(options):
    _assert_same_distribution(_theta_one("samples", 6000, **options),
                              _theta_one("counts", 6000, **options))


def test_count_engine_reruns_are_identical():
    config = SimulationConfig(n=5000, iters=2, seeds=3, engine="counts")
    a, b = SelfRewardingRunner(config).run(), SelfRewardingRunner(config).run()
    assert torch.equal(a.thetas, b.thetas)
    other = SelfRewardingRunner(SimulationConfig(n=5000, iters=2, seeds=3, engine="counts",
                                                 seed=1)).run()
    assert not torch.equal(a.thetas, other.thetas)


@pytest.mark.parametrize("d, K, contexts, n", [(4, 4, 8, 20), (2, 3, 4, 10), (8, 8, 32, 25)])
def test_a_missing_mle_is_detected_exactly(d, K, contexts, n):
    """mle_missing agrees seed by seed with the linear programme on the raw pairs."""
    p = _problem(d=d, K=K, contexts=contexts)
    theta = p.theta_star.expand(100, -1) + 0.5
    pairs = sample_pairs(p, theta, 0.5, n, torch.Generator().manual_seed(1))
    dphi = pairs.feature_differences(p)
    u = dpo_update(dphi, pairs.label, p.beta, 0.0, p.theta_ref, theta) - p.theta_ref
    missing = mle_missing(p, PairCounts.from_pairs(pairs, p), u)
    exact = ~mle_exists(p.beta * dphi, pairs.label)
    assert exact.any() and torch.equal(missing, exact)


@pytest.mark.parametrize("engine", ["samples", "counts"])
def test_a_sample_without_mle_is_a_config_error_on_lam(engine):
    with pytest.raises(ConfigError) as err:
        SelfRewardingRunner(SimulationConfig(n=5, engine=engine)).run()
    assert err.value.field == "lam" and "--lam" in str(err.value)
    SelfRewardingRunner(SimulationConfig(n=5, engine=engine, lam=1e-3)).run()  # a ridge runs


def test_auto_takes_counts_above_contexts_times_k_squared():
    cells = 32 * 8**2
    assert SimulationConfig(n=cells).resolved_engine() == "samples"
    assert SimulationConfig(n=cells + 1).resolved_engine() == "counts"
    assert SimulationConfig(n=0, engine="samples").resolved_engine() == "population"
    assert SimulationConfig(n=10**6, engine="samples").resolved_engine() == "samples"


@pytest.mark.parametrize("options, field", [
    (dict(n=10**8, engine="samples", seeds=64), "n"),
    (dict(contexts=10**7, K=64, engine="counts"), "contexts"),
    (dict(d=10**8), "d"),
])
def test_memory_beyond_the_machine_names_the_field_that_drives_it(options, field):
    config = SimulationConfig(**options)
    with pytest.raises(ConfigError) as err:
        config.require_memory(16 * 2**30)
    assert err.value.field == field and "GiB" in str(err.value)
    SimulationConfig(n=10**8, engine="counts", seeds=64).require_memory(16 * 2**30)


@pytest.mark.parametrize("field, value", [
    ("beta", float("inf")), ("beta", 1e9), ("signal", float("nan")), ("signal", 1e9),
    ("init_dist", float("inf")), ("lam", float("inf")), ("lam", 1e308), ("n", 2**60),
    ("seed", 10**20), ("engine", "fast"),
])
def test_non_finite_or_absurd_values_name_the_field(field, value):
    with pytest.raises(ConfigError) as err:
        SimulationConfig(**{field: value}).validate()
    assert err.value.field == field
