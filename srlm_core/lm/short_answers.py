"""Prompts with short, exactly known answers: the test bed of the paper's own loop.

Four kinds, each generated from a seed with its exact answer (nothing is downloaded):

* ``arithmetic``: "What is 7 + 5? Answer with the number only." (sums and products of small
  numbers, differences that stay non-negative);
* ``fact``: a one-word fact from a fixed table (capitals, colours, opposites, plurals,
  animal sounds, the day after a weekday);
* ``choice``: a multiple-choice question with options A-D, answered by a letter (which item
  is a fruit, an animal, a colour, ...);
* ``count``: how many words a short list has, answered by a number.

Every answer is a few tokens, so a model's answer to them fits in about 12 tokens including
the end-of-turn token, and the probability of a whole answer is not astronomically small.
:func:`is_correct` checks an answer against the exact one: the first number in the answer for
``arithmetic`` and ``count``, the first standalone capital letter A-D for ``choice``, the
answer word as a whole word (case-insensitive) for ``fact``.

:func:`build_prompts` returns a deterministic list with a training / held-out split (the
split is by position in a seeded shuffle; no prompt text appears twice).
"""

from __future__ import annotations

import random
import re

KINDS = ("arithmetic", "fact", "choice", "count")

#: (question, answer) pairs of one-word facts.
FACTS = (
    ("What is the capital of France?", "Paris"),
    ("What is the capital of Italy?", "Rome"),
    ("What is the capital of Japan?", "Tokyo"),
    ("What is the capital of Germany?", "Berlin"),
    ("What is the capital of Spain?", "Madrid"),
    ("What is the capital of England?", "London"),
    ("What is the capital of Russia?", "Moscow"),
    ("What is the capital of Egypt?", "Cairo"),
    ("What is the capital of Greece?", "Athens"),
    ("What is the capital of Portugal?", "Lisbon"),
    ("What is the capital of Austria?", "Vienna"),
    ("What is the capital of Ireland?", "Dublin"),
    ("What is the capital of Norway?", "Oslo"),
    ("What is the capital of Sweden?", "Stockholm"),
    ("What is the capital of China?", "Beijing"),
    ("What is the capital of Canada?", "Ottawa"),
    ("What colour is the sky on a clear day?", "blue"),
    ("What colour is grass?", "green"),
    ("What colour is snow?", "white"),
    ("What colour is a ripe banana?", "yellow"),
    ("What colour is coal?", "black"),
    ("What colour is a ripe tomato?", "red"),
    ("What is the opposite of hot?", "cold"),
    ("What is the opposite of up?", "down"),
    ("What is the opposite of big?", "small"),
    ("What is the opposite of day?", "night"),
    ("What is the opposite of fast?", "slow"),
    ("What is the opposite of open?", "closed"),
    ("What is the opposite of happy?", "sad"),
    ("What is the opposite of light?", "dark"),
    ("What is the opposite of old?", "new"),
    ("What is the opposite of wet?", "dry"),
    ("What is the plural of mouse?", "mice"),
    ("What is the plural of child?", "children"),
    ("What is the plural of foot?", "feet"),
    ("What is the plural of tooth?", "teeth"),
    ("What is the plural of goose?", "geese"),
    ("What is the plural of man?", "men"),
    ("What sound does a cow make?", "moo"),
    ("What sound does a dog make?", "woof"),
    ("What sound does a cat make?", "meow"),
    ("What animal says quack?", "duck"),
    ("Which day comes after Monday?", "Tuesday"),
    ("Which day comes after Tuesday?", "Wednesday"),
    ("Which day comes after Wednesday?", "Thursday"),
    ("Which day comes after Thursday?", "Friday"),
    ("Which day comes after Friday?", "Saturday"),
    ("Which day comes after Saturday?", "Sunday"),
    ("Which month comes after January?", "February"),
    ("Which month comes after March?", "April"),
    ("Which month comes after May?", "June"),
    ("Which month comes after August?", "September"),
    ("Which planet do we live on?", "Earth"),
    ("What is frozen water called?", "ice"),
    ("How many legs does a spider have? Answer with a word.", "eight"),
    ("Which star is closest to the Earth?", "Sun"),
)

#: Categories for the multiple-choice questions: (name, members, distractors).
CATEGORIES = (
    ("a fruit", ("apple", "banana", "cherry", "grape", "lemon", "mango", "pear", "plum"),
     ("car", "chair", "hammer", "shoe", "book", "lamp", "spoon", "brick")),
    ("an animal", ("horse", "tiger", "rabbit", "sheep", "eagle", "whale", "mouse", "zebra"),
     ("table", "pencil", "window", "bottle", "cloud", "river", "coin", "bread")),
    ("a colour", ("red", "blue", "green", "yellow", "purple", "orange", "pink", "brown"),
     ("dog", "house", "tree", "door", "cup", "rock", "train", "shirt")),
    ("a number", ("seven", "three", "nine", "twelve", "five", "twenty", "four", "six"),
     ("apple", "cat", "road", "glass", "hat", "ship", "milk", "sand")),
    ("a vehicle", ("car", "bus", "train", "bicycle", "truck", "boat", "plane", "tram"),
     ("apple", "cloud", "spoon", "flower", "pillow", "cheese", "carpet", "candle")),
)
LETTERS = "ABCD"
WORDS = ("red", "cat", "sun", "tree", "book", "milk", "rain", "door", "fish", "star", "road",
         "cup", "hat", "bird", "lamp", "rock")


def _arithmetic(rng: random.Random) -> tuple[str, str]:
    op = rng.choice("+-*")
    if op == "*":
        a, b = rng.randint(2, 9), rng.randint(2, 9)
        return f"What is {a} times {b}? Answer with the number only.", str(a * b)
    a, b = rng.randint(1, 20), rng.randint(1, 20)
    if op == "-":
        a, b = max(a, b), min(a, b)
        return f"What is {a} minus {b}? Answer with the number only.", str(a - b)
    return f"What is {a} plus {b}? Answer with the number only.", str(a + b)


def _choice(rng: random.Random) -> tuple[str, str]:
    name, members, others = rng.choice(CATEGORIES)
    options = [rng.choice(members), *rng.sample(others, 3)]
    rng.shuffle(options)
    answer = LETTERS[next(i for i, o in enumerate(options) if o in members)]
    listed = " ".join(f"{letter}) {option}" for letter, option in zip(LETTERS, options,
                                                                      strict=True))
    return (f"Which of these is {name}? {listed}. Answer with the letter only.", answer)


def _count(rng: random.Random) -> tuple[str, str]:
    words = rng.sample(WORDS, rng.randint(2, 6))
    return (f"How many words are in this list: {', '.join(words)}? Answer with the number "
            "only.", str(len(words)))


def _fact(rng: random.Random) -> tuple[str, str]:
    question, answer = rng.choice(FACTS)
    return f"{question} Answer with one word only.", answer


_MAKERS = {"arithmetic": _arithmetic, "fact": _fact, "choice": _choice, "count": _count}


def build_prompts(train: int, heldout: int, seed: int = 0) -> list[dict]:
    """``train + heldout`` distinct prompts, the kinds taking turns, each a dict with ``id``,
    ``kind``, ``instruction``, ``answer`` and ``split`` (``train`` first, then ``heldout``).
    Raises ValueError when the generators cannot make that many distinct prompts."""
    if train < 1 or heldout < 0:
        raise ValueError("train must be at least 1 and heldout non-negative")
    rng = random.Random(seed)
    seen: set[str] = set()
    rows: list[dict] = []
    tries = 0
    while len(rows) < train + heldout:
        kind = KINDS[len(rows) % len(KINDS)]
        instruction, answer = _MAKERS[kind](rng)
        tries += 1
        if tries > 100 * (train + heldout) + 1000:
            raise ValueError(f"cannot make {train + heldout} distinct prompts")
        if instruction in seen:
            continue
        seen.add(instruction)
        rows.append({"kind": kind, "instruction": instruction, "answer": answer})
    order = list(range(len(rows)))
    rng.shuffle(order)
    out = []
    for position, i in enumerate(order):
        out.append({"id": i, **rows[i], "split": "train" if position < train else "heldout"})
    return out


_NUMBER = re.compile(r"-?\d+")
_LETTER = re.compile(r"(?<![A-Za-z])([A-D])(?![A-Za-z])")


def is_correct(kind: str, answer: str, text: str) -> bool:
    """Whether the model's ``text`` gives the exact ``answer`` of a prompt of ``kind``."""
    if kind in ("arithmetic", "count"):
        found = _NUMBER.search(text.replace(",", ""))
        return found is not None and found.group() == answer
    if kind == "choice":
        found = _LETTER.search(text)
        return found is not None and found.group(1) == answer
    if kind == "fact":
        return re.search(rf"(?<![A-Za-z]){re.escape(answer.lower())}(?![A-Za-z])",
                         text.lower()) is not None
    raise ValueError(f"unknown kind {kind!r}")
