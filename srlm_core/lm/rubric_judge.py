"""The model as its own judge: the additive 5-point LLM-as-a-Judge rubric of Yuan et al. 2024
(arXiv:2401.10020, Figure 2), in two modes.

* ``generate`` (the paper's judge, with G-Eval's forced score): the judge samples a short
  justification, stopped once it has written "Score: X"; then the justification, cut before
  its first score marker, is followed by "Score: " and one forward pass gives the
  probability-weighted digit over "1".."5" (Liu et al. 2023, G-Eval), averaged over
  ``samples`` justifications.  The digit mass is the judgement's validity; the score the
  justification wrote itself (tolerant parser, NaN where none) and the raw texts are kept.
* ``logits`` (our CPU default): the judge's answer is pre-filled up to "Score: " with no
  justification, and one forward pass gives the same probability-weighted digit and mass.

The rubric text up to the user's instruction is the same for every judgement, so in ``logits``
mode its key/value cache is computed once and reused for the whole batch.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import torch

from srlm_core import parallel

JUDGE_MODES = ("logits", "generate")
RUBRIC_HEAD = (
    "Review the user's question and the corresponding response using the additive 5-point "
    "scoring system described below. Points are accumulated based on the satisfaction of each "
    "criterion:\n"
    "- Add 1 point if the response is relevant and provides some information related to the "
    "user's inquiry, even if it is incomplete or contains some irrelevant content.\n"
    "- Add another point if the response addresses a substantial portion of the user's question, "
    "but does not completely resolve the query or provide a direct answer.\n"
    "- Award a third point if the response answers the basic elements of the user's question in "
    "a useful way, regardless of whether it seems to have been written by an AI Assistant or if "
    "it has elements typically found in blogs or search results.\n"
    "- Grant a fourth point if the response is clearly written from an AI Assistant's "
    "perspective, addressing the user's question directly and comprehensively, and is "
    "well-organized and helpful, even if there is slight room for improvement in clarity, "
    "conciseness or focus.\n"
    "- Bestow a fifth point for a response that is impeccably tailored to the user's question "
    "by an AI Assistant, without extraneous information, reflecting expert knowledge, and "
    "demonstrating a high-quality, engaging, and insightful answer.\n\n"
    "User: "
)
RUBRIC_TAIL = (
    "\n\n<response>{response}</response>\n\n"
    "After examining the user's instruction and the response:\n"
    "- Briefly justify your total score, up to 100 words.\n"
    '- Conclude with the score using the format: "Score: <total points>"\n'
    "Remember to assess from the AI Assistant perspective, utilizing web search knowledge as "
    "necessary. To evaluate the response in alignment with this additive scoring model, we'll "
    "systematically attribute points based on the outlined criteria."
)
SCORE_PREFILL = "Score: "
SCORE_TOKENS = ("1", "2", "3", "4", "5")
#: A score marker: "score", any case, a colon, optional spaces and bold stars, a number.
_SCORE = re.compile(r"score\s*:\s*\**\s*(\d+(?:\.\d+)?)", re.IGNORECASE)
_MARKER = re.compile(r"score\s*:", re.IGNORECASE)
#: The justification is complete once a marker's number is followed by another character.
_COMPLETE = re.compile(r"score\s*:\s*\**\s*\d+(?:\.\d+)?(?:[^\d.]|\.[^\d])", re.IGNORECASE)


def judge_message(instruction: str, response: str) -> str:
    return RUBRIC_HEAD + instruction + RUBRIC_TAIL.format(response=response)


def parse_score(text: str) -> float:
    """The last "Score: X" in a judge's output (any case, any spacing: "score:5", "SCORE : 4"),
    or NaN when there is none or X is outside 0..5 ("Score: 10")."""
    found = _SCORE.findall(text)
    if not found:
        return math.nan
    value = float(found[-1])
    return value if 0.0 <= value <= 5.0 else math.nan


@dataclass
class Judgement:
    """The judge's scores of a batch of responses."""

    scores: list[float]  #: per response; NaN where the judge gave no valid score
    validity: list[float]  #: probability mass on "1".."5" after "Score: "
    #: generate: per response, the mean score its justifications wrote (NaN where none did)
    written: list[float] | None = None
    #: generate: per response, the raw justification texts of the judge
    texts: list[list[str]] | None = None


def _chat_prefix(tokenizer) -> str:
    """The chat-formatted judge prompt up to and including the rubric head."""
    marker = "\x00"
    full = tokenizer.apply_chat_template(
        [{"role": "user", "content": RUBRIC_HEAD + marker}], tokenize=False,
        add_generation_prompt=True,
    )
    return full.split(marker)[0]


def _chat_suffix(tokenizer, instruction: str, response: str) -> str:
    marker = "\x00"
    full = tokenizer.apply_chat_template(
        [{"role": "user", "content": RUBRIC_HEAD + marker + RUBRIC_TAIL}], tokenize=False,
        add_generation_prompt=True,
    )
    tail = full.split(marker)[1]
    return instruction + tail.replace("{response}", response) + SCORE_PREFILL


def score_token_ids(tokenizer) -> list[int]:
    ids = [tokenizer.convert_tokens_to_ids(t) for t in SCORE_TOKENS]
    if any(i is None or i == tokenizer.unk_token_id for i in ids):
        raise ValueError("the tokenizer has no single tokens for the digits 1..5")
    return ids


@torch.no_grad()
def judge_logits(model, tokenizer, instructions, responses, batch_size: int = 8) -> Judgement:
    """Logit-mode scores: E[score] under the renormalised next-token distribution on 1..5
    (launched: batches sharded over the ranks, the same numbers)."""
    device = model.device
    digits = torch.tensor(score_token_ids(tokenizer), device=device)
    values = torch.arange(1, 6, dtype=torch.float64, device=device)
    prefix = tokenizer(_chat_prefix(tokenizer), return_tensors="pt", add_special_tokens=False)
    prefix_ids = prefix["input_ids"].to(device)
    prefix_cache = model(input_ids=prefix_ids, use_cache=True).cache

    def block(start: int, stop: int) -> list[tuple[float, float]]:
        texts = [
            _chat_suffix(tokenizer, ins, res)
            for ins, res in zip(instructions[start:stop], responses[start:stop], strict=True)
        ]
        enc = tokenizer(texts, return_tensors="pt", padding=True, padding_side="right",
                        add_special_tokens=False)
        ids, mask = enc["input_ids"].to(device), enc["attention_mask"].to(device)
        n = ids.shape[0]
        cache = _expand_cache(prefix_cache, n)
        full_mask = torch.cat([torch.ones(n, prefix_ids.shape[1], dtype=mask.dtype,
                                          device=device), mask], dim=1)
        logits = model(input_ids=ids, attention_mask=full_mask, cache=cache,
                       use_cache=True).logits
        last = mask.sum(1) - 1
        logp = torch.log_softmax(logits[torch.arange(n, device=device), last].double(), dim=-1)
        digit_logp = logp[:, digits]
        mass = digit_logp.exp().sum(-1)
        probs = torch.softmax(digit_logp, dim=-1)
        return list(zip((probs * values).sum(-1).tolist(), mass.tolist(), strict=True))

    out = parallel.map_blocks(block, len(responses), batch_size, desc="judge (logits)")
    scores, validity = ([list(x) for x in zip(*out, strict=True)] if out else ([], []))
    return Judgement(scores, validity)


def _expand_cache(cache, n: int):
    """A batch-n copy of a batch-1 key/value cache (the shared rubric prefix)."""
    import copy

    expanded = copy.deepcopy(cache)
    expanded.batch_repeat_interleave(n)
    return expanded


def forced_prompt(tokenizer, instruction: str, response: str, rationale: str) -> str:
    """The chat-formatted judge prompt, the rationale cut before its first score marker, and
    "Score: " (with an empty rationale: the ``logits`` judge's text)."""
    marker = _MARKER.search(rationale)
    kept = (rationale[:marker.start()] if marker else rationale).rstrip()
    chat = tokenizer.apply_chat_template(
        [{"role": "user", "content": judge_message(instruction, response)}], tokenize=False,
        add_generation_prompt=True)
    return chat + (kept + "\n" if kept else "") + SCORE_PREFILL


@torch.no_grad()
def forced_scores(model, tokenizer, instructions, responses, rationales) -> list[tuple]:
    r"""(score, mass) per rationale: after :func:`forced_prompt`, the probability-weighted
    digit :math:`\sum_k k\, p(k) / \sum_k p(k)` over k = 1..5 and the mass
    :math:`\sum_k p(k)`, from one forward pass over the batch."""
    if not rationales:
        return []
    device = model.device
    digits = torch.tensor(score_token_ids(tokenizer), device=device)
    values = torch.arange(1, 6, dtype=torch.float64, device=device)
    texts = [forced_prompt(tokenizer, i, r, j)
             for i, r, j in zip(instructions, responses, rationales, strict=True)]
    enc = tokenizer(texts, return_tensors="pt", padding=True, padding_side="right",
                    add_special_tokens=False)
    ids, mask = enc["input_ids"].to(device), enc["attention_mask"].to(device)
    logits = model(input_ids=ids, attention_mask=mask).logits
    last = mask.sum(1) - 1
    logp = torch.log_softmax(logits[torch.arange(len(texts), device=device), last].double(), -1)
    digit_logp = logp[:, digits]
    probs = torch.softmax(digit_logp, dim=-1)
    return list(zip((probs * values).sum(-1).tolist(), digit_logp.exp().sum(-1).tolist(),
                    strict=True))


class _StopAtScore:
    """Stops a sampled justification once its new text holds a complete "Score: X"."""

    def __init__(self, tokenizer, start: int):
        self.tokenizer, self.start = tokenizer, start

    def __call__(self, input_ids, scores, **kwargs) -> torch.BoolTensor:
        tails = input_ids[:, self.start:][:, -16:]
        return torch.tensor([bool(_COMPLETE.search(self.tokenizer.decode(row,
                                                                         skip_special_tokens=True)))
                             for row in tails], device=input_ids.device)


def sample_rationales(model, tokenizer, prompts, samples: int, max_new_tokens: int,
                      temperature: float) -> list[str]:
    """``samples`` sampled justifications per chat-formatted judge prompt (flat, prompt-major),
    each stopped at its first complete score marker or after ``max_new_tokens``."""
    from transformers import StoppingCriteriaList

    enc = tokenizer(prompts, return_tensors="pt", padding=True, padding_side="left",
                    add_special_tokens=False).to(model.device)
    width = enc["input_ids"].shape[1]
    out = model.generate(
        **enc, do_sample=True, temperature=temperature, top_p=1.0, top_k=0,
        max_new_tokens=max_new_tokens, num_return_sequences=samples,
        pad_token_id=tokenizer.pad_token_id,
        stopping_criteria=StoppingCriteriaList([_StopAtScore(tokenizer, width)]),
    )
    return tokenizer.batch_decode(out[:, width:], skip_special_tokens=True)


@torch.no_grad()
def judge_generate(
    model, tokenizer, instructions, responses, samples: int = 3, max_new_tokens: int = 128,
    temperature: float = 0.7, batch_size: int = 8, seed: int = 0,
) -> Judgement:
    """Generate-mode scores: per response, ``samples`` sampled justifications, each forced to a
    score by :func:`forced_scores`; the score and validity are their means.  ``written`` is the
    mean of the scores the justifications wrote (:func:`parse_score`; NaN where none did) and
    ``texts`` the raw justifications.

    In one plain process the samples continue the global random stream (``seed`` unused).
    Launched over N processes, the batches are sharded over the ranks and the batch from
    response i on is seeded with ``block_seed(seed, i)``: the same scores for every N."""
    prompts = [
        tokenizer.apply_chat_template([{"role": "user", "content": judge_message(i, r)}],
                                      tokenize=False, add_generation_prompt=True)
        for i, r in zip(instructions, responses, strict=True)
    ]
    launched = parallel.launched()

    def block(start: int, stop: int) -> list[tuple]:
        if launched:
            torch.manual_seed(parallel.block_seed(seed, start))
        texts = sample_rationales(model, tokenizer, prompts[start:stop], samples,
                                  max_new_tokens, temperature)
        owners = [start + k // samples for k in range(len(texts))]
        forced = forced_scores(model, tokenizer, [instructions[i] for i in owners],
                               [responses[i] for i in owners], texts)
        return [(texts[j:j + samples], forced[j:j + samples])
                for j in range(0, len(texts), samples)]

    out = parallel.map_blocks(block, len(prompts), batch_size, desc="judge (generate)")
    scores, validity, written, texts = [], [], [], []
    for rationales, forced in out:
        scores.append(sum(s for s, _ in forced) / len(forced))
        validity.append(sum(m for _, m in forced) / len(forced))
        parsed = [v for v in map(parse_score, rationales) if not math.isnan(v)]
        written.append(sum(parsed) / len(parsed) if parsed else math.nan)
        texts.append(list(rationales))
    return Judgement(scores, validity, written, texts)


def judge(model, tokenizer, instructions, responses, mode: str = "logits", **kwargs) -> Judgement:
    if mode == "logits":
        return judge_logits(model, tokenizer, instructions, responses,
                            batch_size=kwargs.get("batch_size", 8))
    if mode == "generate":
        return judge_generate(model, tokenizer, instructions, responses, **kwargs)
    raise ValueError(f"unknown judge mode {mode!r}")
