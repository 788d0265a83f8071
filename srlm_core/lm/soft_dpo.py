"""Soft-label DPO on a fixed response pool: the population DPO update, for a budget of epochs.

For one prompt with answers y_1..y_K, soft labels p_ij and reference log-probabilities, the
loss is the mean over pairs i < j of the soft-label logistic loss
(:func:`srlm_core.model.dpo.soft_label_nll`) at the DPO margin

    m_ij = beta [(log pi_theta(y_i) - log pi_ref(y_i)) - (log pi_theta(y_j) - log pi_ref(y_j))].

Its minimiser over free log-ratios is beta (h_i - h_j) = r_i - r_j for every pair: the exact
population update of the book's model.  A network reaches only part of that target; the
experiment measures how much.  Adam with a learning rate decaying linearly to zero over the
round, reset every round (the weights are warm-started); minibatches of whole prompts in a
seeded order.  Launched over N processes (:mod:`srlm_core.parallel`), each step's prompts
are split over the ranks and the gradients summed: the same steps as one process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from srlm_core import parallel
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


def _my_share(batch: list[int], rank: int, n: int) -> list[int]:
    """The contiguous part of a step's prompts that rank ``rank`` of ``n`` trains on."""
    k, m = divmod(len(batch), n)
    start = rank * k + min(rank, m)
    return batch[start:start + k + (rank < m)]


def _sum_gradients(parameters) -> None:
    """Replace every gradient by its sum over the ranks (one all-reduce)."""
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in parameters]
    total = parallel.sum_across(torch.cat([g.reshape(-1) for g in grads]))
    offset = 0
    for p in parameters:
        p.grad = total[offset:offset + p.numel()].view_as(p).clone()
        offset += p.numel()


def train_round(policy, groups: list[list[int]], labels: list[torch.Tensor],
                reference: torch.Tensor, settings: SoftDPOSettings) -> dict:
    """Minimise the summed group losses over ``policy``'s trainable parameters.

    ``groups[k]`` are the pool indices of prompt k's answers, ``labels[k]`` its (K, K) labels,
    ``reference`` the reference log-probabilities of every pool sequence.  Launched over N
    processes, ``settings.prompts_per_step`` must be a multiple of N."""
    n_ranks, rank = parallel.world_size(), parallel.rank()
    if n_ranks > 1:
        parallel.require_divisible("prompts_per_step", settings.prompts_per_step)
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
            if n_ranks > 1:
                batch = _my_share(batch, rank, n_ranks)
            loss = 0.0
            if batch:
                index = [i for k in batch for i in groups[k]]
                logp = policy.logprobs(index)
                offset = 0
                for k in batch:
                    size = len(groups[k])
                    ref = reference[groups[k]].to(logp)
                    loss = loss + group_loss(logp[offset:offset + size], ref,
                                             labels[k].to(logp), settings.beta)
                    offset += size
            optimizer.zero_grad(set_to_none=True)
            if batch:
                (loss / len(groups)).backward()
            if n_ranks > 1:
                _sum_gradients(policy.parameters())
                local = loss.detach() if torch.is_tensor(loss) else torch.tensor(loss)
                loss = parallel.sum_across(local.double())
            optimizer.step()
            schedule.step()
            total += loss.item()
        losses.append(total / len(groups))
    return {"epoch_loss": losses, "seconds": time.perf_counter() - start}
