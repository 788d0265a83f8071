"""coverage (S2 in coverage form): problems, values, verdicts and config."""

import json
import math

import numpy as np
import pytest
import sympy as sp
import torch

from srlm_core import ConfigError
from srlm_core.experiments import coverage
from srlm_core.experiments.coverage_analysis import decode_bits, decode_counts
from srlm_core.model import metrics
from srlm_core.theory import coverage_law

SMALL = coverage.Config(contexts=4, K=3, kappas=(4.0, 16.0), ratios=(0.25, 1.0, 4.0), seeds=8, d=4,
                  featured_K=4, featured_contexts=8, signal=6.0, starts=(6.0,), instances=3,
                  featured_n=(8, 64, 512), featured_seeds=4, alphas=(1.0, 0.5), rounds=(1, 2),
                  budgets=(1.0, 4.0), iter_seeds=4)


@pytest.fixture(scope="module")
def values():
    return coverage.run(SMALL)


def test_defaults_are_the_chapter_run():
    config = coverage.Config().validate()
    assert (config.alpha, config.ridge, config.target, config.contexts, config.K) == (
        1.0, 1e-4, 0.9, 16, 4)
    assert config.kappas == (8.0, 32.0, 128.0, 512.0)
    assert (config.alphas, config.rounds, config.seeds, config.iter_seeds) == (
        (1.0, 0.75, 0.5), (1, 2, 4), 64, 32)
    assert config.instances >= 8  # the featured intervals are over problem instances


def test_run_is_deterministic_plain_data(values):
    assert json.loads(json.dumps(values)) == values
    assert coverage.run(SMALL) == values


def test_tabular_problem_has_the_coverage_and_target_asked_for():
    p = coverage.tabular_problem(contexts=3, K=5, kappa=40.0, target=0.8)
    best = torch.zeros(3, dtype=torch.long)
    assert torch.allclose(metrics.coverage_coefficient(p, p.theta_ref, best),
                          torch.full((3,), 40.0, dtype=torch.float64))
    assert torch.allclose(1 / metrics.coverage_coefficient(p, p.theta_star, best),
                          torch.full((3,), 0.8, dtype=torch.float64))
    others = torch.softmax(p.logits(p.theta_ref), -1)[:, 1:]
    assert torch.allclose(others, torch.full_like(others, (1 - 1 / 40) / 4))


def test_featured_problem_keeps_the_target_and_starts_at_the_reference():
    p = coverage.featured_problem(SMALL, instance=1, start=6.0)
    assert torch.allclose(p.theta_star, coverage.make_problem(
        d=4, K=4, contexts=8, signal=6.0, seed=1).theta_star)
    assert float((p.theta_ref - p.theta_star).norm()) == pytest.approx(6.0)


def test_tabular_cells_store_counts_and_the_closed_form_bound(values):
    tab = values["tabular"]
    miss = coverage_law.miss_probability().given_n
    assert len(tab["cells"]) == len(SMALL.kappas) * len(SMALL.ratios)
    for cell in tab["cells"]:
        counts = decode_counts(cell["successes"])
        assert counts.shape == (SMALL.seeds,) and counts.max() <= SMALL.contexts
        assert cell["n"] == max(1, round(SMALL.contexts * cell["kappa"] * cell["ratio"]))
        closed = 1 - float(miss.subs({coverage_law.kappa0: cell["kappa"], coverage_law.n: cell["n"],
                                      coverage_law.q: sp.Rational(1, SMALL.contexts)}))
        assert cell["bound"] == pytest.approx(closed, rel=1e-12)


def test_featured_starts_store_eligible_prompts_only(values):
    starts = values["featured"]["starts"]
    assert len(starts) == SMALL.instances * len(SMALL.starts)
    assert any(s["contexts"] for s in starts)
    for s in starts:
        assert all(m >= SMALL.min_target_mass for m in s["target_mass"])
        assert all(1 / k <= SMALL.max_start_mass for k in s["kappa0"])
        assert all(kp <= k * (1 + 1e-9) for kp, k in zip(s["kappa_phi"], s["kappa0"]))
        assert s["kappa_sigma"] <= s["kappa"] * (1 + 1e-9)
        for text in s["success"]:
            grid = decode_bits(text)
            if s["contexts"]:
                assert grid.shape == (SMALL.featured_seeds, len(s["contexts"]))


def test_iterative_cells_carry_the_population_prediction(values):
    it = values["iterative"]
    assert len(it["cells"]) == 2 * 2 * 2 * 2
    for cell in it["cells"]:
        assert cell["population"] == pytest.approx(coverage_law.population_mass(
            cell["alpha"], cell["rounds"], cell["kappa"], SMALL.target))
        assert cell["n_round"] == max(1, round(SMALL.contexts * cell["kappa"] * cell["budget"]
                                               / cell["rounds"]))
    limits = {(t["alpha"], t["rounds"]): t["kappa_max"] for t in it["thresholds"]}
    assert limits[(1.0, 1)] is None and limits[(0.5, 1)] == pytest.approx(10.0)


def test_encoding_round_trips():
    success = torch.tensor([[True, False, True], [False, False, True]])
    assert coverage.encode_bits(success) == "101 001"
    assert decode_bits("101 001").tolist() == [[1, 0, 1], [0, 0, 1]]
    assert coverage.encode_counts(success) == "2 1"
    assert decode_counts("2 1").tolist() == [2.0, 1.0]


# ------------------------------------------------------------------- hand-made values


def _tabular(kappas, ratios, contexts, seeds, share):
    """Per seed, the share asked for less an independent 0 to 5% of the prompts."""
    rng = np.random.default_rng(0)
    cells = []
    for kappa in kappas:
        for ratio in ratios:
            n = round(contexts * kappa * ratio)
            bound = coverage.tabular_bound(contexts, kappa, n)
            k = math.floor(contexts * min(1.0, share(bound)))
            counts = np.maximum(k - rng.integers(0, contexts // 20, seeds), 0)
            cells.append({"kappa": kappa, "ratio": ratio, "n": n, "m": n / contexts,
                          "bound": bound, "successes": " ".join(map(str, counts))})
    return {"contexts": contexts, "K": 4, "kappas": list(kappas), "ratios": list(ratios),
            "seeds": seeds, "cells": cells}


def _featured(n_grid, seeds, rule):
    """One start: 3 prompts with rho = 1/8 and kappa_0 = 2**10, kappa_phi = 4; success by
    ``rule(n * rho / kappa_0, n * rho / kappa_phi)``."""
    rho, k0, kphi = 1 / 8, 2.0**10, 4.0
    success = []
    for n in n_grid:
        bit = "1" if rule(n * rho / k0, n * rho / kphi) else "0"
        success.append(" ".join([bit * 3] * seeds))
    start = {"instance": 0, "start": 8.0, "contexts": [0, 1, 2], "rho": [rho] * 3,
             "kappa0": [k0] * 3, "kappa_phi": [kphi] * 3, "target_mass": [0.9] * 3,
             "kappa": 5e3, "kappa_sigma": 7.0, "success": success}
    return {"n": list(n_grid), "seeds": seeds, "starts": [start]}


def _iterative(contexts, seeds, share):
    cells = []
    for alpha in (1.0, 0.5):
        for kappa in (8.0, 64.0):
            for budget in (1.0, 16.0):
                for T in (1, 4):
                    k = int(round(contexts * share(alpha, kappa, budget, T)))
                    cells.append({"alpha": alpha, "kappa": kappa, "budget": budget,
                                  "rounds": T, "n_round": 1,
                                  "population": coverage_law.population_mass(alpha, T, kappa, 0.9),
                                  "successes": " ".join([str(k)] * seeds)})
    thresholds = [{"alpha": a, "rounds": T,
                   "kappa_max": None if a == 1.0 else coverage_law.kappa_max(a, T, 0.9)}
                  for a in (1.0, 0.5) for T in (1, 4)]
    return {"alphas": [1.0, 0.5], "rounds": [1, 4], "budgets": [1.0, 16.0], "seeds": seeds,
            "contexts": contexts, "cells": cells, "thresholds": thresholds}


def hand_made(tab_share, feat_rule, iter_share):
    ratios = tuple(2.0**k for k in range(-4, 4))
    return {"alpha": 1.0, "target": 0.9, "ridge": 1e-4,
            "tabular": _tabular((64.0, 256.0, 1024.0), ratios, 400, 16, tab_share),
            "featured": _featured([2**k for k in range(0, 16)], 32, feat_rule),
            "iterative": _iterative(100, 8, iter_share)}


def floor_rule(alpha, kappa, budget, T):
    """One step succeeds where its population limit reaches 1/2; T rounds everywhere they can
    but no better than one step where one step can."""
    one = coverage_law.population_mass(alpha, 1, kappa, 0.9) >= 0.5
    return 0.8 if (one or T > 1) and budget > 1 else 0.2


def test_summarise_on_the_bound_itself():
    """Success equal to the coverage bound: C1 and C2 hold; featured success switching at
    n rho / kappa_phi = 1/4 (a factor 1.4 below the bound's ln 2 / 2): C3 and C4 hold; the
    floor rule: C5 and C6 hold."""
    made = hand_made(lambda b: b, lambda x0, xphi: xphi >= 0.25, floor_rule)
    s = coverage.summarise(made)
    assert s["cov_c1"] == "holds" and s["cov_c1_count"] == "24 of 24"
    # an exact bound leaves Binomial(24, 0.975) consistent cells: central range 22 to 24
    assert s["cov_c1_expected"] == pytest.approx(23.4) and s["cov_c1_range"] == "22\u201324"
    assert s["cov_c1_nominal"] == "consistent with"
    assert s["cov_bound_cross"] == pytest.approx(math.log(2) / 2, rel=0.02)
    assert s["cov_exponent"] == pytest.approx(1.0, abs=0.02)
    assert s["cov_c2"] == "holds"
    assert s["cov_c2_growth"] == "in proportion to"
    assert s["cov_c3"] == "holds" and s["cov_feat_low"] > s["cov_feat_low_bound"]
    assert s["cov_feat_kphi_le"] == "in every one"
    assert s["cov_c4"] == "holds"
    assert s["cov_c5"] == "holds" and s["cov_c5_where"] == "none"
    assert s["cov_c5_gains"] == 0 and s["cov_c5_chance"] == "within"
    assert s["cov_c5_cells"] == 6 and s["cov_c5_chance_hi"] == 1
    assert s["cov_c6"] == "holds" and s["cov_c6_count"] == "1 of 1"
    assert s["cov_kmax_1"] == "no limit" and s["cov_kmax_05"] == "10"
    # success equal to the bound: no gap at any kappa_0, so the bound is attained
    assert s["cov_c1_attained"] == "is attained for large"


def test_summarise_verdicts_fail_where_the_numbers_say_so():
    """Success above the bound (C1 fails), a crossing that does not scale with kappa_0 (C2
    fails), featured success only where the tabular bound allows it (C3 fails), iterating
    that helps where one step could (C5 fails) and does not where it cannot (C6 fails)."""
    made = hand_made(lambda b: min(1.0, b + 0.2),
                     lambda x0, xphi: x0 >= 1.0,
                     lambda alpha, kappa, budget, T: 0.8 if T == 1 else 0.95)
    tab = made["tabular"]
    for cell in tab["cells"]:  # the crossing at a fixed m, not a fixed m / kappa_0
        k = tab["contexts"] if cell["m"] >= 32 else 0
        cell["successes"] = " ".join([str(k)] * tab["seeds"])
    s = coverage.summarise(made)
    assert s["cov_c1"] == "fails"
    assert s["cov_c1_nominal"] == "below"
    assert s["cov_exponent"] < 0.5 and s["cov_c2"] == "fails"
    assert s["cov_c2_growth"] == "more slowly than"
    assert s["cov_c3"] == "fails"
    assert s["cov_c5"] == "fails" and s["cov_c5_gains"] > 0
    # iterating gains in all 6 cells: beyond the at most 1 that chance gives
    assert s["cov_c5_gains"] == 6 and s["cov_c5_chance"] == "beyond"
    made = hand_made(lambda b: b, lambda x0, xphi: xphi >= 0.25,
                     lambda alpha, kappa, budget, T: 0.8 if T == 1 else 0.3)
    assert coverage.summarise(made)["cov_c6"] == "fails"
    # success half the bound: the largest kappa_0 still misses it widely
    made = hand_made(lambda b: b / 2, lambda x0, xphi: xphi >= 0.25, floor_rule)
    assert coverage.summarise(made)["cov_c1_attained"] == "is not attained even for large"


def test_design_glues_the_run_parameters_of_the_config():
    d = coverage.design(coverage.Config())
    assert (d["cov_contexts"], d["cov_K"], d["cov_d"], d["cov_feat_K"]) == (16, 4, 8, 8)
    assert d["cov_starts"] == "8, 12, 16" and d["cov_n_max"] == "16,384"
    assert d["cov_ratio_min"] == "0.0625" and d["cov_ratio_max"] == "8"
    assert coverage.design(coverage.Config(d=12, starts=(4.0,)))["cov_d"] == 12


@pytest.mark.parametrize("change, field", [
    ({"ridge": 0.0}, "ridge"), ({"kappas": (1.0,)}, "kappas"), ({"target": 0.4}, "target"),
    ({"rounds": (2, 4)}, "rounds"), ({"alphas": (0.0,)}, "alphas"), ({"K": 1}, "K"),
    ({"max_start_mass": 0.6}, "max_start_mass"),
])
def test_validate_names_the_bad_field(change, field):
    with pytest.raises(ConfigError) as err:
        coverage.Config(**change).validate()
    assert err.value.field == field


def test_summarise_on_a_small_run_gives_words(values):
    s = coverage.summarise(values)
    for key in ("cov_c1", "cov_c2", "cov_c3", "cov_c4", "cov_c5", "cov_c6"):
        assert s[key] in ("holds", "fails")
    assert np.isfinite(coverage.tabular_curves(values)[0]["crossing"])
    assert "cov_cross_4" not in s  # kappa_0 = 4 is off the book's grid: not named
