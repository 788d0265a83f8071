r"""Exact probabilities of whole answers under a language model at a sampling temperature.

The policy is the model at temperature :math:`\tau` with at most ``max_new_tokens`` (H) new
tokens: :math:`\pi(y\mid x)=\prod_h \mathrm{softmax}(z_h/\tau)[y_h]`, where an answer is
either a token string ending in the end-of-turn token within H tokens, or the first H tokens
of a string that has not ended by then (a *cut* answer).  These answers partition the
outcomes of sampling, so :math:`\pi` is a probability distribution over a finite tree of
depth H and every quantity below is exact for it:

* :func:`sample`: answers drawn from :math:`\pi` (pure temperature sampling, seeded);
* :func:`greedy`: the greedy answer (the argmax token at every step; the temperature does
  not change it);
* :func:`beam`: the ``beams`` best answers found by beam search on the temperature-scaled
  log-probabilities (a lower bound on :math:`\max_y\pi(y\mid x)`, used next to the greedy
  one);
* :func:`logprobs`: :math:`\log\pi(y\mid x)` of given answers by one teacher-forced pass.

By Huang et al.'s Proposition 3.1 greedy decoding returns the mode whenever the mode has
probability above 1/2, and by the paper's Proposition 4.3 greedy can miss it otherwise; both
sides together give :math:`\pi(\mathrm{greedy})>\tfrac12 \iff \max_y\pi(y)>\tfrac12`.
:func:`enumerate_answers` and :func:`greedy_answer` compute both sides on an explicit small
tree, for the tests of that identity.
"""

from __future__ import annotations

import contextlib
import copy
import itertools

import torch

from srlm_core.lm.diagnostics import Response, chat_prompts, response, sequence_logprobs


def _generation_config(model, **settings):
    """The model's generation config with ``settings`` and no forced end-of-turn token."""
    config = copy.deepcopy(model.generation_config)
    config.forced_eos_token_id = None
    for key, value in settings.items():
        setattr(config, key, value)
    return config


@contextlib.contextmanager
def _unforced(model):
    """No forced end-of-turn token while generating (it would change the distribution; the
    tiny model's config has one).  transformers fills an unset value of a passed config from
    the model's own, so the model's is cleared for the call."""
    saved = model.generation_config.forced_eos_token_id
    model.generation_config.forced_eos_token_id = None
    try:
        yield
    finally:
        model.generation_config.forced_eos_token_id = saved


def _encode(tokenizer, instructions, device):
    return tokenizer(chat_prompts(tokenizer, instructions), return_tensors="pt", padding=True,
                     padding_side="left", add_special_tokens=False).to(device)


def _answers(tokenizer, rows: torch.Tensor) -> list[Response]:
    out = []
    eos = tokenizer.eos_token_id
    for row in rows.cpu():
        ids = row.tolist()
        finished = eos in ids
        if finished:
            ids = ids[:ids.index(eos) + 1]
        else:  # beams shorter than the longest are padded with pad tokens after the end
            pad = tokenizer.pad_token_id
            while ids and ids[-1] == pad and pad != eos:
                ids.pop()
        out.append(response(tokenizer.decode(ids, skip_special_tokens=True), finished, ids))
    return out


class _TemperatureLogProbs:
    """Beam-search scores at temperature tau: log_softmax(log_softmax(z) / tau) =
    log_softmax(z / tau), since the inner normalisation only shifts z by a constant."""

    def __init__(self, temperature: float):
        self.temperature = temperature

    def __call__(self, input_ids, scores):
        return torch.log_softmax(scores / self.temperature, dim=-1)


@torch.no_grad()
def greedy(model, tokenizer, instructions, max_new_tokens: int,
           batch_size: int = 32) -> list[Response]:
    """The greedy answer to each instruction."""
    out: list[Response] = []
    config = _generation_config(model, do_sample=False, num_beams=1,
                                max_new_tokens=max_new_tokens, temperature=None, top_p=None,
                                top_k=None)
    for start in range(0, len(instructions), batch_size):
        enc = _encode(tokenizer, instructions[start:start + batch_size], model.device)
        with _unforced(model):
            ids = model.generate(**enc, generation_config=config)
        out += _answers(tokenizer, ids[:, enc["input_ids"].shape[1]:])
    return out


@torch.no_grad()
def sample(model, tokenizer, instructions, samples: int, max_new_tokens: int,
           temperature: float, seed: int, batch_size: int = 64) -> list[list[Response]]:
    """``samples`` answers drawn from pi (temperature ``temperature``) for each instruction,
    from one stream seeded with ``seed``."""
    torch.manual_seed(seed)
    config = _generation_config(model, do_sample=True, temperature=temperature, top_p=1.0,
                                top_k=0, max_new_tokens=max_new_tokens, num_beams=1,
                                num_return_sequences=samples)
    per_batch = max(1, batch_size // samples)
    out: list[list[Response]] = []
    for start in range(0, len(instructions), per_batch):
        enc = _encode(tokenizer, instructions[start:start + per_batch], model.device)
        with _unforced(model):
            ids = model.generate(**enc, generation_config=config)
        flat = _answers(tokenizer, ids[:, enc["input_ids"].shape[1]:])
        out += [flat[i:i + samples] for i in range(0, len(flat), samples)]
    return out


@torch.no_grad()
def beam(model, tokenizer, instructions, beams: int, max_new_tokens: int, temperature: float,
         batch_size: int = 8) -> list[list[Response]]:
    """The ``beams`` answers beam search keeps for each instruction (sum of temperature-scaled
    token log-probabilities, no length penalty)."""
    from transformers import LogitsProcessorList

    config = _generation_config(model, do_sample=False, num_beams=beams,
                                num_return_sequences=beams, length_penalty=0.0,
                                early_stopping=True, max_new_tokens=max_new_tokens,
                                temperature=None, top_p=None, top_k=None)
    processors = LogitsProcessorList([_TemperatureLogProbs(temperature)])
    out: list[list[Response]] = []
    for start in range(0, len(instructions), batch_size):
        enc = _encode(tokenizer, instructions[start:start + batch_size], model.device)
        with _unforced(model):
            ids = model.generate(**enc, generation_config=config, logits_processor=processors)
        flat = _answers(tokenizer, ids[:, enc["input_ids"].shape[1]:])
        out += [flat[i:i + beams] for i in range(0, len(flat), beams)]
    return out


def logprobs(model, tokenizer, instructions, answers, temperature: float,
             batch_size: int = 32) -> list[float]:
    """log pi(answer | instruction) at ``temperature``, summed over the answer's tokens (its
    end-of-turn token included when it has one)."""
    if not answers:
        return []
    return sequence_logprobs(model, tokenizer, instructions, answers, temperature,
                             batch_size, progress=False).total


# -- explicit small trees (tests of the share identity) -----------------------------------------

def enumerate_answers(step, vocab: int, eos: int, horizon: int) -> dict[tuple, float]:
    """Every answer of the autoregressive model ``step(prefix) -> list of vocab
    probabilities`` with at most ``horizon`` tokens, with its probability (they sum to 1)."""
    out: dict[tuple, float] = {}

    def grow(prefix: tuple, p: float) -> None:
        if len(prefix) == horizon or (prefix and prefix[-1] == eos):
            out[prefix] = out.get(prefix, 0.0) + p
            return
        for token, q in enumerate(step(prefix)):
            if q > 0:
                grow(prefix + (token,), p * q)

    grow((), 1.0)
    return out


def greedy_answer(step, eos: int, horizon: int) -> tuple[tuple, float]:
    """The greedy answer of ``step`` (ties to the lowest token) and its probability."""
    prefix: tuple = ()
    p = 1.0
    while len(prefix) < horizon and not (prefix and prefix[-1] == eos):
        probs = step(prefix)
        token = max(range(len(probs)), key=lambda k: (probs[k], -k))
        prefix, p = prefix + (token,), p * probs[token]
    return prefix, p


def all_prefixes(vocab: int, horizon: int):
    """Every token string of length below ``horizon`` (the nodes of the full tree)."""
    for length in range(horizon):
        yield from itertools.product(range(vocab), repeat=length)
