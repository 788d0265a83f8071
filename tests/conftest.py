import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def _pool_answers(tokenizer, texts, verdicts):
    """Pool answers (ids as stored) for ``texts``; some failing ones marked edited."""
    out = []
    for text, g in zip(texts, verdicts, strict=True):
        ids = tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        out.append({"text": text, "ids": " ".join(map(str, ids)), "g": g, "logp0": 0.0,
                    "source": "sampled" if g or len(text) % 2 else "edited", "edit": None})
    return out


@pytest.fixture(scope="session")
def tiny_pool():
    """A pool for the tiny random model: 3 training prompts and 2 held-out ones, K = 4."""
    from srlm_core.lm.pool import pool_from_values
    from srlm_core.lm.tiny import tiny_tokenizer

    tokenizer = tiny_tokenizer()
    lower = [{"kind": "lowercase", "value": None}]
    prompts = []
    for i, (split, topic) in enumerate([("train", "rain"), ("train", "tea"), ("train", "owls"),
                                        ("heldout", "maps"), ("heldout", "salt")]):
        texts = [f"{topic} is nice.", f"{topic.title()} Is Nice.", f"i like {topic}.",
                 f"I Like {topic.title()}!"]
        prompts.append({"split": split, "id": i, "instruction": f"Describe {topic}.",
                        "constraints": lower,
                        "answers": _pool_answers(tokenizer, texts, [1, 0, 1, 0])})
    scan = [{"id": i, "sampled_pass_rate": 0.25 * i} for i in range(5)]
    return pool_from_values({"prompts": prompts, "scan": scan, "summary": {}})
