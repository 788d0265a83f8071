"""Prompts with a verifiable ground truth, and their fixed train / held-out split.

Each prompt is a task on a topic plus one or two constraints from
:mod:`~srlm_core.lm.checkers`.  The split
is generated deterministically by :func:`build_prompt_splits` and stored in
``data/lm/prompts.json``; a test checks the stored file equals the regeneration and that no
held-out prompt (or topic) appears in the training split.  Training never reads the held-out
split.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from srlm_core.lm.checkers import CHECKERS, describe
from srlm_core.publishing.provenance import REPO_ROOT

PROMPTS_FILE = REPO_ROOT / "data" / "lm" / "prompts.json"

TASKS = (
    "Describe {}.",
    "Explain the importance of {}.",
    "Give advice about {}.",
    "Write a short note about {}.",
    "Tell me something interesting about {}.",
)
TOPICS = (
    "the ocean", "coffee", "bicycles", "winter", "the moon", "libraries", "gardening", "rain",
    "volcanoes", "chess", "bread", "trains", "honey bees", "mountains", "music", "the desert",
    "friendship", "sleep", "clocks", "rivers", "bridges", "tea", "birds", "forests", "snow",
    "cities", "maps", "the sun", "cats", "dogs", "apples", "boats", "stars", "paper", "islands",
    "wind", "salt", "museums", "running", "kites", "lighthouses", "owls", "cheese",
    "deserts at night", "recycling", "farming", "robots", "the post office", "umbrellas",
    "glaciers",
)
KEYWORDS = ("blue", "simple", "today", "water", "light", "small", "happy", "green")
PHRASES = ("That is all.", "Thank you.", "The end.")


def _constraint(kind: str, rng: random.Random) -> dict:
    value = {
        "max_words": lambda: rng.choice((15, 20, 30)),
        "min_words": lambda: rng.choice((25, 40)),
        "max_sentences": lambda: rng.choice((1, 2)),
        "include_keyword": lambda: rng.choice(KEYWORDS),
        "forbid_keyword": lambda: rng.choice(("the", "and", "is")),
        "lowercase": lambda: None,
        "uppercase": lambda: None,
        "bullets": lambda: rng.choice((2, 3)),
        "end_phrase": lambda: rng.choice(PHRASES),
        "json": lambda: None,
        "no_commas": lambda: None,
    }[kind]()
    return {"kind": kind, "value": value}


_CONFLICTS = {frozenset(("lowercase", "uppercase")), frozenset(("json", "bullets")),
              frozenset(("max_words", "min_words")), frozenset(("json", "end_phrase")),
              frozenset(("min_words", "max_sentences")), frozenset(("uppercase", "end_phrase")),
              frozenset(("lowercase", "end_phrase"))}


def make_prompt(index: int, topic: str, rng: random.Random) -> dict:
    kinds = sorted(CHECKERS)
    first = rng.choice(kinds)
    chosen = [first]
    if rng.random() < 0.5:
        allowed = [k for k in kinds if k != first and frozenset((k, first)) not in _CONFLICTS]
        second = rng.choice(allowed)
        chosen.append(second)
    constraints = [_constraint(kind, rng) for kind in chosen]
    task = rng.choice(TASKS).format(topic)
    instruction = " ".join([task, *(describe(c) for c in constraints)])
    return {"id": index, "topic": topic, "instruction": instruction, "constraints": constraints}


def build_prompt_splits(seed: int = 2024, per_topic: int = 4, heldout_topics: int = 12) -> dict:
    """Deterministic prompts; the held-out split uses topics that training never sees."""
    rng = random.Random(seed)
    topics = list(TOPICS)
    rng.shuffle(topics)
    heldout, train = topics[:heldout_topics], topics[heldout_topics:]
    splits = {"train": [], "heldout": []}
    index = 0
    for name, names in (("train", train), ("heldout", heldout)):
        for _ in range(per_topic):
            for topic in names:
                splits[name].append(make_prompt(index, topic, rng))
                index += 1
        rng.shuffle(splits[name])
    return {"seed": seed, "per_topic": per_topic, "heldout_topics": heldout_topics, **splits}


def load_prompts(path: Path | str = PROMPTS_FILE) -> dict:
    return json.loads(Path(path).read_text())


def write_prompts(path: Path | str = PROMPTS_FILE) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(build_prompt_splits(), indent=1) + "\n")
    return path


if __name__ == "__main__":
    print(write_prompts())
