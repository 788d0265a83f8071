"""Theorem 4.1's hard instance: its sizes, kappa_0 and its pair sampler."""

import numpy as np
import pytest

from srlm_core.model.sharpening import observables
from srlm_core.model.sharpening.hard_instance import HardInstance, sample_pairs


def test_masses_kappa_and_class_size():
    inst = HardInstance(d=4, M=10, epsilon=0.2)
    assert inst.bump_mass == pytest.approx(0.2)  # 1 / ((1 - 1/2) M) = 2/M
    assert inst.other_mass == pytest.approx(0.1 * (1 - 0.5 / (9 * 0.5)))  # Appendix D's form
    probs = inst.policy(np.array([0, 3, 9, 3]))
    assert probs.sum(axis=1) == pytest.approx(np.ones(5))
    assert probs[0, 0] == 1 and probs[2, 3] == pytest.approx(0.2)
    assert inst.weights == pytest.approx([0.8, 0.05, 0.05, 0.05, 0.05])
    # kappa of every member, exactly: (1 - eps) + eps M (1 - gamma)
    assert inst.kappa0 == pytest.approx(0.8 + 0.2 * 10 * 0.5)
    assert observables.kappa(probs, inst.weights) == pytest.approx(inst.kappa0)
    assert inst.log_class_size == pytest.approx(4 * np.log(10))
    assert inst.log_ratio == pytest.approx(np.log(inst.bump_mass / inst.other_mass))


def test_sharpened_members_are_powers_of_the_base_model():
    inst = HardInstance(d=3, M=5, epsilon=0.5, gamma=0.3)
    bumps = np.array([1, 4, 0])
    base, sharp = inst.policy(bumps), inst.policy(bumps, exponent=3.0)
    powered = base[1:] ** 3 / (base[1:] ** 3).sum(axis=1, keepdims=True)
    assert sharp[1:] == pytest.approx(powered, rel=1e-12)
    assert sharp[0, 0] == 1.0


@pytest.mark.parametrize("change", [{"M": 1}, {"epsilon": 0.0}, {"gamma": 1.0}, {"d": 0}])
def test_invalid_instances_are_refused(change):
    with pytest.raises(ValueError):
        HardInstance(**{"d": 2, "M": 4, "epsilon": 0.5, **change})


def test_sampler_follows_the_prompt_distribution_and_the_rows():
    inst = HardInstance(d=2, M=4, epsilon=0.5)
    probs = inst.policy(np.array([2, 0]))
    rng = np.random.default_rng(0)
    prompts, first, second = sample_pairs(probs, inst.weights, 40000, rng)
    assert len(prompts) / 40000 == pytest.approx(0.5, abs=0.01)  # the informative prompts
    assert np.all(np.diff(prompts) >= 0) and set(prompts) == {1, 2}
    for row in (1, 2):
        drawn = np.concatenate([first[prompts == row], second[prompts == row]])
        assert np.bincount(drawn, minlength=4) / drawn.size == pytest.approx(probs[row],
                                                                             abs=0.01)
    # a zero-mass response is never drawn
    probs[1] = [0.0, 0.5, 0.5, 0.0]
    prompts, first, second = sample_pairs(probs, inst.weights, 2000, np.random.default_rng(1))
    assert set(first[prompts == 1]) | set(second[prompts == 1]) == {1, 2}
