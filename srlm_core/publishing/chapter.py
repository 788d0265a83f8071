"""Execute one chapter outside the book: its executed notebook and an HTML page to read.

``srlm results execute CHAPTER`` (:mod:`srlm_core.cli.results_command`) calls :func:`execute`: the
chapter's MyST markdown is read with jupytext, executed top to bottom in a fresh kernel
(the chapter's folder as working directory), and written as

* ``<output>/<chapter>.ipynb``, the executed notebook (open it in JupyterLab), and
* ``<output>/<chapter>.html``, a page of it (nbconvert's lab template) that reads offline:
  MathJax 3 comes from ``<output>/_static/mathjax`` (the same pinned files the book ships,
  :func:`srlm_core.publishing.offline.mathjax_source`), with the book's TeX macros, and the
  template's CDN scripts (require.js, MermaidJS) are left out.

The chapter's live results (:mod:`srlm_core.publishing.report`) go to the folder the caller
names — by default a new temporary folder, so that a reader's run never touches the book's
records.  A failing cell still writes both files (the error is in them) and raises
:class:`ChapterFailed`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from unittest.mock import patch

from srlm_core.errors import ConfigError
from srlm_core.publishing.provenance import REPO_ROOT

#: The book's chapters, where a bare chapter name (``01_operator``, or ``01``) is looked up.
CHAPTERS_DIR = REPO_ROOT / "book" / "chapters"
#: Default folder for the executed notebook and its page (ignored by git, beside the book);
#: the environment variable OUTPUT_ENV names another.
OUTPUT_DIR = REPO_ROOT / "book" / "_build" / "executed"
OUTPUT_ENV = "SRLM_EXECUTED_DIR"
_BOOK_CONFIG = REPO_ROOT / "book" / "_config.yml"
_TEMPLATES = Path(__file__).resolve().parent / "templates"


class ChapterFailed(RuntimeError):
    """A cell of the chapter raised; the files were written all the same."""


@dataclass(frozen=True)
class ChapterRun:
    """Where an executed chapter went."""

    chapter: Path
    notebook: Path
    page: Path
    live_results: Path


def resolve(chapter: str | Path) -> Path:
    """A chapter's ``.md`` file from a path, a name (``01_operator``) or a prefix (``01``)."""
    path = Path(chapter)
    if path.is_file():
        if path.suffix != ".md":
            raise ConfigError("notebook", f"{chapter} is not a chapter .md file")
        return path.resolve()
    if path.parent == Path(".") and CHAPTERS_DIR.is_dir():
        exact = CHAPTERS_DIR / f"{path.stem}.md"
        if exact.is_file():
            return exact
        matches = sorted(CHAPTERS_DIR.glob(f"{path.stem}*.md"))
        if len(matches) == 1:
            return matches[0]
    raise ConfigError("notebook", f"{chapter} is not a chapter .md file")


def _book_macros() -> dict:
    """The TeX macros of book/_config.yml (so that the page typesets like the book)."""
    try:
        import yaml

        config = yaml.safe_load(_BOOK_CONFIG.read_text())
        mathjax = config["sphinx"]["config"]["mathjax3_config"]
        return dict(mathjax["tex"]["macros"])
    except (OSError, KeyError, TypeError, ValueError):
        return {}


def mathjax_config() -> dict:
    """MathJax 3 configuration of the chapter page: ``$``-delimited math as in a notebook."""
    return {
        "tex": {
            "inlineMath": [["$", "$"], ["\\(", "\\)"]],
            "displayMath": [["$$", "$$"], ["\\[", "\\]"]],
            "processEscapes": True,
            "processEnvironments": True,
            "macros": _book_macros(),
        },
    }


def _ship_mathjax(output: Path) -> str:
    """Copy MathJax next to the page (once); the page-relative address of its component."""
    from srlm_core.publishing.offline import MATHJAX_COMPONENT, mathjax_source

    target = output / "_static" / "mathjax"
    if not (target / Path(MATHJAX_COMPONENT).name).is_file():
        shutil.copytree(mathjax_source(), target, dirs_exist_ok=True)
    return f"_static/{MATHJAX_COMPONENT}"


def write_page(notebook, page: Path) -> Path:
    """Write ``notebook`` as an HTML page at ``page`` that reads offline."""
    from nbconvert import HTMLExporter

    page = Path(page)
    page.parent.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter(
        template_name="lab",
        extra_template_paths=[str(_TEMPLATES)],
        template_file="srlm_chapter.html.j2",
        embed_images=True,
    )
    resources = {
        "metadata": {"name": page.stem},
        "srlm_mathjax_url": _ship_mathjax(page.parent),
        "srlm_mathjax_config": json.dumps(mathjax_config()),
    }
    with warnings.catch_warnings():
        # Glued values carry a MIME type of their own that a page does not show.
        warnings.filterwarnings("ignore", message=".*is not able to be represented")
        body, _ = exporter.from_notebook_node(notebook, resources=resources)
    page.write_text(body, encoding="utf-8")
    return page


def execute(chapter: str | Path, live_results: Path | None = None,
            output: Path | None = None, timeout: int = 600) -> ChapterRun:
    """Execute ``chapter`` and write its notebook and page to ``output`` (default
    ``$SRLM_EXECUTED_DIR``, else :data:`OUTPUT_DIR`); live results go to ``live_results``
    (default: a new temporary folder)."""
    import jupytext
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    from srlm_core.publishing.report import LIVE_DIR_ENV, NOTEBOOK_ENV

    path = resolve(chapter)
    if live_results is None:
        live_results = Path(tempfile.mkdtemp(prefix="srlm-live-results-"))
    live_results = Path(live_results).resolve()
    output = Path(output or os.environ.get(OUTPUT_ENV) or OUTPUT_DIR).resolve()
    output.mkdir(parents=True, exist_ok=True)
    run = ChapterRun(path, output / f"{path.stem}.ipynb", output / f"{path.stem}.html",
                     live_results)

    notebook = jupytext.read(path)
    client = NotebookClient(
        notebook, timeout=timeout, kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    failure = None
    # The kernel inherits these: report.py writes the chapter's live records there.
    chapter_env = {NOTEBOOK_ENV: str(path), LIVE_DIR_ENV: str(live_results)}
    with patch.dict(os.environ, chapter_env):
        try:
            client.execute()
        except CellExecutionError as err:
            failure = f"{err.ename}: {err.evalue}"
    nbformat.write(notebook, run.notebook)
    write_page(notebook, run.page)
    if failure is not None:
        raise ChapterFailed(f"a cell failed: {failure} (see {run.page})")
    return run
