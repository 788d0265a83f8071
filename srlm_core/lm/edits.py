"""Verdict-changing edits of sampled answers, for the controlled-alpha response pool.

The controlled experiment needs, for every training prompt, a finite set of finished answers
with both verdicts g = 1 (every constraint holds) and g = 0.  Sampling SmolLM2 alone rarely
gives a prompt both, so an answer of one verdict may be edited into one of the other by a
small, mechanical change aimed at one constraint: lower- or upper-casing, removing commas,
trimming to a word or sentence limit, appending the closing phrase or the required word,
wrapping in JSON, and their inverses.  An edit is kept only when the checker confirms that
the verdict flipped (:func:`flip`); the pool records which answers were edited and how.
"""

from __future__ import annotations

import json
import re

from srlm_core.lm.checkers import check_constraint, count_sentences, passes, words

_SENTENCE = re.compile(r"[^.!?]*[.!?]+|[^.!?]+$")


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text.strip()) if s.strip()]


def _trim_words(text: str, limit: int) -> str | None:
    tokens = text.split()
    while tokens and len(words(" ".join(tokens))) > limit:
        tokens.pop()
    if not tokens:
        return None
    out = " ".join(tokens).rstrip(",;:")
    return out if out.endswith((".", "!", "?")) else out + "."


def _capitalise_first_letter(text: str) -> str:
    for i, char in enumerate(text):
        if char.isalpha():
            return text[:i] + char.upper() + text[i + 1:]
    return text


def _bulleted(text: str, count: int) -> str | None:
    parts = _sentences(text)
    if len(parts) < count:
        return None
    return "\n".join(f"* {p}" for p in parts[:count])


def _to_pass(kind: str, value, text: str) -> str | None:
    """An edit aimed at making ``text`` satisfy one constraint (None: no such edit)."""
    if kind == "lowercase":
        return text.lower()
    if kind == "uppercase":
        return text.upper()
    if kind == "no_commas":
        return re.sub(r"\s*,\s*", " ", text).strip()
    if kind == "max_words":
        return _trim_words(text, value)
    if kind == "max_sentences":
        parts = _sentences(text)
        return " ".join(parts[:value]) if parts else None
    if kind == "include_keyword":
        return text.rstrip() + f" It is {value}."
    if kind == "forbid_keyword":
        out = re.sub(rf"\b{re.escape(value)}\b\s*", "", text, flags=re.IGNORECASE)
        return re.sub(r"[ \t]{2,}", " ", out).strip()
    if kind == "bullets":
        return _bulleted(text, value)
    if kind == "end_phrase":
        return text.rstrip() + " " + value
    if kind == "json":
        return json.dumps({"answer": text.strip()})
    return None  # min_words: no mechanical edit makes an answer longer


def _to_fail(kind: str, value, text: str) -> str | None:
    """An edit aimed at breaking one satisfied constraint of ``text`` (None: no such edit)."""
    if kind == "lowercase":
        return _capitalise_first_letter(text)
    if kind == "uppercase":
        return text.lower()
    if kind == "no_commas":
        head, _, tail = text.strip().partition(" ")
        return f"{head}, {tail}" if tail else None
    if kind in ("max_words", "max_sentences"):
        return text.strip() + " " + text.strip()
    if kind == "min_words":
        return _trim_words(text, max(1, value // 2))
    if kind == "include_keyword":
        out = re.sub(rf"\b{re.escape(value)}\b\s*", "", text, flags=re.IGNORECASE)
        return re.sub(r"[ \t]{2,}", " ", out).strip()
    if kind == "forbid_keyword":
        return text.rstrip() + f" That {value} all."
    if kind == "bullets":
        lines = text.strip().splitlines()
        return "\n".join(lines[:-1]) if len(lines) > 1 else None
    if kind == "end_phrase":
        stripped = text.strip()
        return stripped[: -len(value)].strip() if stripped.endswith(value) else None
    if kind == "json":
        return "Answer: " + text.strip()
    return None


def flip(text: str, constraints: list[dict]) -> tuple[str, str] | None:
    """``(edited text, edit name)`` whose verdict is the opposite of ``text``'s, or None.

    A failing answer is edited constraint by constraint until every one holds; a passing one
    gets one edit that breaks its first breakable constraint.  The checker decides."""
    if passes(constraints, text):
        for c in constraints:
            edited = _to_fail(c["kind"], c.get("value"), text)
            if edited and edited.strip() and not passes(constraints, edited):
                return edited, f"break {c['kind']}"
        return None
    edited, names = text, []
    for c in constraints:
        if not check_constraint(c, edited):
            edited = _to_pass(c["kind"], c.get("value"), edited)
            if not edited or not edited.strip():
                return None
            names.append(c["kind"])
    if passes(constraints, edited) and count_sentences(edited) > 0:
        return edited, "fix " + "+".join(names)
    return None
