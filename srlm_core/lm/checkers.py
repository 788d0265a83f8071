"""Program-checkable instructions (IFEval-style, Zhou et al. 2023): the ground truth r* of the
language-model experiment.  A constraint is a dict ``{"kind": KIND, "value": ...}``; a response
complies with a prompt when every constraint holds.

We write the checkers ourselves: the maintained IFEval checkers (lm-eval, if-verifiable) need
NLTK tokenizer data fetched at run time, which this compendium forbids.  Words are maximal runs
of letters, digits and apostrophes; sentences end in ``.``, ``!`` or ``?``.
"""

from __future__ import annotations

import json
import re

_WORD = re.compile(r"[A-Za-z0-9']+")
_SENTENCE_END = re.compile(r"[.!?]+(?:\s|$)")
_BULLET = re.compile(r"^\s*[*-]\s+\S", re.MULTILINE)


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def count_sentences(text: str) -> int:
    stripped = text.strip()
    if not stripped:
        return 0
    ends = len(_SENTENCE_END.findall(stripped))
    return ends + (0 if re.search(r"[.!?]\s*$", stripped) else 1)


def _json_payload(text: str) -> str:
    """The text, or the inside of one ```json ... ``` fence around it."""
    match = re.fullmatch(r"\s*```(?:json)?\s*(.*?)\s*```\s*", text, re.DOTALL)
    return match.group(1) if match else text


def _is_json(text: str) -> bool:
    try:
        json.loads(_json_payload(text))
    except ValueError:
        return False
    return True


def _has_letters(text: str) -> bool:
    return any(c.isalpha() for c in text)


#: kind -> (check(response, value), description(value)) ; the description is the instruction.
CHECKERS = {
    "max_words": (
        lambda r, n: 0 < len(words(r)) <= n,
        lambda n: f"Answer in at most {n} words.",
    ),
    "min_words": (
        lambda r, n: len(words(r)) >= n,
        lambda n: f"Answer in at least {n} words.",
    ),
    "max_sentences": (
        lambda r, n: 0 < count_sentences(r) <= n,
        lambda n: f"Use at most {n} sentence{'s' if n > 1 else ''}.",
    ),
    "include_keyword": (
        lambda r, w: re.search(rf"\b{re.escape(w)}\b", r, re.IGNORECASE) is not None,
        lambda w: f"Include the word \"{w}\".",
    ),
    "forbid_keyword": (
        lambda r, w: re.search(rf"\b{re.escape(w)}\b", r, re.IGNORECASE) is None,
        lambda w: f"Do not use the word \"{w}\".",
    ),
    "lowercase": (
        lambda r, _: _has_letters(r) and r == r.lower(),
        lambda _: "Write only in lowercase letters, no capital letters at all.",
    ),
    "uppercase": (
        lambda r, _: _has_letters(r) and r == r.upper(),
        lambda _: "Write your entire answer in capital letters.",
    ),
    "bullets": (
        lambda r, n: len(_BULLET.findall(r)) == n,
        lambda n: f"Answer with exactly {n} bullet points, each starting with \"* \".",
    ),
    "end_phrase": (
        lambda r, p: r.strip().endswith(p),
        lambda p: f"End your answer with the exact phrase \"{p}\".",
    ),
    "json": (
        lambda r, _: _is_json(r),
        lambda _: "Wrap your entire answer in valid JSON.",
    ),
    "no_commas": (
        lambda r, _: "," not in r and bool(r.strip()),
        lambda _: "Do not use any commas.",
    ),
}


def check_constraint(constraint: dict, response: str) -> bool:
    check, _ = CHECKERS[constraint["kind"]]
    return bool(check(response, constraint.get("value")))


def describe(constraint: dict) -> str:
    _, text = CHECKERS[constraint["kind"]]
    return text(constraint.get("value"))


def compliance(constraints: list[dict], response: str) -> float:
    """Fraction of constraints satisfied (the oracle judge's graded score)."""
    return sum(check_constraint(c, response) for c in constraints) / len(constraints)


def passes(constraints: list[dict], response: str) -> bool:
    """Ground truth: the response satisfies every constraint."""
    return all(check_constraint(c, response) for c in constraints)
