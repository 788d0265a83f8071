"""Sphinx extension: re-execute the chapters when the code or data they depend on change.

jupyter-cache keys an executed notebook by its code cells only, so editing ``srlm_core``, a
result record in ``data/`` or ``requirements.lock`` would leave stale outputs in the book.
This extension fingerprints those inputs (sha256 over every file's path and content,
:func:`fingerprint`) and keys the execution cache folder by it::

    <build>/.jupyter_cache/srlm-<fingerprint[:16]>/jupyter        jupyter-cache of myst-nb
    <build>/.jupyter_cache/srlm-<fingerprint[:16]>/live-results   live result records

A changed fingerprint therefore means an empty cache (every chapter executes again) and, as
``nb_execution_cache_path`` changes, Sphinx re-reads every document.  Folders of other
fingerprints are deleted.  The extension also

* exports ``SRLM_LIVE_RESULTS_DIR`` (the live-results folder above) and, for each document
  being read, ``SRLM_NOTEBOOK`` (its source path) to the kernels
  (:mod:`srlm_core.publishing.report`);
* re-reads the documents listed in ``srlm_always_reread`` (the Reproducibility appendix,
  which summarises the other chapters) on every build;
* executes the notebooks about to be read that the cache lacks before Sphinx reads any
  (:func:`execute_ahead`): ``srlm_execution_workers`` kernels at a time (default: one per
  core), the documents of ``srlm_execute_first`` (the longest) first, each result cached as
  myst-nb would cache it, so that the reads, and a later build of another format, only read
  the cache.  With ``nb_execution_raise_on_error`` a failing cell stops the build, as in
  myst-nb; without, the notebook is left to myst-nb, which executes it again and reports it.

Enable it in ``book/_config.yml``::

    sphinx:
      extra_extensions:
        - srlm_core.publishing.bookcache
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from srlm_core.publishing.provenance import REPO_ROOT
from srlm_core.publishing.report import LIVE_DIR_ENV, NOTEBOOK_ENV
from srlm_core.threads import worker_environment

#: Repository paths whose content keys the execution cache.
FINGERPRINT_INPUTS = ("srlm_core", "data", "requirements.lock")
_PREFIX = "srlm-"


def _files(root: Path, entry: str) -> list[Path]:
    path = root / entry
    if path.is_file():
        return [path]
    return sorted(
        p
        for p in path.rglob("*")
        if p.is_file()
        and "__pycache__" not in p.parts
        and p.suffix not in {".pyc", ".tmp"}
        and not p.name.startswith(".")
    )


def fingerprint(root: Path = REPO_ROOT, inputs=FINGERPRINT_INPUTS) -> str:
    """sha256 over (relative path, content hash) of every input file, in sorted order."""
    root = Path(root)
    digest = hashlib.sha256()
    for entry in sorted(inputs):
        for path in _files(root, entry):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def keyed_cache_folder(base: Path, fp: str) -> Path:
    """The cache folder for fingerprint ``fp``; deletes folders of other fingerprints."""
    keyed = Path(base) / f"{_PREFIX}{fp[:16]}"
    if Path(base).is_dir():
        for stale in Path(base).glob(f"{_PREFIX}*"):
            if stale != keyed and stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
    return keyed


def _config_inited(app, config) -> None:
    fp = fingerprint(Path(config.srlm_fingerprint_root), tuple(config.srlm_fingerprint_inputs))
    config.srlm_fingerprint = fp
    base = config.nb_execution_cache_path or Path(app.outdir).parent / ".jupyter_cache"
    base = Path(base) if Path(base).is_absolute() else Path(app.confdir) / base
    keyed = keyed_cache_folder(base.resolve(), fp)
    config.nb_execution_cache_path = str(keyed / "jupyter")
    os.environ[LIVE_DIR_ENV] = str(keyed / "live-results")


def _source_read(app, docname, source) -> None:
    os.environ[NOTEBOOK_ENV] = str(app.env.doc2path(docname))


def _execute(notebook, path: Path, timeout: int, allow_errors: bool, workers: int = 1):
    """Execute ``notebook`` (read from ``path``) in a kernel started in its folder and told
    its source (``SRLM_NOTEBOOK``), with its share of the cores for ``workers`` kernels at a
    time (:func:`srlm_core.threads.worker_environment`); the executed notebook, seconds and
    any error's traceback."""
    import time
    import traceback

    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    client = NotebookClient(notebook, timeout=timeout, allow_errors=allow_errors,
                            record_timing=False,  # cell metadata is part of the cache key
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    try:
        client.execute(env={**os.environ, **worker_environment(workers),
                            NOTEBOOK_ENV: str(path)})
    except (CellExecutionError, CellTimeoutError):
        return notebook, time.perf_counter() - start, traceback.format_exc()
    return notebook, time.perf_counter() - start, None


def _cached(cache, notebook) -> bool:
    """Whether the jupyter-cache ``cache`` holds an execution of ``notebook``'s code."""
    try:
        cache.match_cache_notebook(notebook)
    except KeyError:
        return False
    return True


def execute_ahead(app, env, docnames) -> None:
    """Execute the notebooks among ``docnames`` that run in ``cache`` mode and are not in the
    cache yet, over ``srlm_execution_workers`` threads (each waits on its own kernel), and
    cache them; with ``nb_execution_raise_on_error``, raise on the first failing notebook."""
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn
    from myst_nb.core.read import create_nb_reader
    from sphinx.errors import ExtensionError

    nb_config = env.mystnb_config
    cache = get_cache(nb_config.execution_cache_path)
    first = {doc: i for i, doc in enumerate(app.config.srlm_execute_first)}
    jobs = []
    for doc in sorted(docnames, key=lambda doc: (first.get(doc, len(first)), doc)):
        path = Path(env.doc2path(doc))
        content = path.read_text(encoding="utf-8")
        reader = create_nb_reader(str(path), env.myst_config, nb_config, content)
        if reader is None:
            continue
        notebook = reader.read(content)
        mode = notebook.metadata.get(nb_config.metadata_key, {}).get(
            "execution_mode", nb_config.execution_mode)
        if mode != "cache" or _cached(cache, notebook):
            continue
        jobs.append((doc, path, notebook, reader.read_fmt))
    if not jobs:
        return
    workers = min(app.config.srlm_execution_workers or os.cpu_count() or 1, len(jobs))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        running = {pool.submit(_execute, notebook, path, nb_config.execution_timeout,
                               nb_config.execution_allow_errors, workers): (doc, path, read_fmt)
                   for doc, path, notebook, read_fmt in jobs}
        for future in as_completed(running):
            doc, path, read_fmt = running[future]
            notebook, seconds, failure = future.result()
            if failure is not None:
                if not nb_config.execution_raise_on_error:
                    continue  # left uncached: myst-nb executes it again and reports it
                pool.shutdown(cancel_futures=True)
                raise ExtensionError(f"executing {doc} failed:\n{failure}")
            staged = cache.add_nb_to_project(str(path), read_data=read_fmt)
            cache.cache_notebook_bundle(
                CacheBundleIn(notebook, staged.uri, data={"execution_seconds": seconds}),
                check_validity=False, overwrite=True)


def _always_outdated(app, env, added, changed, removed) -> list[str]:
    return [doc for doc in app.config.srlm_always_reread if doc in env.found_docs]


def setup(app):
    app.add_config_value("srlm_fingerprint_root", str(REPO_ROOT), "env")
    app.add_config_value("srlm_fingerprint_inputs", list(FINGERPRINT_INPUTS), "env")
    app.add_config_value("srlm_fingerprint", "", "env")
    app.add_config_value("srlm_always_reread", ["reproducibility"], "env")
    app.add_config_value("srlm_execution_workers", 0, "")
    app.add_config_value("srlm_execute_first", [], "")
    app.connect("config-inited", _config_inited, priority=400)
    app.connect("source-read", _source_read)
    app.connect("env-get-outdated", _always_outdated)
    app.connect("env-before-read-docs", execute_ahead)
    # Parallel reads fork workers that each read documents one by one: SRLM_NOTEBOOK stays right.
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
