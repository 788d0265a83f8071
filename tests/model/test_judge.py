import torch

from srlm_core.model.judge import judge_rewards, sample_pairs
from srlm_core.model.policy import make_problem


def test_judge_with_full_signal_is_the_true_reward():
    p = make_problem(d=4, K=5, contexts=3, seed=0)
    theta = torch.randn(2, 4, dtype=torch.float64)
    assert torch.allclose(judge_rewards(p, theta, 1.0), p.true_reward().expand(2, -1, -1))


def test_labels_follow_bradley_terry_probabilities():
    p = make_problem(d=3, K=2, contexts=1, beta=1.0, signal=2.0, seed=4)
    theta = p.theta_ref.expand(1, -1)
    g = torch.Generator().manual_seed(0)
    pairs = sample_pairs(p, theta, alpha=1.0, n=40000, generator=g)
    r = p.true_reward()[0]
    distinct = pairs.first != pairs.second
    first_is_0 = distinct & (pairs.first == 0)
    empirical = pairs.label[first_is_0].mean()
    expected = torch.sigmoid(r[0] - r[1])
    assert abs(empirical - expected) < 0.015


def test_sampling_is_deterministic_given_the_seed():
    p = make_problem(d=3, K=4, contexts=5, seed=0)
    theta = torch.zeros(2, 3, dtype=torch.float64)
    a = sample_pairs(p, theta, 0.5, 50, torch.Generator().manual_seed(7))
    b = sample_pairs(p, theta, 0.5, 50, torch.Generator().manual_seed(7))
    assert torch.equal(a.label, b.label) and torch.equal(a.first, b.first)
