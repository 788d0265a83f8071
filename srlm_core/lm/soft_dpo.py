"""Soft-label DPO on a fixed response pool: the population DPO update, for a budget of epochs.

For one prompt with answers y_1..y_K, soft labels p_ij and reference log-probabilities, the
loss is the mean over pairs i < j of the soft-label logistic loss
(:func:`srlm_core.model.dpo.soft_label_nll`) at the DPO margin

    m_ij = beta [(log pi_theta(y_i) - log pi_ref(y_i)) - (log pi_theta(y_j) - log pi_ref(y_j))].

Its minimiser over free log-ratios is beta (h_i - h_j) = r_i - r_j for every pair: the exact
population update of the book's model.  A network reaches only part of that target; the
experiment measures how much.  Adam with a learning rate decaying linearly to zero over the
round, reset every round (the weights are warm-started); minibatches of whole prompts in a
seeded order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from srlm_core.model.dpo import soft_label_nll


@dataclass(frozen=True)
class SoftDPOSettings:
    """Hyper-parameters of soft-label DPO training."""

    beta: float = 1.0
    learning_rate: float = 1e-4
    epochs: int = 6
    prompts_per_step: int = 4
    seed: int = 0


def group_loss(logp: torch.Tensor, ref: torch.Tensor, labels: torch.Tensor,
               beta: float) -> torch.Tensor:
    """Mean soft-label DPO loss over the pairs i < j of one prompt's K answers."""
    u = beta * (logp - ref)
    margins = u[:, None] - u[None, :]
    i, j = torch.triu_indices(len(u), len(u), offset=1)
    return soft_label_nll(margins[i, j], labels[i, j]).mean()


def train_round(policy, groups: list[list[int]], labels: list[torch.Tensor],
                reference: torch.Tensor, settings: SoftDPOSettings) -> dict:
    """Minimise the summed group losses over ``policy``'s trainable parameters.

    ``groups[k]`` are the pool indices of prompt k's answers, ``labels[k]`` its (K, K) labels,
    ``reference`` the reference log-probabilities of every pool sequence."""
    optimizer = torch.optim.Adam(policy.parameters(), lr=settings.learning_rate)
    steps = settings.epochs * -(-len(groups) // settings.prompts_per_step)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda k: max(0.0, 1 - k / steps))
    generator = torch.Generator().manual_seed(settings.seed)
    losses, start = [], time.perf_counter()
    for _ in range(settings.epochs):
        order = torch.randperm(len(groups), generator=generator).tolist()
        total = 0.0
        for s in range(0, len(order), settings.prompts_per_step):
            batch = order[s:s + settings.prompts_per_step]
            index = [i for k in batch for i in groups[k]]
            logp = policy.logprobs(index)
            loss, offset = 0.0, 0
            for k in batch:
                size = len(groups[k])
                ref = reference[groups[k]].to(logp)
                loss = loss + group_loss(logp[offset:offset + size], ref,
                                         labels[k].to(logp), settings.beta)
                offset += size
            optimizer.zero_grad(set_to_none=True)
            (loss / len(groups)).backward()
            optimizer.step()
            schedule.step()
            total += loss.item()
        losses.append(total / len(groups))
    return {"epoch_loss": losses, "seconds": time.perf_counter() - start}
