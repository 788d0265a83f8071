"""What the language-model experiment measures on the held-out split.

The model world of the book's model chapter has a judge
:math:`r_t = \\alpha r^* + (1 - \\alpha) \\beta \\log(\\pi_t / \\pi_{\\mathrm{ref}})`;
here r* is the checker's verdict g(x, y) in {0, 1} and the self-preference term is the
policy's own length-normalised log-likelihood l(x, y).  The estimates:

* pass rate of pi_t (share of sampled responses that satisfy every constraint), Wilson 95%;
* judge agreement: on pairs of responses to one prompt whose ground truth differs, how often
  the judge scores the passing one higher (ties count one half);
* alpha-hat: regress the judge's score s on g and l, s = a g + b l + c; with standardised
  regressors,
  :math:`\\hat\\alpha = |a|\\, \\mathrm{sd}(g) / (|a|\\, \\mathrm{sd}(g) + |b|\\, \\mathrm{sd}(l))`
  is the signal share of the judge's explained variation (1 - alpha-hat its self-preference);
* internal consistency: on pairs with different judge scores, how often the judge prefers the
  response the policy itself finds more likely (l larger) -- S1's fixed point has it at 1 in
  the model world;
* KL(pi_t || pi_0): Monte-Carlo mean of log pi_t(y|x) - log pi_0(y|x) over y ~ pi_t (both
  at the sampling temperature, so the estimate is unbiased for the tempered policies);
* condition-number proxy (S3, kappa = max pi*/pi) on the sampled set of each prompt: with
  pi_t renormalised over the m samples and pi* the uniform distribution on the passing ones,
  log kappa-hat = max_{y passing} log(pi*(y)/pi_t(y)); averaged over prompts with a passing
  sample;
* mean response length in tokens (the verbosity confound of Yuan et al.).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats
from tqdm import tqdm

from srlm_core.lm import parallel


def chat_prompts(tokenizer, instructions) -> list[str]:
    return [
        tokenizer.apply_chat_template([{"role": "user", "content": text}], tokenize=False,
                                      add_generation_prompt=True)
        for text in instructions
    ]


class Response(str):
    """A sampled response (its text) that remembers the sampled token ids, so that its
    likelihood is computed on exactly the sampled tokens; ``finished`` is False when it was
    cut at max_new_tokens (the ids then have no end-of-turn token)."""

    finished: bool = True
    ids: list[int] | None = None


def response(text: str, finished: bool, ids: list[int] | None = None) -> Response:
    out = Response(text)
    out.finished, out.ids = finished, ids
    return out


def _sampled_ids(row: torch.Tensor, eos: int) -> tuple[list[int], bool]:
    """Generated ids up to and including the first end-of-turn token."""
    ids = row.tolist()
    if eos in ids:
        return ids[:ids.index(eos) + 1], True
    return ids, False


def _sample(model, tokenizer, prompts, samples: int, max_new_tokens: int,
            temperature: float) -> list[list[Response]]:
    """One ``generate`` call: ``samples`` responses to each of ``prompts``."""
    enc = tokenizer(prompts, return_tensors="pt", padding=True, padding_side="left",
                    add_special_tokens=False).to(model.device)
    ids = model.generate(
        **enc, do_sample=True, temperature=temperature, top_p=1.0, top_k=0,
        max_new_tokens=max_new_tokens, num_return_sequences=samples,
        pad_token_id=tokenizer.pad_token_id,
    )
    new = ids[:, enc["input_ids"].shape[1]:].cpu()
    texts = tokenizer.batch_decode(new, skip_special_tokens=True)
    flat = []
    for text, row in zip(texts, new, strict=True):
        sampled, finished = _sampled_ids(row, tokenizer.eos_token_id)
        flat.append(response(text, finished, sampled))
    return [flat[i:i + samples] for i in range(0, len(flat), samples)]


@torch.no_grad()
def generate(model, tokenizer, instructions, samples: int, max_new_tokens: int,
             temperature: float, seed: int, batch_size: int = 32) -> list[list[Response]]:
    """``samples`` sampled responses per instruction (pure temperature sampling, seeded).

    In one plain process all batches draw from one stream seeded with ``seed``.  Launched over
    N processes (:mod:`srlm_core.lm.parallel`), the prompts are sharded over the ranks and
    prompt i is sampled alone with the seed ``block_seed(seed, i)``: its responses are the same
    for every N (but differ from the plain process's)."""
    prompts = chat_prompts(tokenizer, instructions)
    if parallel.launched():
        def one(start: int, stop: int) -> list[list[Response]]:
            torch.manual_seed(parallel.block_seed(seed, start))
            return _sample(model, tokenizer, prompts[start:stop], samples, max_new_tokens,
                           temperature)

        return parallel.map_blocks(one, len(prompts), 1, desc="generate")
    torch.manual_seed(seed)
    out: list[list[Response]] = []
    per_batch = max(1, batch_size // samples)
    for start in tqdm(range(0, len(prompts), per_batch), desc="generate", leave=False):
        out += _sample(model, tokenizer, prompts[start:start + per_batch], samples,
                       max_new_tokens, temperature)
    return out


@dataclass
class LogProbs:
    """Log-likelihoods of a batch of responses under one policy."""

    total: list[float]  #: sum over the response tokens (end-of-turn token when finished)
    mean: list[float]  #: per token
    length: list[int]  #: tokens


@torch.no_grad()
def sequence_logprobs(model, tokenizer, instructions, responses, temperature: float = 1.0,
                      batch_size: int = 16) -> LogProbs:
    """log pi(y|x) of each response under the chat-formatted prompt, logits divided by
    ``temperature`` (launched: batches sharded over the ranks, the same numbers)."""
    prompts = chat_prompts(tokenizer, instructions)

    def block(start: int, stop: int) -> list[tuple[float, float, int]]:
        rows, masks = [], []
        for prompt, text in zip(prompts[start:stop], responses[start:stop], strict=True):
            p = tokenizer(prompt, add_special_tokens=False)["input_ids"]
            r = getattr(text, "ids", None)
            if r is None:  # plain text: tokenize, and close the turn
                r = tokenizer(text, add_special_tokens=False)["input_ids"]
                r = r + [tokenizer.eos_token_id]
            rows.append(p + r)
            masks.append([0] * len(p) + [1] * len(r))
        width = max(map(len, rows))
        ids = torch.full((len(rows), width), tokenizer.pad_token_id)
        attention = torch.zeros_like(ids)
        completion = torch.zeros_like(ids)
        for i, (row, mask) in enumerate(zip(rows, masks, strict=True)):
            ids[i, :len(row)] = torch.tensor(row)
            attention[i, :len(row)] = 1
            completion[i, :len(row)] = torch.tensor(mask)
        ids, attention, completion = (t.to(model.device) for t in (ids, attention, completion))
        logits = model(input_ids=ids, attention_mask=attention).logits[:, :-1].float()
        logp = torch.log_softmax(logits / temperature, dim=-1)
        token = logp.gather(-1, ids[:, 1:, None]).squeeze(-1) * completion[:, 1:]
        n = completion[:, 1:].sum(-1)
        return list(zip(token.sum(-1).tolist(), (token.sum(-1) / n).tolist(), n.tolist(),
                        strict=True))

    out = parallel.map_blocks(block, len(prompts), batch_size, desc="log-probs")
    totals, means, lengths = ([list(x) for x in zip(*out, strict=True)] if out
                              else ([], [], []))
    return LogProbs(totals, means, lengths)


def wilson_interval(successes: int, trials: int) -> tuple[float, float]:
    if trials == 0:
        return (math.nan, math.nan)
    ci = stats.binomtest(successes, trials).proportion_ci(confidence_level=0.95, method="wilson")
    return (float(ci.low), float(ci.high))


def _within_prompt_pairs(groups):
    """Index pairs (i, j), i < j, of responses to the same prompt."""
    return [(i, j) for g in groups for a, i in enumerate(g) for j in g[a + 1:]]


def judge_agreement(groups, truth, scores) -> float:
    """P(judge ranks the passing response higher | one of the two passes); ties count 1/2."""
    hits = []
    for i, j in _within_prompt_pairs(groups):
        if truth[i] == truth[j] or math.isnan(scores[i]) or math.isnan(scores[j]):
            continue
        good, bad = (i, j) if truth[i] else (j, i)
        if scores[good] == scores[bad]:
            hits.append(0.5)
        else:
            hits.append(float(scores[good] > scores[bad]))
    return float(np.mean(hits)) if hits else math.nan


def internal_consistency(groups, scores, loglik) -> float:
    """P(judge prefers the response the policy finds more likely), over pairs with a judge
    preference."""
    hits = []
    for i, j in _within_prompt_pairs(groups):
        if scores[i] == scores[j] or math.isnan(scores[i]) or math.isnan(scores[j]):
            continue
        hits.append(float((scores[i] > scores[j]) == (loglik[i] > loglik[j])))
    return float(np.mean(hits)) if hits else math.nan


def signal_share(scores, truth, loglik) -> dict:
    """alpha-hat from the regression s = a g + b l + c (see the module docstring)."""
    s, g, ell = (np.asarray(v, float) for v in (scores, truth, loglik))
    keep = ~np.isnan(s)
    s, g, ell = s[keep], g[keep], ell[keep]
    if s.size < 4 or g.std() == 0 or ell.std() == 0:
        return {"alpha_hat": math.nan, "coef_truth": math.nan, "coef_loglik": math.nan}
    design = np.column_stack([g, ell, np.ones_like(g)])
    (a, b, _), *_ = np.linalg.lstsq(design, s, rcond=None)
    signal, self_pref = abs(a) * g.std(), abs(b) * ell.std()
    return {"alpha_hat": float(signal / (signal + self_pref)), "coef_truth": float(a),
            "coef_loglik": float(b)}


def log_condition_proxy(groups, truth, logp) -> float:
    """Mean over prompts of max_{y passing} log(pi*(y)/pi_t(y)) on the sampled set."""
    values = []
    for g in groups:
        passing = [i for i in g if truth[i]]
        if not passing:
            continue
        local = np.asarray([logp[i] for i in g])
        log_pi = local - np.logaddexp.reduce(local)
        log_star = -math.log(len(passing))
        values.append(max(log_star - log_pi[g.index(i)] for i in passing))
    return float(np.mean(values)) if values else math.nan
