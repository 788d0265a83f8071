"""The book's numbers can be traced by ``git grep NAME``: every name the book's markdown glues
appears as a literal in the package, or in the code cells of the document that glues it.

The names are read from every glue role (``{glue}``, ``{glue:text}``, ``{glue:md}``, ...: an
optional ``path::`` prefix names the document that glues it, an optional ``:format`` suffix
formats it) and every glue directive (``glue:figure``, ``glue:math``, ``glue:md``, ``glue:``).
A literal is a string constant, or a keyword of a ``dict(...)`` or ``.update(...)`` call, in
the syntax tree of ``srlm_core/**/*.py`` or of the glueing document's code cells.

Two derived names are traced through their base name, the first argument of the report
function that derives them:

* ``NAME-source``, the caption note :func:`srlm_core.publishing.report.glue_figure` glues
  beside the figure ``NAME``, when ``NAME`` is traced and shown by a ``glue:figure`` directive;
* ``NAME_lo`` and ``NAME_hi``, the bounds :func:`srlm_core.publishing.report.glue_interval`
  glues beside ``NAME``, when ``NAME`` is a literal first argument of a ``glue_interval``
  call.  Bounds glued any other way (an experiment's ``summarise``) are written out.

The names traced nowhere today are listed below as known debts: a new one fails the test,
and so does a listed one that is now traced (so that the list only shrinks)."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

from srlm_core.publishing.provenance import REPO_ROOT

BOOK = REPO_ROOT / "book"
PACKAGE = REPO_ROOT / "srlm_core"
DOCUMENTS = sorted(p for p in BOOK.rglob("*.md") if "_build" not in p.parts)
ROLE = re.compile(r"\{glue(?::\w*)?\}`([^`]+)`")
DIRECTIVE = re.compile(r"^(?:`{3,}|:{3,})\{glue(:\w*)?\}[ \t]+(\S+)", re.M)
CELL = re.compile(r"```\{code-cell\}[^\n]*\n(.*?)```", re.S)
#: Glued names that no literal traces yet: (document, name).
KNOWN_UNTRACED: set[tuple[str, str]] = set()


def referenced(path: Path) -> tuple[set[tuple[Path, str]], set[Path]]:
    """The (glueing document, name) pairs a document's markdown refers to, and the figures
    it shows, as (document, name) too."""
    text = path.read_text()
    names = set()
    for body in ROLE.findall(text):
        target, _, rest = body.rpartition("::")
        document = (path.parent / target).resolve() if target else path
        names.add((document, rest.split(":")[0]))
    directives = DIRECTIVE.findall(text)
    names |= {(path, name) for _, name in directives}
    return names, {(path, name) for kind, name in directives if kind == ":figure"}


def code_cells(path: Path) -> list[str]:
    """The code of a document's code cells, without their ``:tags:`` lines."""
    return ["\n".join(line for line in body.splitlines() if not line.startswith(":"))
            for body in CELL.findall(path.read_text())]


def literals(tree: ast.AST) -> tuple[set[str], set[str]]:
    """The string constants (not the pieces of an f-string) and mapping keywords of a syntax
    tree, and the literal first arguments of its ``glue_interval`` calls."""
    found, intervals = set(), set()
    fragments = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)
                 for part in node.values}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in fragments:
            found.add(node.value)
        elif isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in ("dict", "update"):
                found |= {kw.arg for kw in node.keywords if kw.arg}
            first = node.args[0] if node.args else None
            if called == "glue_interval" and isinstance(first, ast.Constant):
                intervals.add(first.value)
    return found, intervals


@cache
def package_literals() -> tuple[set[str], set[str]]:
    found, intervals = set(), set()
    for path in PACKAGE.rglob("*.py"):
        more, bounds = literals(ast.parse(path.read_text()))
        found |= more
        intervals |= bounds
    return found, intervals


@cache
def document_literals(path: Path) -> tuple[set[str], set[str]]:
    found, intervals = set(), set()
    for code in code_cells(path):
        more, bounds = literals(ast.parse(code))
        found |= more
        intervals |= bounds
    return found, intervals


def traced(document: Path, name: str, figures: set[tuple[Path, str]]) -> bool:
    """Whether ``git grep`` finds a glued name (or the base name it derives from)."""
    package, package_intervals = package_literals()
    local, local_intervals = document_literals(document) if document.exists() else (set(), set())
    if name in package or name in local:
        return True
    base, _, suffix = name.rpartition("-")
    if suffix == "source" and (document, base) in figures:
        return traced(document, base, figures)
    base, _, suffix = name.rpartition("_")
    return suffix in ("lo", "hi") and base in package_intervals | local_intervals


def untraced(path: Path) -> set[tuple[str, str]]:
    names, figures = referenced(path)
    return {(doc.relative_to(BOOK).as_posix() if doc.is_relative_to(BOOK) else str(doc), name)
            for doc, name in names if not traced(doc, name, figures)}


def test_the_reader_sees_every_glue_form(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "A {glue:text}`a:.2f`, {glue}`b`, {glue:md}`c:myst` and {glue:text}`other.md::d:s`.\n"
        "```{glue:figure} fig\n:name: fig\nIt. {glue:md}`fig-source:myst`\n```\n"
        "```{glue:math} e\n:label: e\n```\n"
        "```{glue:} f\n```\n"
    )
    names, figures = referenced(page)
    assert names == {(page, "a"), (page, "b"), (page, "c"), (tmp_path / "other.md", "d"),
                     (page, "fig"), (page, "fig-source"), (page, "e"), (page, "f")}
    assert figures == {(page, "fig")}


def test_literals_are_constants_mapping_keywords_and_interval_bases():
    tree = ast.parse('out = {"a": 1}\nout.update(b=2)\nf(c=3)\nx = f"d_{k}"\n'
                     's.glue_interval("e", 1, 0, 2)\nglue_interval(name, 1, 0, 2)\n')
    found, intervals = literals(tree)
    assert {"a", "b", "e"} <= found and not {"c", "d_"} & found
    assert intervals == {"e"}


def test_derived_names_are_traced_through_their_base(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```{code-cell} ipython3\ns.glue_interval('slope_q', 1, 0, 2)\n"
                    "s.glue_figure('fig_q', f)\nk = 'slope_r'\n```\n"
                    "{glue:text}`slope_q_lo` {glue:text}`slope_r_hi` {glue:md}`fig_q-source`\n"
                    "```{glue:figure} fig_q\n```\n")
    assert untraced(page) == {(str(page), "slope_r_hi")}


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.relative_to(BOOK).as_posix())
def test_every_glued_name_is_a_literal(document):
    missing = untraced(document) - KNOWN_UNTRACED
    assert not missing, (f"{len(missing)} glued names that `git grep` does not find; write them "
                         f"out (a table of names per experiment is fine): {sorted(missing)}")


def test_the_known_untraced_names_are_still_untraced():
    gone = KNOWN_UNTRACED - set().union(*(untraced(document) for document in DOCUMENTS))
    assert not gone, f"traced now, remove from KNOWN_UNTRACED: {sorted(gone)}"
