"""The book's API appendix, generated from the package: one MyST page per concern.

Each page holds, for every module of its concern, an ``automodule`` directive with
``:members:`` and ``:undoc-members:`` (Sphinx autodoc renders the docstrings, viewcode the
highlighted source), so a figure caption's ``{py:obj}`` role lands on the object's entry, with
or without a docstring.  The modules are discovered with ``pkgutil``: a new module gets its
entry by re-running the generator::

    python -m srlm_core.publishing.api_pages          # rewrites book/api/*.md

``tests/publishing/test_api_pages.py`` fails while the pages in ``book/api/`` differ from
what :func:`render_pages` returns.
"""

from __future__ import annotations

import argparse
import pkgutil
import textwrap
from dataclasses import dataclass
from pathlib import Path

import srlm_core

PACKAGE = "srlm_core"
REPO_ROOT = Path(__file__).resolve().parents[2]
#: Folder of the pages, relative to the book.
API_DIR = "api"
#: Options of every ``automodule`` directive.
OPTIONS = (":members:", ":undoc-members:")
#: Extra options per module.  The top-level package re-exports ConfigError as
#: ``srlm_core.ConfigError`` (the name the docstrings use); autodoc documents it there with
#: ``:canonical:`` pointing to ``srlm_core.errors.ConfigError``.
MODULE_OPTIONS = {PACKAGE: (":imported-members:",)}
#: Modules left out of the appendix (none).
EXCLUDED: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Page:
    """One page of the appendix: the modules whose dotted name starts with a prefix."""

    name: str  #: file name without .md
    title: str  #: the page title
    summary: str  #: one line for the index page
    prefixes: tuple[str, ...]  #: the modules (and everything below them) on this page


PAGES = (
    Page("model", "The model world", "linear-softmax policies, the self-judge, Bradley-Terry "
         "pairs, the DPO update and its solvers, the self-rewarding loop, metrics and bounds",
         ("srlm_core.model",)),
    Page("theory", "Derivations", "the SymPy derivations of the statements S1-S5, one module "
         "per statement", ("srlm_core.theory",)),
    Page("experiments", "Experiments", "the code behind every figure and table: ``Config``, "
         "``run`` and ``plot`` of each experiment, and the sweeps", ("srlm_core.experiments",)),
    Page("lm", "A real language model", "self-rewarding SmolLM2-135M-Instruct: prompts and "
         "checkers, the LLM judge, DPO training, diagnostics and the loop", ("srlm_core.lm",)),
    Page("publishing", "Publishing", "the results registry, provenance, the chapter-side glue, "
         "citations, the Sphinx execution cache, the offline book and its browser check and "
         "PDF, executing one chapter, and this appendix",
         ("srlm_core.publishing",)),
    Page("core", "Command line and core", "the ``srlm`` command line, the errors, the device "
         "choice and the summaries across seeds",
         ("srlm_core", "srlm_core.cli", "srlm_core.errors", "srlm_core.device", "srlm_core.stats")),
)


def discover_modules(package_dir: Path | None = None, package: str = PACKAGE) -> list[str]:
    """Every public module of the package (a package before its modules), found on disk with
    ``pkgutil.iter_modules``, without importing anything."""
    package_dir = Path(package_dir or Path(srlm_core.__file__).parent)
    found = [package]
    for info in sorted(pkgutil.iter_modules([str(package_dir)]), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        name = f"{package}.{info.name}"
        if info.ispkg:
            found += discover_modules(package_dir / info.name, name)
        else:
            found.append(name)
    return [name for name in found if name not in EXCLUDED]


def page_of(module: str) -> Page:
    """The page that documents ``module``: the one with the longest matching prefix."""
    matches = [
        (len(prefix), page)
        for page in PAGES
        for prefix in page.prefixes
        if module == prefix or module.startswith(prefix + ".")
    ]
    if not matches:
        raise ValueError(f"no API page for module {module}")
    return max(matches, key=lambda m: m[0])[1]


def _automodule(module: str) -> str:
    options = OPTIONS + MODULE_OPTIONS.get(module, ())
    lines = [f".. automodule:: {module}", *(f"   {option}" for option in options)]
    return "```{eval-rst}\n" + "\n".join(lines) + "\n```\n"


def _label(page: Page) -> str:
    return f"api-{page.name}"


def _index(pages: tuple[Page, ...]) -> str:
    lines = [
        "(api-index)=",
        "# API reference",
        "",
        "This appendix is generated from the docstrings of the package `srlm_core`; each",
        "entry links to its highlighted source (`[source]`).  The figure captions of the",
        "chapters link here, to the functions that computed and drew them.",
        "",
    ]
    for page in pages:
        item = f"- {{doc}}`{page.title} <{page.name}>`: {_markdown(page.summary)}."
        lines += textwrap.wrap(item, width=92, subsequent_indent="  ", break_on_hyphens=False)
    lines += [
        "",
        "The pages are written by `python -m srlm_core.publishing.api_pages`; re-run it after",
        "adding a module.",
        "",
    ]
    return "\n".join(lines)


def _markdown(text: str) -> str:
    """The RST literals of a summary as MyST literals."""
    return text.replace("``", "`")


def _page(page: Page, modules: list[str]) -> str:
    title = page.title
    if len(page.prefixes) == 1:
        title += f" (`{page.prefixes[0]}`)"
    lines = [f"({_label(page)})=", f"# {title}", ""]
    for i, module in enumerate(modules):
        if i:  # the first module (the subpackage) is introduced by the page title
            lines += [f"## `{module}`", ""]
        lines.append(_automodule(module))
    return "\n".join(lines)


def render_pages(modules: list[str] | None = None) -> dict[str, str]:
    """File name (``index.md``, ``model.md``, ...) to page text, for the given modules
    (default: :func:`discover_modules`)."""
    modules = discover_modules() if modules is None else modules
    by_page: dict[str, list[str]] = {page.name: [] for page in PAGES}
    for module in modules:
        by_page[page_of(module).name].append(module)
    pages = {"index.md": _index(PAGES)}
    for page in PAGES:
        pages[f"{page.name}.md"] = _page(page, by_page[page.name])
    return pages


def write_pages(book_dir: Path | str = REPO_ROOT / "book") -> list[Path]:
    """Write the pages into ``<book_dir>/api/`` and delete any other ``.md`` file there.

    Returns the paths written."""
    out = Path(book_dir) / API_DIR
    out.mkdir(parents=True, exist_ok=True)
    pages = render_pages()
    for stale in out.glob("*.md"):
        if stale.name not in pages:
            stale.unlink()
    written = []
    for name, text in pages.items():
        path = out / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m srlm_core.publishing.api_pages", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--book", type=Path, default=REPO_ROOT / "book", help="book folder")
    args = parser.parse_args(argv)
    for path in write_pages(args.book):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
