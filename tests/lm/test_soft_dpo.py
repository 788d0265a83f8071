"""The soft-label DPO round: its loss is minimal exactly at beta (h_i - h_j) = r_i - r_j, and a
round on a tiny network moves the log-ratios toward that target."""

import torch

from srlm_core.lm.controlled_judge import judge_rewards, soft_labels
from srlm_core.lm.soft_dpo import SoftDPOSettings, group_loss, train_round
from srlm_core.lm.top_blocks import PoolSequences, TopBlocksPolicy


def test_group_loss_is_minimal_at_the_population_target():
    g = torch.tensor([1.0, 0.0, 0.0, 1.0], dtype=torch.float64)
    rewards = judge_rewards(g, torch.zeros(4, dtype=torch.float64), 1.0, 2.0)
    labels = soft_labels(rewards)
    ref = torch.tensor([-10.0, -12.0, -9.0, -11.0], dtype=torch.float64)
    beta = 0.5
    target = ref + rewards / beta + 3.0  # any per-prompt constant
    u = target.clone().requires_grad_(True)
    loss = group_loss(u, ref, labels, beta)
    (grad,) = torch.autograd.grad(loss, u)
    assert grad.abs().max() < 1e-12
    for direction in torch.eye(4, dtype=torch.float64):
        assert group_loss(target + 0.1 * direction, ref, labels, beta) > loss


def _policy(tokenizer, model):
    texts = ["Yes!", "No.", "Maybe so", "Never"]
    ids = [tokenizer(t, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
           for t in texts]
    sequences = PoolSequences.build(tokenizer, ["Answer me."] * 4, ids)
    return TopBlocksPolicy(model, sequences, trainable_blocks=1, batch_size=3)


def test_a_round_reaches_most_of_the_target(tokenizer, model):
    policy = _policy(tokenizer, model)
    logp0 = policy.all_logprobs()
    g = torch.tensor([1.0, 0.0, 1.0, 0.0], dtype=torch.float64)
    labels = [soft_labels(judge_rewards(g, torch.zeros(4, dtype=g.dtype), 1.0, 2.0))]
    log = train_round(policy, [[0, 1, 2, 3]], labels, logp0,
                      SoftDPOSettings(learning_rate=1e-2, epochs=60, prompts_per_step=1))
    h = policy.all_logprobs() - logp0
    error = (h - h.mean()) - 2.0 * (g - g.mean())
    assert error.norm() < 0.1 * (2.0 * (g - g.mean())).norm()
    assert log["epoch_loss"][-1] < log["epoch_loss"][0]
