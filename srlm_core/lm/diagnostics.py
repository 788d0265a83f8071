r"""What the language-model experiment measures on the held-out split.

The model world of the book's model chapter has a judge
:math:`r_t = \alpha r^* + (1 - \alpha) \beta \log(\pi_t / \pi_{\mathrm{ref}})`;
here :math:`r^*` is the checker's verdict :math:`g(x, y) \in \{0, 1\}` and the
self-preference term is the implicit DPO reward of the policy against the fixed reference,
:math:`l(x, y) = \log \pi_t(y \mid x) - \log \pi_0(y \mid x)` (sequence totals).  Every
estimate below compares answers to the same prompt only: ``groups`` lists, per prompt, the
indices of its answers in the per-answer lists, and a NaN judge score drops its answer.

* Judge agreement (:func:`judge_agreement`): on pairs of answers to one prompt whose checker
  verdicts differ, how often the judge scores the passing one higher (ties count one half).
* Signed signal share :math:`\hat\alpha` (:func:`signal_share`): centre the judge score
  :math:`s`, :math:`g` and :math:`l` by their prompt means (prompt fixed effects) and fit
  :math:`\tilde s = a \tilde g + b \tilde l` by least squares; then
  :math:`\hat\alpha = a\,\mathrm{sd}(\tilde g) / (|a|\,\mathrm{sd}(\tilde g)
  + |b|\,\mathrm{sd}(\tilde l))`, the share of the judge's explained within-prompt spread
  that follows the checker, signed by :math:`a` (a judge that prefers failing answers has
  :math:`\hat\alpha < 0`).  It is undefined at :math:`t = 0`, where
  :math:`\pi_t = \pi_0` makes :math:`l = 0`.
* Internal consistency (:func:`internal_consistency`): on pairs of answers to one prompt
  whose judge scores and implicit rewards both differ, how often the judge prefers the one
  with the larger :math:`l`: 1 is S1's internally consistent fixed point (the judge agrees
  with the policy's own implicit reward), 1/2 unrelated, 0 reversed; undefined at
  :math:`t = 0`.
* Rank consistency (:func:`rank_consistency`), the quantity CREAM (Wang et al., ICLR 2025)
  tracks: per prompt, Kendall's :math:`\tau_b` between round :math:`t`'s and round
  :math:`t - 1`'s judge scores of the same answers, averaged over prompts.
* Within-prompt AUC (:func:`within_auc`) and Kendall's :math:`\tau_b`
  (:func:`kendall_tau`) of two score lists, the per-prompt pieces of the judge study.
* Condition-number proxy (S3, :math:`\kappa = \max \pi^*/\pi`, :func:`log_condition_proxy`)
  on the sampled set of each prompt: with :math:`\pi_t` renormalised over the prompt's
  samples and :math:`\pi^*` uniform on the passing ones,
  :math:`\log\hat\kappa = \max_{y\ \mathrm{passing}} \log(\pi^*(y)/\pi_t(y))`, averaged
  over prompts with a passing sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from srlm_core import parallel


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
    N processes (:mod:`srlm_core.parallel`), the prompts are sharded over the ranks and
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
                      batch_size: int = 16, progress: bool = True) -> LogProbs:
    """log pi(y|x) of each response under the chat-formatted prompt, logits divided by
    ``temperature`` (launched: batches sharded over the ranks, the same numbers); a progress
    bar unless ``progress`` is false."""
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

    out = parallel.map_blocks(block, len(prompts), batch_size, desc="log-probs",
                              progress=progress)
    totals, means, lengths = ([list(x) for x in zip(*out, strict=True)] if out
                              else ([], [], []))
    return LogProbs(totals, means, lengths)


# -- estimators over prompts -------------------------------------------------------------------


def _within_prompt_pairs(groups):
    """Index pairs (i, j), i < j, of answers to the same prompt."""
    return [(i, j) for g in groups for a, i in enumerate(g) for j in g[a + 1:]]


def _scored(value) -> bool:
    return not math.isnan(value)


def per_prompt(groups, values, statistic=np.mean) -> np.ndarray:
    """``statistic`` of each prompt's values (one float per prompt, in the order of
    ``groups``), e.g. the per-prompt pass rate ``per_prompt(groups, truth)``: the unit-level
    numbers that :func:`srlm_core.stats.cluster_bootstrap` and
    :func:`srlm_core.stats.sign_flip_test` take."""
    return np.array([float(statistic(np.asarray([values[i] for i in g], dtype=float)))
                     for g in groups])


def kendall_tau(x, y) -> float:
    r"""Kendall's :math:`\tau_b` of two score lists (NaN when either is constant)."""
    from scipy.stats import kendalltau

    if len(set(x)) < 2 or len(set(y)) < 2:
        return math.nan
    return float(kendalltau(x, y).statistic)


def within_auc(scores, passed) -> float:
    """The share of (passing, failing) pairs in which the passing answer scores higher, ties
    one half; NaN without such a pair."""
    wins = [(1.0 if a > b else 0.5 if a == b else 0.0)
            for a, p in zip(scores, passed, strict=True) if p
            for b, q in zip(scores, passed, strict=True) if not q]
    return float(np.mean(wins)) if wins else math.nan


def judge_agreement(groups, truth, scores) -> float:
    """P(judge ranks the passing answer higher | one of the two passes), over pairs of
    answers to one prompt; ties count 1/2, NaN scores are skipped, NaN without a pair."""
    hits = []
    for i, j in _within_prompt_pairs(groups):
        if truth[i] == truth[j] or not (_scored(scores[i]) and _scored(scores[j])):
            continue
        good, bad = (i, j) if truth[i] else (j, i)
        if scores[good] == scores[bad]:
            hits.append(0.5)
        else:
            hits.append(float(scores[good] > scores[bad]))
    return float(np.mean(hits)) if hits else math.nan


def internal_consistency(groups, scores, log_ratio) -> float:
    r"""The share of within-prompt pairs, among those whose judge scores and implicit
    rewards :math:`l = \log \pi_t - \log \pi_0` both differ (NaN scores skipped), in which
    the judge prefers the answer with the larger :math:`l`: 1 at S1's internally consistent
    fixed point, 1/2 unrelated, 0 reversed.  NaN without such a pair, so NaN at
    :math:`t = 0` where :math:`l = 0`."""
    hits = []
    for i, j in _within_prompt_pairs(groups):
        if not (_scored(scores[i]) and _scored(scores[j])):
            continue
        if scores[i] == scores[j] or log_ratio[i] == log_ratio[j]:
            continue
        hits.append(float((scores[i] > scores[j]) == (log_ratio[i] > log_ratio[j])))
    return float(np.mean(hits)) if hits else math.nan


def _centred(values: np.ndarray) -> np.ndarray:
    """``values`` minus their mean; exactly zero when they are all equal."""
    if np.all(values == values[0]):
        return np.zeros_like(values)
    return values - values.mean()


def signal_share(groups, scores, truth, log_ratio) -> dict:
    r"""The signed signal share :math:`\hat\alpha` of the judge, within prompts.

    Answers with a NaN score are dropped, then prompts left with fewer than two answers;
    :math:`s`, :math:`g` and :math:`l` are centred by their prompt means (prompt fixed
    effects) and :math:`\tilde s = a \tilde g + b \tilde l` is fitted by least squares
    (no intercept after centring).  Then
    :math:`\hat\alpha = a\,\mathrm{sd}(\tilde g) / (|a|\,\mathrm{sd}(\tilde g)
    + |b|\,\mathrm{sd}(\tilde l)) \in [-1, 1]`: it keeps the sign of :math:`a` (a judge
    anti-aligned with the checker has a negative share) and not that of :math:`b`.

    Returns ``alpha_hat``, ``coef_truth`` (:math:`a`) and ``coef_log_ratio`` (:math:`b`),
    all NaN when fewer than four answers remain or when :math:`\tilde g` or :math:`\tilde l`
    has no spread (or the two are collinear); a judge constant within prompts has
    :math:`a = b = 0` and a NaN :math:`\hat\alpha`.  In particular :math:`\hat\alpha` is
    undefined at :math:`t = 0`, where :math:`\pi_t = \pi_0` makes :math:`l = 0`
    everywhere."""
    return signal_share_from_sums(signal_share_sums(groups, scores, truth, log_ratio))


def signal_share_sums(groups, scores, truth, log_ratio) -> np.ndarray:
    r"""Per prompt, the sums that :func:`signal_share` needs, over its centred answers
    (NaN scores dropped, prompts with fewer than two answers left out): the count and
    :math:`\sum\tilde g^2, \sum\tilde l^2, \sum\tilde g\tilde l, \sum\tilde g\tilde s,
    \sum\tilde l\tilde s` (one row per prompt kept).  Centring is within the prompt, so the
    rows of a resample of prompts add up to that resample's sums (a bootstrap over prompts
    refits the regression from them)."""
    s_all, g_all, l_all = (np.asarray(v, dtype=float) for v in (scores, truth, log_ratio))
    rows = []
    for group in groups:
        kept = [i for i in group if _scored(s_all[i])]
        if len(kept) < 2:
            continue
        s, g, ell = (_centred(column[kept]) for column in (s_all, g_all, l_all))
        rows.append([len(kept), g @ g, ell @ ell, g @ ell, g @ s, ell @ s])
    return np.asarray(rows, dtype=float).reshape(-1, 6)


def signal_share_from_sums(rows) -> dict:
    r""":func:`signal_share` from the per-prompt rows of :func:`signal_share_sums` (summed):
    the normal equations of the centred regression, and the spreads
    :math:`\mathrm{sd}(\tilde g) = (\sum\tilde g^2/n)^{1/2}` (centred values have mean 0)."""
    nan = {"alpha_hat": math.nan, "coef_truth": math.nan, "coef_log_ratio": math.nan}
    n, gg, ll, gl, gs, ls = np.asarray(rows, dtype=float).reshape(-1, 6).sum(axis=0)
    det = gg * ll - gl * gl
    if n < 4 or gg <= 1e-12 or ll <= 1e-12 or det <= 1e-10 * gg * ll:
        return nan
    a, b = (ll * gs - gl * ls) / det, (gg * ls - gl * gs) / det
    signal, self_pref = abs(a) * math.sqrt(gg / n), abs(b) * math.sqrt(ll / n)
    total = signal + self_pref
    alpha = math.copysign(signal, a) / total if total > 0 else math.nan
    return {"alpha_hat": float(alpha), "coef_truth": float(a), "coef_log_ratio": float(b)}


def rank_consistency(groups, scores, previous_scores) -> float:
    r"""The judge's round-to-round rank consistency, as CREAM (Wang et al., ICLR 2025)
    tracks it: per prompt, Kendall's :math:`\tau_b` (:func:`kendall_tau`) between round
    :math:`t`'s ``scores`` and round :math:`t - 1`'s ``previous_scores`` of the same answers
    (answers without both scores dropped), averaged over the prompts with at least two such
    answers on which both rounds' scores vary; NaN if no prompt qualifies."""
    taus = []
    for group in groups:
        kept = [i for i in group if _scored(scores[i]) and _scored(previous_scores[i])]
        if len(kept) < 2:
            continue
        tau = kendall_tau([scores[i] for i in kept], [previous_scores[i] for i in kept])
        if not math.isnan(tau):
            taus.append(tau)
    return float(np.mean(taus)) if taus else math.nan


def log_condition_proxy(groups, truth, logp) -> float:
    r"""Mean over prompts of :math:`\max_{y\ \mathrm{passing}} \log(\pi^*(y)/\pi_t(y))` on
    the sampled set (:math:`\pi_t` renormalised over the prompt's samples, :math:`\pi^*`
    uniform on its passing ones); prompts without a passing sample are skipped."""
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
