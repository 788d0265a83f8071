"""The book's chapters execute ahead of Sphinx's reads, in parallel, into the execution cache
(:func:`srlm_core.publishing.bookcache.execute_ahead`).  A module of its own, so that its
builds and those of test_bookcache.py run on different pytest-xdist workers."""

import subprocess
import sys
from pathlib import Path

import pytest

BOOK_CONFIG = """\
title: parallel execution test
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
    srlm_execution_workers: 2
    nb_execution_raise_on_error: true
"""
RENDEZVOUS = """\
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
# Chapter {me}

```{{code-cell}} ipython3
import os, pathlib, time
pathlib.Path("{me}.started").write_text(os.environ["SRLM_NOTEBOOK"])
deadline = time.monotonic() + 60
while not pathlib.Path("{other}.started").exists():  # only a parallel run gets past this
    assert time.monotonic() < deadline, "{other} did not start while {me} ran"
    time.sleep(0.1)
{code}
```
"""


def _two_chapter_book(tmp_path, code_b: str = "") -> tuple[Path, list[str]]:
    """A book of two rendezvous chapters (b ends with ``code_b``) and its build command."""
    root = tmp_path / "repo"
    (root / "srlm_core").mkdir(parents=True)
    book = tmp_path / "book"
    book.mkdir()
    (book / "_config.yml").write_text(BOOK_CONFIG.format(root=root))
    (book / "_toc.yml").write_text("format: jb-book\nroot: a\nchapters:\n  - file: b\n")
    (book / "a.md").write_text(RENDEZVOUS.format(me="a", other="b", code=""))
    (book / "b.md").write_text(RENDEZVOUS.format(me="b", other="a", code=code_b))
    jb = str(Path(sys.executable).parent / "jupyter-book")
    return book, [jb, "build", str(book), "-W", "-q"]


@pytest.mark.slow
def test_chapters_execute_in_parallel_ahead_of_the_reads_and_are_cached(tmp_path):
    """Each chapter waits until the other has started, so the build passes only if both
    execute at once; each kernel is told its own chapter; a second build reads the cache."""
    book, command = _two_chapter_book(tmp_path)
    subprocess.run(command, check=True, capture_output=True)
    for name in "ab":
        assert (book / f"{name}.started").read_text() == str(book / f"{name}.md")
        (book / f"{name}.started").unlink()
        (book / f"{name}.md").touch()
    subprocess.run(command, check=True, capture_output=True)
    assert not (book / "a.started").exists() and not (book / "b.started").exists()


@pytest.mark.slow
def test_a_failing_chapter_fails_the_build_naming_it(tmp_path):
    book, command = _two_chapter_book(tmp_path, code_b="raise ValueError('broken chapter')")
    proc = subprocess.run(command, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "executing b failed" in proc.stdout + proc.stderr
    assert "broken chapter" in proc.stdout + proc.stderr
