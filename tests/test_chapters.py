"""The chapters narrate: analysis lives in srlm_core, and chapters hold at most 40 lines of
hidden code (imports and glue) and define no functions (captions: publishing/test_report.py)."""

import re

import pytest

from srlm_core.publishing.provenance import REPO_ROOT

CHAPTERS = sorted((REPO_ROOT / "book" / "chapters").glob("*.md"))
HIDDEN_TAGS = ("remove-cell", "remove-input", "hide-cell", "hide-input")
MAX_HIDDEN_LINES = 40


def code_cells(text: str) -> list[tuple[bool, list[str]]]:
    """(hidden, code lines) of every code cell, without its metadata lines."""
    cells = []
    for body in re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", text, re.S):
        lines = body.splitlines()
        hidden = any(line.startswith(":tags:") and any(tag in line for tag in HIDDEN_TAGS)
                     for line in lines)
        code = [line for line in lines if line.strip() and not line.startswith(":")]
        cells.append((hidden, code))
    return cells


def test_the_counter_sees_hidden_cells():
    text = "```{code-cell} ipython3\n:tags: [remove-cell]\n\nimport a\nb = 1\n```\n" \
           "```{code-cell} ipython3\nc = 2\n```\n"
    assert code_cells(text) == [(True, ["import a", "b = 1"]), (False, ["c = 2"])]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_hidden_code_is_imports_and_glue(chapter):
    cells = code_cells(chapter.read_text())
    hidden = sum(len(code) for is_hidden, code in cells if is_hidden)
    assert hidden <= MAX_HIDDEN_LINES, f"{chapter.name}: {hidden} hidden code lines"
    defined = [line.strip() for _, code in cells for line in code
               if re.match(r"\s*(def|class) ", line)]
    assert not defined, f"{chapter.name} defines {defined}: move them to srlm_core"

