"""The controlled judge: at alpha = 1 its labels are the checker's Bradley-Terry labels and
ignore the policy; as alpha -> 0 they are the policy's own log-ratio preferences."""

import torch

from srlm_core.lm.controlled_judge import bernoulli_labels, judge_rewards, soft_labels

g = torch.tensor([1.0, 0.0, 1.0, 0.0], dtype=torch.float64)
h = torch.tensor([0.3, 1.7, -0.4, 0.0], dtype=torch.float64)


def test_alpha_one_is_the_oracle():
    p = soft_labels(judge_rewards(g, h, alpha=1.0, scale=2.0))
    assert torch.allclose(p, soft_labels(judge_rewards(g, torch.zeros(4, dtype=g.dtype), 1.0,
                                                       2.0)))
    assert torch.isclose(p[0, 1], torch.sigmoid(torch.tensor(2.0, dtype=g.dtype)))
    assert torch.isclose(p[0, 2], torch.tensor(0.5, dtype=g.dtype))


def test_alpha_zero_is_pure_self_preference():
    p = soft_labels(judge_rewards(g, h, alpha=0.0, scale=2.0))
    assert torch.isclose(p[1, 0], torch.sigmoid(h[1] - h[0]))
    assert p[1, 0] > 0.5  # the passing answer 0 loses: the policy prefers answer 1
    mixed = soft_labels(judge_rewards(g, h, alpha=0.25, scale=2.0))
    assert torch.isclose(mixed[0, 1], torch.sigmoid(0.25 * 2.0 + 0.75 * (h[0] - h[1])))


def test_labels_are_complementary_and_bernoulli_draws_match_their_mean():
    p = soft_labels(judge_rewards(g, h, 0.5, 2.0))
    assert torch.allclose(p + p.T, torch.ones_like(p))
    generator = torch.Generator().manual_seed(0)
    draws = torch.stack([bernoulli_labels(p, generator) for _ in range(4000)])
    assert torch.allclose(draws + draws.transpose(1, 2), torch.ones_like(draws))
    assert set(draws[:, 0, 1].unique().tolist()) == {0.0, 1.0}
    # mean within 4 standard errors of p for every pair
    se = (p * (1 - p) / 4000).sqrt()
    assert ((draws.mean(0) - p).abs() <= 4 * se + 1e-12).all()
