"""The book's execution cache is keyed by srlm_core, data/ and requirements.lock."""

import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from srlm_core.publishing import bookcache, report


def make_tree(root: Path) -> Path:
    (root / "srlm_core" / "__pycache__").mkdir(parents=True)
    (root / "srlm_core" / "policy.py").write_text("X = 1\n")
    (root / "data" / "results").mkdir(parents=True)
    (root / "data" / "results" / "r.json").write_text("{}\n")
    (root / "requirements.lock").write_text("torch==2.13.0\n")
    return root


@pytest.mark.parametrize(
    "edit",
    [
        lambda r: (r / "srlm_core" / "policy.py").write_text("X = 2\n"),
        lambda r: (r / "srlm_core" / "new.py").write_text(""),
        lambda r: (r / "data" / "results" / "r.json").write_text('{"a": 1}\n'),
        lambda r: (r / "requirements.lock").write_text("torch==2.14.0\n"),
    ],
)
def test_editing_an_input_changes_the_fingerprint(tmp_path, edit):
    root = make_tree(tmp_path)
    before = bookcache.fingerprint(root)
    assert bookcache.fingerprint(root) == before  # deterministic
    edit(root)
    assert bookcache.fingerprint(root) != before


def test_bytecode_and_temporary_files_do_not_count(tmp_path):
    root = make_tree(tmp_path)
    before = bookcache.fingerprint(root)
    (root / "srlm_core" / "__pycache__" / "policy.cpython-311.pyc").write_bytes(b"\0")
    (root / "data" / "results" / ".r.json.123.tmp").write_text("partial")
    assert bookcache.fingerprint(root) == before


def test_config_keys_the_cache_folder_and_prunes_stale_ones(tmp_path, monkeypatch):
    root = make_tree(tmp_path / "repo")
    # _config_inited sets the variable in os.environ: setenv first so that monkeypatch
    # records its prior state (absent) and restores it; delenv alone records nothing
    monkeypatch.setenv(report.LIVE_DIR_ENV, "")
    monkeypatch.delenv(report.LIVE_DIR_ENV)
    stale = tmp_path / "build" / ".jupyter_cache" / "srlm-0000000000000000"
    stale.mkdir(parents=True)
    app = SimpleNamespace(outdir=str(tmp_path / "build" / "html"), confdir=str(tmp_path))

    def config():
        return SimpleNamespace(
            srlm_fingerprint_root=str(root),
            srlm_fingerprint_inputs=list(bookcache.FINGERPRINT_INPUTS),
            nb_execution_cache_path="",
        )

    first = config()
    bookcache._config_inited(app, first)
    keyed = tmp_path / "build" / ".jupyter_cache" / f"srlm-{first.srlm_fingerprint[:16]}"
    assert first.nb_execution_cache_path == str(keyed / "jupyter")
    assert report.live_dir() == keyed / "live-results"
    assert not stale.exists()

    (root / "srlm_core" / "policy.py").write_text("X = 2\n")  # edit srlm_core
    second = config()
    bookcache._config_inited(app, second)
    assert second.nb_execution_cache_path != first.nb_execution_cache_path


BOOK_CONFIG = """\
title: cache test
only_build_toc_files: true
execute:
  execute_notebooks: cache
  run_in_temp: false
sphinx:
  extra_extensions: [srlm_core.publishing.bookcache]
  config:
    srlm_fingerprint_root: {root}
    srlm_fingerprint_inputs: [srlm_core]
    srlm_always_reread: []
"""

CHAPTER = """\
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
# Counter

```{code-cell} ipython3
with open("executions.txt", "a") as handle:
    handle.write("ran\\n")
```
"""


@pytest.mark.slow
def test_editing_srlm_core_reexecutes_a_cached_chapter(tmp_path):
    """Build twice (the second build is served from the cache), edit a file under srlm_core,
    build again: the chapter executes again."""
    root = make_tree(tmp_path / "repo")
    book = tmp_path / "book"
    book.mkdir()
    (book / "_config.yml").write_text(BOOK_CONFIG.format(root=root))
    (book / "_toc.yml").write_text("format: jb-book\nroot: counter\n")
    (book / "counter.md").write_text(textwrap.dedent(CHAPTER))
    counter = book / "executions.txt"
    jb = str(Path(sys.executable).parent / "jupyter-book")

    def build() -> int:
        (book / "counter.md").touch()  # Sphinx re-reads it; only the cache can skip execution
        subprocess.run([jb, "build", str(book), "-W", "-q"], check=True, capture_output=True)
        return len(counter.read_text().splitlines())

    assert build() == 1
    assert build() == 1  # unchanged inputs: served from the cache
    (root / "srlm_core" / "policy.py").write_text("X = 2\n")
    assert build() == 2  # srlm_core changed: executed again

