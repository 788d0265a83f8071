"""A language-model policy on a fixed response pool whose only trainable part is its top
decoder blocks and final norm: the fast training path of the controlled-alpha experiment.

pi_theta(y|x) is the full causal LM (SmolLM2: embeddings, 30 Llama blocks, final RMSNorm,
head tied to the embeddings).  Only the top ``trainable_blocks`` blocks and the final norm
change; the embeddings, the head and the lower blocks stay frozen.  The lower blocks' output
on every pool sequence (chat-formatted prompt followed by the answer's exact token ids) is
therefore fixed: it is computed once and cached, and each training step runs only the top
blocks, the norm and the head.  The head's log-softmax over the full vocabulary is kept
(exact sequence log-probabilities), evaluated only at the answer's positions.

Sequences are right-padded, so a plain causal mask is exact: a padded position comes after
every real one and no real position attends to it.  :meth:`TopBlocksPolicy.export` writes the
trained blocks back into a full model (for sampling), which is a real network, not a proxy.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from tqdm import tqdm


@dataclass
class PoolSequences:
    """Token ids of each (prompt, answer) sequence and where its answer starts."""

    ids: list[list[int]]
    answer_start: list[int]

    @classmethod
    def build(cls, tokenizer, instructions, answers) -> PoolSequences:
        """``instructions[i]`` is the prompt of answer ids ``answers[i]``."""
        from srlm_core.lm.diagnostics import chat_prompts

        prompts = chat_prompts(tokenizer, instructions)
        ids, starts = [], []
        for prompt, answer in zip(prompts, answers, strict=True):
            p = tokenizer(prompt, add_special_tokens=False)["input_ids"]
            ids.append(p + list(answer))
            starts.append(len(p))
        return cls(ids, starts)

    def __len__(self) -> int:
        return len(self.ids)


def _run_blocks(model, hidden: torch.Tensor, layers) -> torch.Tensor:
    """``layers`` of ``model`` on right-padded hidden states (B, L, D) with a causal mask."""
    positions = torch.arange(hidden.shape[1], device=hidden.device)[None]
    rotary = model.model.rotary_emb(hidden, position_ids=positions)
    for layer in layers:
        hidden = layer(hidden, attention_mask=None, position_ids=positions,
                       position_embeddings=rotary)
    return hidden


def _padded(rows: list[torch.Tensor]) -> torch.Tensor:
    width = max(r.shape[0] for r in rows)
    out = rows[0].new_zeros((len(rows), width, *rows[0].shape[1:]))
    for i, r in enumerate(rows):
        out[i, :r.shape[0]] = r
    return out


class TopBlocksPolicy:
    """pi_theta on a pool with the top ``trainable_blocks`` blocks and the final norm
    trainable (a private copy of ``model``; the caller's model is not changed); at
    ``temperature`` tau the policy is softmax(logits / tau)."""

    def __init__(self, model, sequences: PoolSequences, trainable_blocks: int,
                 batch_size: int = 16, progress: bool = False, temperature: float = 1.0):
        self.temperature = temperature  # the policy's logits are divided by it
        layers = model.model.layers
        if not 1 <= trainable_blocks <= len(layers):
            raise ValueError(f"trainable_blocks must be in 1..{len(layers)}")
        self.sequences = sequences
        self.split = len(layers) - trainable_blocks
        self.initial = {k: v.detach().clone() for k, v in self._trainable_state(model).items()}
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.trainable = [*self.model.model.layers[self.split:], self.model.model.norm]
        for module in self.trainable:
            for p in module.parameters():
                p.requires_grad_(True)
        self.device = next(self.model.parameters()).device
        self.cache = self._cache_frozen(batch_size, progress)

    def _trainable_state(self, model) -> dict:
        return {k: v for k, v in model.state_dict().items()
                if k.startswith("model.norm.") or any(
                    k.startswith(f"model.layers.{i}.")
                    for i in range(self.split, len(model.model.layers)))}

    def parameters(self):
        return [p for module in self.trainable for p in module.parameters()]

    @torch.no_grad()
    def _cache_frozen(self, batch_size: int, progress: bool) -> list[torch.Tensor]:
        """Output of the frozen embeddings and lower blocks for every sequence (CPU, float32)."""
        order = sorted(range(len(self.sequences)), key=lambda i: len(self.sequences.ids[i]))
        out: dict[int, torch.Tensor] = {}
        batches = range(0, len(order), batch_size)
        for start in tqdm(batches, desc="cache frozen blocks", leave=False, disable=not progress):
            index = order[start:start + batch_size]
            ids = _padded([torch.tensor(self.sequences.ids[i]) for i in index]).to(self.device)
            hidden = self.model.model.embed_tokens(ids)
            hidden = _run_blocks(self.model, hidden, self.model.model.layers[:self.split])
            for row, i in zip(hidden, index, strict=True):
                out[i] = row[:len(self.sequences.ids[i])].float().cpu()
        return [out[i] for i in range(len(self.sequences))]

    def logprobs(self, index) -> torch.Tensor:
        """log pi_theta(answer | prompt) summed over the answer's tokens, for the sequences
        ``index`` (differentiable in the trainable parameters)."""
        index = list(index)
        hidden = _padded([self.cache[i] for i in index]).to(self.device)
        hidden = self.model.model.norm(_run_blocks(
            self.model, hidden, self.model.model.layers[self.split:]))
        rows, cols, targets = [], [], []
        for b, i in enumerate(index):
            ids, start = self.sequences.ids[i], self.sequences.answer_start[i]
            positions = range(start - 1, len(ids) - 1)  # position p predicts token p + 1
            rows += [b] * len(positions)
            cols += positions
            targets += ids[start:]
        rows_t = torch.tensor(rows, device=self.device)
        picked = hidden[rows_t, torch.tensor(cols, device=self.device)]
        logits = self.model.lm_head(picked).float() / self.temperature
        token = torch.log_softmax(logits, dim=-1).gather(
            -1, torch.tensor(targets, device=self.device)[:, None]).squeeze(-1)
        return torch.zeros(len(index), device=self.device, dtype=token.dtype).index_add(
            0, rows_t, token)

    @torch.no_grad()
    def all_logprobs(self, batch_size: int = 32) -> torch.Tensor:
        """log pi_theta of every pool sequence, in pool order (float64, CPU)."""
        out = [self.logprobs(range(s, min(s + batch_size, len(self.sequences)))).double().cpu()
               for s in range(0, len(self.sequences), batch_size)]
        return torch.cat(out)

    def state(self) -> dict:
        """The trainable parameters (a checkpoint of pi_theta given the frozen model)."""
        return {k: v.detach().cpu().clone() for k, v in self._trainable_state(self.model).items()}

    def load_state(self, state: dict) -> None:
        self.model.load_state_dict(state, strict=False)

    def reset(self) -> None:
        """Back to pi_0."""
        self.load_state(self.initial)

    def export(self, model):
        """A copy of the full ``model`` carrying this policy's trained blocks (for sampling)."""
        full = copy.deepcopy(model).eval()
        full.load_state_dict(self.state(), strict=False)
        return full
