import numpy as np
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


def _skewed_problem():
    """Two prompts, three responses, and a policy far from uniform and from pi_ref."""
    p = make_problem(d=3, K=3, contexts=2, beta=1.3, signal=1.5, seed=2)
    theta = p.theta_ref + torch.tensor([2.5, -1.5, 1.0], dtype=torch.float64)
    return p, theta


def _by_hand(p, theta, alpha):
    """pi_theta and r_t from the definitions, in NumPy: softmax of theta . phi and
    r_t = alpha beta w* . phi + (1 - alpha) beta (log pi_t - log pi_ref)."""
    phi = p.features.numpy()
    logits, ref_logits = phi @ theta.numpy(), phi @ p.theta_ref.numpy()
    log_pi = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    log_ref = ref_logits - np.log(np.exp(ref_logits).sum(-1, keepdims=True))
    reward = alpha * p.beta * (phi @ p.w_star.numpy()) + (1 - alpha) * p.beta * (log_pi - log_ref)
    return np.exp(log_pi), reward


def test_pairs_are_drawn_independently_from_the_current_policy():
    """Both responses of a pair follow pi_t(.|x) (here 0.09 to 0.67), independently,
    and prompts follow rho: every empirical frequency within 4.5 standard errors.  A sampler
    that draws responses uniformly, from pi_ref, or the same response twice fails."""
    p, theta = _skewed_problem()
    pi, _ = _by_hand(p, theta, 0.3)
    assert pi.max() > 0.65 and pi.min() < 0.1  # far from uniform (1/3)
    n = 60000
    pairs = sample_pairs(p, theta[None], 0.3, n, torch.Generator().manual_seed(1))
    x, y, y2 = (v[0].numpy() for v in (pairs.contexts, pairs.first, pairs.second))
    assert abs((x == 0).mean() - 0.5) < 4.5 * (0.25 / n) ** 0.5
    for c in range(2):
        rows = x == c
        m = rows.sum()
        for a in range(3):
            for response in (y, y2):
                freq = (response[rows] == a).mean()
                assert abs(freq - pi[c, a]) < 4.5 * (pi[c, a] * (1 - pi[c, a]) / m) ** 0.5
            for b in range(3):  # independence: the joint is the product
                joint = ((y[rows] == a) & (y2[rows] == b)).mean()
                want = pi[c, a] * pi[c, b]
                assert abs(joint - want) < 4.5 * (want * (1 - want) / m) ** 0.5


def test_labels_include_the_self_preference_term_below_full_signal():
    """At alpha = 0.3 the label of (y, y') is Bernoulli(sigma(r_t(y) - r_t(y'))) with the
    (1 - alpha) beta log(pi_t / pi_ref) self-preference in r_t; the case is chosen so that
    for some pair the self-preference reverses the sign of the true reward's margin.  A judge
    without the self-preference term (alpha r* only), or with it measured against pi_t (zero),
    fails by more than 4.5 standard errors."""
    alpha = 0.3
    p, theta = _skewed_problem()
    _, reward = _by_hand(p, theta, alpha)
    true = p.beta * (p.features.numpy() @ p.w_star.numpy())
    flipped = [(c, a, b) for c in range(2) for a in range(3) for b in range(3)
               if (reward[c, a] - reward[c, b]) * (true[c, a] - true[c, b]) < 0]
    assert flipped  # the self-preference reverses at least one preference
    n = 60000
    pairs = sample_pairs(p, theta[None], alpha, n, torch.Generator().manual_seed(2))
    x, y, y2, label = (v[0].numpy() for v in (pairs.contexts, pairs.first, pairs.second,
                                                pairs.label))
    checked = 0
    for c in range(2):
        for a in range(3):
            for b in range(3):
                rows = (x == c) & (y == a) & (y2 == b)
                if a == b or rows.sum() < 200:
                    continue
                want = 1 / (1 + np.exp(-(reward[c, a] - reward[c, b])))
                se = (want * (1 - want) / rows.sum()) ** 0.5
                assert abs(label[rows].mean() - want) < 4.5 * se
                checked += 1
    assert checked >= 8
