"""Sphinx extension: a built book that reads offline and stands on its own.

Jupyter Book 1.x writes pages that load MathJax from a CDN and configure Thebe with a script
from ``unpkg.com``; opened without a network, every formula stays raw TeX.  This extension

* serves **MathJax 3 from the built site**: the files of the pinned package
  ``sphinx-mathjax-offline`` (MathJax 3.2.2: the combined components, the TeX extensions and
  the CommonHTML web fonts) are copied to ``_static/mathjax/`` of every HTML build, and
  ``mathjax_path`` points there (:data:`MATHJAX_COMPONENT`) unless the configuration names
  another local file;
* removes **Thebe** (``sphinx-thebe``, which Jupyter Book always loads) and any other script or
  stylesheet with a remote address from every page, and the Thebe configuration block from
  the page bodies;
* sets the theme's colour mode to ``auto`` when the configuration leaves it empty (the theme
  logs a console error on a reader's first visit otherwise);
* writes the **status column** of the execution table (``{nb-exec-table}``) as words: myst-nb's
  emoji need a colour-emoji font that neither the site nor a plain system ships (they showed
  as empty boxes);
* **checks** every written page and stylesheet: a remaining remote script, stylesheet or font
  (:func:`remote_references`, CSS ``url()``/``@import``) is a build warning, so the strict
  build fails on it.

Enable it in ``book/_config.yml``::

    sphinx:
      extra_extensions:
        - srlm_core.publishing.offline
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

#: The distribution that carries the MathJax 3 files, and where they are inside it.
MATHJAX_DISTRIBUTION = "sphinx-mathjax-offline"
_MATHJAX_FOLDER = "sphinx-mathjax-offline/static/mathjax"
#: ``mathjax_path`` (relative to ``_static``): TeX input, CommonHTML output with its fonts.
MATHJAX_COMPONENT = "mathjax/tex-chtml.js"
_MATHJAX_LEFT_OUT = {"latest.js", "node-main.js"}
#: Words for myst-nb's execution-table status column.
STATUS_WORDS = {True: "ok", False: "failed"}

_REMOTE = re.compile(r"^(?:https?:)?//", re.IGNORECASE)
_THEBE_CONFIG = re.compile(
    r'<script type="text/x-thebe-config">.*?</script>\s*', re.DOTALL | re.IGNORECASE
)
# <script src=...>, <link href=...> for stylesheets, fonts and preloads, CSS url(...) and
# @import in <style> blocks or style attributes.
_SCRIPT_SRC = re.compile(r"<script\b[^>]*?\bsrc\s*=\s*[\"']?([^\"'\s>]+)", re.IGNORECASE)
_LINK_TAG = re.compile(r"<link\b[^>]*>", re.IGNORECASE)
_LINK_HREF = re.compile(r"\bhref\s*=\s*[\"']?([^\"'\s>]+)", re.IGNORECASE)
_LINK_REL = re.compile(r"\brel\s*=\s*[\"']?([^\"'>]+)", re.IGNORECASE)
_LOADED_RELS = {"stylesheet", "preload", "modulepreload", "prefetch", "icon", "manifest",
                "font", "preconnect", "dns-prefetch"}
_CSS_URL = re.compile(r"(?:url\(\s*[\"']?|@import\s+[\"'])((?:https?:)?//[^\"')\s]+)",
                      re.IGNORECASE)


def mathjax_source() -> Path:
    """The folder of MathJax 3 files inside the installed ``sphinx-mathjax-offline``."""
    try:
        dist = metadata.distribution(MATHJAX_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise RuntimeError(
            f"{MATHJAX_DISTRIBUTION} is not installed: it is pinned in requirements.lock"
        ) from None
    folder = Path(dist.locate_file(_MATHJAX_FOLDER))
    if not (folder / Path(MATHJAX_COMPONENT).name).is_file():
        raise RuntimeError(f"no MathJax component {MATHJAX_COMPONENT} in {folder}")
    return folder


def is_remote(url: str) -> bool:
    """True for an ``http(s)://`` or protocol-relative ``//host`` address."""
    return bool(_REMOTE.match(url.strip()))


def remote_references(html: str) -> list[str]:
    """Remote addresses that a page *loads*: script sources, stylesheets, fonts and other
    ``<link>`` resources, CSS ``url()``/``@import``.  Links in the text (``<a href>``) are
    not loads and are not listed."""
    found = [url for url in _SCRIPT_SRC.findall(html) if is_remote(url)]
    for tag in _LINK_TAG.findall(html):
        href, rel = _LINK_HREF.search(tag), _LINK_REL.search(tag)
        rels = set(rel.group(1).lower().split()) if rel else set()
        if href and is_remote(href.group(1)) and rels & _LOADED_RELS:
            found.append(href.group(1))
    found += _CSS_URL.findall(html)
    return found


def _is_thebe(asset) -> bool:
    name = str(getattr(asset, "filename", "") or "")
    body = str(getattr(asset, "attributes", {}).get("body", ""))
    return "thebe" in name.lower() or "THEBE_JS_URL" in body


def _keep(asset) -> bool:
    name = str(getattr(asset, "filename", "") or "")
    return not is_remote(name) and not _is_thebe(asset)


def _config_inited(app, config) -> None:
    if not config.mathjax_path or is_remote(config.mathjax_path):
        config.mathjax_path = MATHJAX_COMPONENT


def _builder_inited(app) -> None:
    from sphinx.util.fileutil import copy_asset

    if app.builder.format != "html":
        return
    # Copied before the pages are written, so that a build that stops on a warning still
    # leaves pages that render their math.  latest.js (which would fetch the newest MathJax
    # from a CDN) and the Node.js entry point are left out.
    copy_asset(str(mathjax_source()), str(Path(app.outdir) / "_static" / "mathjax"),
               excluded=lambda path: Path(path).name in _MATHJAX_LEFT_OUT)


def _page_context(app, pagename, templatename, context, doctree) -> None:
    for key in ("script_files", "css_files"):
        if key in context:
            context[key] = [asset for asset in context[key] if _keep(asset)]
    # pydata-sphinx-theme's page template reads the colour mode from `default_mode`, which
    # nothing sets: its script then logs "Got invalid theme mode" on a reader's first visit.
    if not context.get("default_mode"):
        context["default_mode"] = "auto"
    if isinstance(context.get("body"), str):
        context["body"] = _THEBE_CONFIG.sub("", context["body"])


def _build_finished(app, exception) -> None:
    from sphinx.util import logging

    if exception is not None or app.builder.format != "html":
        return
    logger = logging.getLogger(__name__)
    outdir = Path(app.outdir)
    pages = [p for p in sorted(outdir.rglob("*.html"))
             if "_static" not in p.relative_to(outdir).parts]
    for page in pages + sorted(outdir.rglob("*.css")):
        text = page.read_text(encoding="utf-8", errors="replace")
        remote = _CSS_URL.findall(text) if page.suffix == ".css" else remote_references(text)
        if remote:
            logger.warning(
                "%s loads from the network: %s", page.relative_to(outdir), ", ".join(remote),
                type="srlm", subtype="remote",
            )


def _plain_status_words() -> None:
    from myst_nb.ext import execution_tables

    execution_tables._key2transform["succeeded"] = lambda ok: STATUS_WORDS[ok is True]


def setup(app):
    _plain_status_words()
    app.connect("config-inited", _config_inited, priority=900)
    app.connect("builder-inited", _builder_inited)
    # After sphinx.ext.mathjax and sphinx-thebe have added their assets (priority 500).
    app.connect("html-page-context", _page_context, priority=900)
    app.connect("build-finished", _build_finished)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
