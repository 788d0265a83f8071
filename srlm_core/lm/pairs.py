"""Preference pairs from judged candidates (Yuan et al. 2024, section 2.3): for each prompt,
chosen = the highest-scored candidate, rejected = the lowest; the pair is skipped when the
score margin is below ``min_margin`` or a score is missing (NaN).  Ties break toward the
earlier candidate, so pair building is deterministic."""

from __future__ import annotations

import math


def build_pairs(prompts, candidates, scores, min_margin: float) -> list[dict]:
    """prompts: list of prompt dicts; candidates and scores: per prompt, lists of equal length.

    Returns dicts with prompt (the prompt dict), chosen, rejected, chosen_score,
    rejected_score, margin."""
    pairs = []
    for prompt, texts, values in zip(prompts, candidates, scores, strict=True):
        if len(texts) != len(values):
            raise ValueError("each candidate needs exactly one score")
        valid = [i for i, v in enumerate(values) if not math.isnan(v)]
        if len(valid) < 2:
            continue
        best = max(valid, key=lambda i: (values[i], -i))
        worst = min(valid, key=lambda i: (values[i], i))
        margin = values[best] - values[worst]
        if margin < min_margin or margin <= 0 or texts[best] == texts[worst]:
            continue
        pairs.append({
            "prompt": prompt, "chosen": texts[best], "rejected": texts[worst],
            "chosen_score": values[best], "rejected_score": values[worst], "margin": margin,
        })
    return pairs


def conversational(pairs) -> list[dict]:
    """TRL's conversational preference format."""
    return [
        {
            "prompt": [{"role": "user", "content": p["prompt"]["instruction"]}],
            "chosen": [{"role": "assistant", "content": p["chosen"]}],
            "rejected": [{"role": "assistant", "content": p["rejected"]}],
        }
        for p in pairs
    ]
