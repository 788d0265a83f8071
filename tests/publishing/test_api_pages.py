"""The API appendix: committed pages match the generator, and they build without warnings."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from srlm_core.publishing import api_pages

BOOK = api_pages.REPO_ROOT / "book"
REGENERATE = "python -m srlm_core.publishing.api_pages"
#: Settings of book/_config.yml (``sphinx: config:``) that the API pages depend on.
API_SETTINGS = ("autodoc_", "add_module_names", "viewcode_", "nitpick", "python_", "mathjax")


def test_committed_pages_are_what_the_generator_writes():
    expected = api_pages.render_pages()
    committed = {p.name: p.read_text() for p in (BOOK / api_pages.API_DIR).glob("*.md")}
    missing = sorted(set(expected) - set(committed))
    stale = sorted(set(committed) - set(expected))
    changed = sorted(n for n in expected if n in committed and committed[n] != expected[n])
    assert not (missing or stale or changed), (
        f"book/api/ is out of date (missing {missing}, stale {stale}, changed {changed}): "
        f"run `{REGENERATE}`"
    )


def _toc_files(node) -> list[str]:
    if isinstance(node, dict):
        return ([node["file"]] if "file" in node else []) + [
            f for value in node.values() for f in _toc_files(value)
        ]
    if isinstance(node, list):
        return [f for item in node for f in _toc_files(item)]
    return []


def test_every_page_is_in_the_table_of_contents():
    toc = _toc_files(yaml.safe_load((BOOK / "_toc.yml").read_text()))
    for name in api_pages.render_pages():
        assert f"{api_pages.API_DIR}/{Path(name).stem}" in toc, f"{name} missing in _toc.yml"


def test_every_module_is_on_a_page_and_a_new_module_is_found(tmp_path):
    modules = api_pages.discover_modules()
    assert "srlm_core.model.policy" in modules and "srlm_core.stats" in modules
    assert modules.index("srlm_core.model") < modules.index("srlm_core.model.policy")
    pages = api_pages.render_pages(modules)
    text = "".join(pages.values())
    for module in modules:
        assert f".. automodule:: {module}\n" in text
    assert api_pages.page_of("srlm_core.errors").name == "core"
    assert api_pages.page_of("srlm_core.experiments.iterative").name == "experiments"

    package = tmp_path / "srlm_core"
    (package / "model").mkdir(parents=True)
    for path in ("__init__.py", "model/__init__.py", "model/new_thing.py", "model/_private.py"):
        (package / path).write_text("")
    found = api_pages.discover_modules(package)
    assert found == ["srlm_core", "srlm_core.model", "srlm_core.model.new_thing"]
    assert ".. automodule:: srlm_core.model.new_thing" in api_pages.render_pages(found)["model.md"]


def _conf_py() -> str:
    config = yaml.safe_load((BOOK / "_config.yml").read_text())
    sphinx = config.get("sphinx", {})
    settings = {
        key: value
        for key, value in sphinx.get("config", {}).items()
        if key.startswith(API_SETTINGS)
    }
    extensions = ["myst_parser", "sphinx.ext.mathjax"] + [
        ext for ext in sphinx.get("extra_extensions", [])
        if ext.startswith("sphinx.ext.") or ext == "srlm_core.publishing.api_values"
    ]
    assert {"sphinx.ext.autodoc", "sphinx.ext.viewcode"} <= set(extensions)
    myst = config.get("parse", {}).get("myst_enable_extensions", [])
    return textwrap.dedent(
        f"""\
        project = "api"
        extensions = {extensions!r}
        myst_enable_extensions = {myst!r}
        exclude_patterns = ["_build"]
        """
    ) + "".join(f"{key} = {value!r}\n" for key, value in settings.items())


LINK_PAGE = """\
# Links

A caption's link: {py:obj}`srlm_core.experiments.iterative.run`; a class:
{py:obj}`srlm_core.ConfigError`.
"""


@pytest.mark.slow
def test_api_pages_build_without_warnings(tmp_path):
    """Sphinx (nitpicky, warnings are errors) on the API pages alone, plus a page with the
    ``{py:obj}`` roles a figure caption uses."""
    src, out = tmp_path / "src", tmp_path / "html"
    shutil.copytree(BOOK / api_pages.API_DIR, src / api_pages.API_DIR)
    (src / "conf.py").write_text(_conf_py())
    (src / "links.md").write_text(LINK_PAGE)
    toctree = "\n".join(
        f"{api_pages.API_DIR}/{Path(name).stem}" for name in api_pages.render_pages()
    )
    (src / "index.md").write_text(f"# Root\n\n```{{toctree}}\n{toctree}\nlinks\n```\n")
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-n", "-q",
         "-d", str(tmp_path / "doctrees"), str(src), str(out)],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert proc.returncode == 0, f"Sphinx failed or warned:\n{proc.stderr[-6000:]}"

    links = (out / "links.html").read_text()
    assert 'href="api/experiments.html#srlm_core.experiments.iterative.run"' in links
    assert 'href="api/core.html#srlm_core.ConfigError"' in links
    entry = (out / "api" / "experiments.html").read_text()
    assert 'id="srlm_core.experiments.iterative.run"' in entry
    assert "_modules/srlm_core/experiments/iterative.html#run" in entry  # the [source] link
    assert (out / "_modules" / "srlm_core" / "experiments" / "iterative.html").is_file()
    assert 'class="math' in (out / "api" / "theory.html").read_text()  # rendered math
    # A short constant shows its value; a table of glue names does not (its source does).
    short = entry.split('id="srlm_core.experiments.language_model_loop_analysis.RESAMPLES"')[1]
    assert "1999" in short[:600]
    table = entry.split('id="srlm_core.experiments.coverage_names.HALF_NAMES"')[1]
    assert "cov_half_05_8_1" not in table[:2000] and "cov_half_05_8_1" not in entry
