"""The offline book: MathJax from the site, no remote script, words in the execution table."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from srlm_core.publishing import browser, offline

REPO = Path(__file__).resolve().parents[2]


def test_remote_references_lists_loads_not_links():
    html = textwrap.dedent(
        """\
        <script defer src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"></script>
        <script src="_static/doctools.js"></script>
        <script src='//unpkg.com/thebe@0.8.2/lib/index.js'></script>
        <link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Lato">
        <link rel="preload" as="font" href="https://example.org/font.woff2">
        <link rel="stylesheet" href="_static/styles/theme.css">
        <link rel="canonical" href="https://example.org/book/">
        <style>@font-face { src: url("https://example.org/a.woff") }</style>
        <p>See <a href="https://arxiv.org/abs/2601.22513">the paper</a>.</p>
        """
    )
    assert offline.remote_references(html) == [
        "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js",
        "//unpkg.com/thebe@0.8.2/lib/index.js",
        "https://fonts.googleapis.com/css?family=Lato",
        "https://example.org/font.woff2",
        "https://example.org/a.woff",
    ]


def test_mathjax_comes_from_the_pinned_package():
    folder = offline.mathjax_source()
    component = folder / Path(offline.MATHJAX_COMPONENT).name
    assert "3.2.2" in component.read_text(errors="replace")[:200000]
    assert (folder / "output" / "chtml" / "fonts" / "woff-v2").is_dir()


def test_the_execution_table_status_is_words():
    from myst_nb.ext import execution_tables

    offline._plain_status_words()
    status = execution_tables._key2transform["succeeded"]
    assert (status(True), status(False), status(None)) == ("ok", "failed", "failed")


BOOK_CONFIG = """\
title: offline test
only_build_toc_files: true
execute:
  execute_notebooks: cache
  run_in_temp: false
html:
  use_download_button: true
sphinx:
  extra_extensions: [srlm_core.publishing.offline]
"""
#: The book's own MathJax settings (book/_config.yml), which the test book takes over.
MATHJAX_SETTINGS = ("mathjax3_config", "myst_mathjax_classes")


def book_config() -> str:
    import yaml

    config = yaml.safe_load(BOOK_CONFIG)
    book = yaml.safe_load((REPO / "book" / "_config.yml").read_text())["sphinx"]["config"]
    config["sphinx"]["config"] = {key: book[key] for key in MATHJAX_SETTINGS if key in book}
    return yaml.safe_dump(config)

PAGE = """\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
# Offline

Inline $\\R^d$ and displayed

$$ r_t(x,y) = \\alpha\\, r^\\star(x,y) + (1-\\alpha)\\,\\beta \\log \\frac{\\pi_t}{\\pi_0} $$

```{code-cell} ipython3
from IPython.display import Math
Math(r"\\frac{a}{b}")
```

```{code-cell} ipython3
import pandas as pd
pd.DataFrame({"$e_0$": [1.0, 2.0], "$\\kappa(\\pi_0)$": [2.27, 5.75]}).style.hide()
```

```{nb-exec-table}
```
"""


@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
    book = tmp_path_factory.mktemp("book")
    (book / "_config.yml").write_text(book_config())
    (book / "_toc.yml").write_text("format: jb-book\nroot: offline\n")
    (book / "offline.md").write_text(PAGE)
    jb = str(Path(sys.executable).parent / "jupyter-book")
    proc = subprocess.run([jb, "build", str(book), "-W", "-n", "--keep-going"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return book / "_build" / "html"


@pytest.mark.slow
def test_a_built_book_loads_nothing_from_the_network(built_book):
    page = (built_book / "offline.html").read_text()
    assert offline.remote_references(page) == []
    assert "thebe" not in page.lower()
    assert f'src="_static/{offline.MATHJAX_COMPONENT}' in page
    assert (built_book / "_static" / offline.MATHJAX_COMPONENT).is_file()
    assert not (built_book / "_static" / "mathjax" / "latest.js").exists()
    assert "<p>ok</p>" in page and "\u2705" not in page


@pytest.mark.slow
def test_a_built_book_renders_offline_and_fails_without_its_mathjax(built_book, chromium):
    """Every page passes, the $...$ headers of a pandas table in an output included."""
    reports = browser.check_site(built_book, echo=None)
    assert [r.page for r in reports] == ["genindex.html", "index.html", "offline.html",
                                         "search.html"]
    assert all(r.ok for r in reports), [(r.page, r.problems) for r in reports if not r.ok]

    # The same page with its MathJax gone: every formula stays raw TeX, and the check fails.
    page = built_book / "offline.html"
    broken = page.read_text().replace(f"_static/{offline.MATHJAX_COMPONENT}", "_static/gone.js")
    (built_book / "unrendered.html").write_text(broken)
    (report,) = browser.check_site(built_book, pages=[built_book / "unrendered.html"], echo=None)
    problems = {p.split(":", 1)[0] for p in report.problems}
    assert {"raw-tex", "math", "failed-load"} <= problems
    (built_book / "unrendered.html").unlink()


def test_the_build_warns_on_a_remote_load(tmp_path, monkeypatch):
    from types import SimpleNamespace

    import sphinx.util.logging

    warnings = []
    stub = SimpleNamespace(warning=lambda message, *args, **kw: warnings.append(message % args))
    monkeypatch.setattr(sphinx.util.logging, "getLogger", lambda name: stub)
    (tmp_path / "_static").mkdir()
    (tmp_path / "page.html").write_text('<script src="https://unpkg.com/x.js"></script>')
    (tmp_path / "fine.html").write_text('<a href="https://arxiv.org/">paper</a>')
    (tmp_path / "_static" / "theme.css").write_text('@import "https://fonts.example/f.css";')
    app = SimpleNamespace(builder=SimpleNamespace(format="html"), outdir=str(tmp_path))
    offline._build_finished(app, None)
    assert warnings == [
        "page.html loads from the network: https://unpkg.com/x.js",
        "_static/theme.css loads from the network: https://fonts.example/f.css",
    ]
