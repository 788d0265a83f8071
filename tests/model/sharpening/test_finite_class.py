"""The ERM of Eq. 3 over the hard instance's finite class: the minimisers, by brute force over
every member of a small class, and the uniform tie-break."""

import itertools

import numpy as np
import pytest

from srlm_core.model.sharpening import finite_class
from srlm_core.model.sharpening.hard_instance import HardInstance, sample_pairs

BETA = 0.5
INST = HardInstance(d=2, M=4, epsilon=0.5)
POWERS = finite_class.exponents(BETA, 2)  # 1, 3, 9


def _eq3(log_member, log_current, prompts, first, second):
    """Eq. 3 summed over the pairs, straight from its definition."""
    def ratio(y):
        return log_member[prompts, y] - log_current[prompts, y]
    reward = log_current[prompts, first] - log_current[prompts, second]
    return float(np.sum((BETA * (ratio(first) - ratio(second)) - reward) ** 2))


def _pairs(seed, n=6):
    rng = np.random.default_rng(seed)
    truth = INST.draw_bumps(rng)
    current = INST.log_policy(truth)
    return truth, current, sample_pairs(np.exp(current), INST.weights, n, rng)


@pytest.mark.parametrize("seed", range(6))
def test_losses_match_eq3_for_every_member_and_minimisers_have_zero_loss(seed):
    truth, current, (prompts, first, second) = _pairs(seed)
    table = finite_class.losses(INST, current, prompts, first, second, BETA, POWERS)
    members = {}
    for k, s in enumerate(POWERS):
        for v in itertools.product(range(INST.M), repeat=INST.d):
            direct = _eq3(INST.log_policy(np.array(v), s), current, prompts, first, second)
            assert table[k, np.arange(INST.d), v].sum() == pytest.approx(direct, abs=1e-9)
            members[(v, s)] = direct
    # realizable: the target pi_v*^{1 + 1/beta} has zero loss, so every minimiser does
    assert members[(tuple(truth), POWERS[1])] == pytest.approx(0, abs=1e-12)
    zero = {key for key, value in members.items() if value < 1e-9}
    for draw in range(20):
        v, s = finite_class.erm(INST, current, prompts, first, second, BETA, POWERS,
                                np.random.default_rng(draw))
        assert (tuple(int(x) for x in v), s) in zero


def test_tie_break_is_uniform_over_the_minimisers():
    # no informative pair at all: every (v, s) ties; P(s) = 1/3 and each v_i uniform on M
    prompts = np.array([1, 2])
    pairs = np.array([2, 1])
    current = INST.log_policy(np.array([0, 0]))
    rng = np.random.default_rng(0)
    picks = [finite_class.erm(INST, current, prompts, pairs, pairs, BETA, POWERS, rng)
             for _ in range(6000)]
    shares = np.bincount([POWERS.index(s) for _, s in picks]) / len(picks)
    assert shares == pytest.approx([1 / 3] * 3, abs=0.03)
    first_bump = np.bincount([v[0] for v, _ in picks], minlength=4) / len(picks)
    assert first_bump == pytest.approx([0.25] * 4, abs=0.03)
    # one informative pair (2, 1) at x_1 with bump 0: v_1 in {0, 3} (not 1, not 2), s = 3
    picks = [finite_class.erm(INST, current, np.array([1]), np.array([2]), np.array([1]), BETA,
                              POWERS, rng) for _ in range(4000)]
    assert {s for _, s in picks} == {1.0, 3.0, 9.0}  # non-bump pair: 0 = 0 for every s
    assert set(v[0] for v, _ in picks) == {0, 3}
    assert np.mean([v[0] == 0 for v, _ in picks]) == pytest.approx(0.5, abs=0.03)


def test_a_seen_bump_pins_the_member_and_the_exponent():
    current = INST.log_policy(np.array([2, 1]))
    v, s = finite_class.erm(INST, current, np.array([1, 2]), np.array([2, 0]),
                            np.array([0, 1]), BETA, POWERS, np.random.default_rng(0))
    assert list(v) == [2, 1] and s == POWERS[1]
    assert finite_class.log_class_size(INST, POWERS) == pytest.approx(2 * np.log(4) + np.log(3))


def test_a_preferred_member_wins_the_ties_it_is_in_and_only_those():
    current = INST.log_policy(np.array([0, 0]))
    rng = np.random.default_rng(1)
    # uninformative sample: everything ties, the preferred member is taken
    for _ in range(50):
        v, s = finite_class.erm(INST, current, np.array([1, 2]), np.array([2, 1]),
                                np.array([2, 1]), BETA, POWERS, rng, prefer=(np.array([3, 1]), 9.0))
        assert list(v) == [3, 1] and s == 9.0
    # a pair (3, 0) at x_1 under a bump at 0 rules out v_1 = 3 and pins s = 3
    picks = [finite_class.erm(INST, current, np.array([1]), np.array([3]), np.array([0]), BETA,
                              POWERS, rng, prefer=(np.array([3, 1]), 9.0)) for _ in range(50)]
    assert all(v[0] == 0 and v[1] == 1 and s == 3.0 for v, s in picks)
