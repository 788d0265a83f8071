"""Experiments: the code behind every figure and table of the book.

An experiment module defines

* ``Config``: a frozen dataclass of its parameters, with defaults that are the chapter's
  run and a help sentence per field (:func:`srlm_core.options.option`); ``validate()``
  raises :class:`srlm_core.ConfigError` naming the bad field;
* ``run(config) -> dict``: pure and seeded, returns plain JSON-serialisable values;
* ``plot(values)`` (and, where a chapter shows several, ``plot_<what>(values)``): returns
  a matplotlib figure drawn from the values alone;
* optionally ``summarise(values) -> dict``: the derived numbers and verdict words a chapter
  glues, by glue name.  Every glue name is written out as a literal, so that ``git grep
  NAME`` leads from a number in the book to the line that computes it; names that vary with
  a grid (a share, a sample size) come from a table of literal names per point of the book's
  grid, looked up with :func:`named` (a point the table does not list is not glued).

A chapter calls ``values = module.run(module.Config())`` and ``module.plot(values)``; the
caption of the figure links to the module's entry in the API appendix.  Any experiment's
values become a result record through :mod:`srlm_core.publishing.pipeline`, which reads, where
the module defines them,

* ``TITLE``: one line saying what the result is (else the docstring's first line), or
  ``title(config)`` where it depends on the config;
* ``TOLERANCE``: ``{"rtol": ..., "atol": ...}`` for ``srlm results verify``;
* ``CODE``: repository paths of the code behind the record besides the module itself;
* ``provenance(config) -> dict``: entries added to the record's provenance (the
  language-model experiments: the model's identity);
* a ``run(config, workdir)`` that takes a work folder: the experiment is resumable, and the
  pipeline gives it a folder keyed by the config and the code.

A module that holds a part of an experiment and defines no ``Config`` or ``run`` of its own
ends in ``_analysis`` (the statistics of its values), ``_chapter`` (a chapter's glued numbers,
figures and tables), ``_figures`` (its figures) or ``_names`` (tables of glue names); it is
not an experiment.

A ``timings`` entry of the values (machine-dependent seconds) goes to the record's
provenance.  ``srlm run NAME`` runs any of them into its record (:func:`names` lists them);
the records of the experiments too heavy for a chapter (*sweeps*) sit in
``data/results/<NAME>.json``.

Where each model's experiments sit: those of the paper's own setting (log-likelihood
self-reward, each round's reference the current policy, the squared-loss sharpening update
iterated) in the subpackage :mod:`srlm_core.experiments.sharpening`, as its model and theory
sit in :mod:`srlm_core.model.sharpening` and :mod:`srlm_core.theory.sharpening`; those of the
book's extension (a judge with a signal share alpha) and the shared machinery here, at the top
of the package.  :func:`names` and :func:`load` find an experiment in either place by its
command-line name (module file names are unique across the package), so where a module sits
does not change its name.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
from pathlib import Path
from types import ModuleType

from srlm_core.errors import ConfigError

_FOLDER = Path(__file__).parent


def _module_files() -> dict[str, Path]:
    """The public module files of this package and of its subpackages (one level down, e.g.
    ``sharpening/``), by file stem: module file names are unique across the package."""
    paths = [*_FOLDER.glob("*.py"), *(path for init in _FOLDER.glob("*/__init__.py")
                                      for path in init.parent.glob("*.py"))]
    return {path.stem: path for path in sorted(paths) if not path.stem.startswith("_")}


def _tree(path: Path | None) -> ast.Module | None:
    return ast.parse(path.read_text()) if path is not None else None


def _is_experiment(tree: ast.Module | None) -> bool:
    defined = set()
    for node in tree.body if tree else ():
        if isinstance(node, ast.ClassDef | ast.FunctionDef):
            defined.add(node.name)
        elif isinstance(node, ast.ImportFrom):
            defined.update(alias.asname or alias.name for alias in node.names)
    return {"Config", "run"} <= defined


def names() -> list[str]:
    """The experiments by their command-line name (dashes): the modules of this package and of
    its subpackages that define ``Config`` and ``run``, found in their source without importing
    them."""
    return [stem.replace("_", "-") for stem, path in sorted(_module_files().items())
            if _is_experiment(_tree(path))]


def summary(docstring: str | None) -> str:
    """The first paragraph of a docstring, in one line: an experiment's purpose."""
    return " ".join((docstring or "").split("\n\n")[0].split())


def purpose(name: str) -> str:
    """The purpose of experiment ``name`` (:func:`summary`), read without importing it."""
    return summary(ast.get_docstring(_tree(_module_files().get(name.replace("-", "_")))))


def load(name: str) -> ModuleType:
    """The experiment module ``name`` (dashes or underscores), in this package or a subpackage;
    ConfigError naming ``name`` when there is none."""
    stem = name.replace("-", "_")
    path = _module_files().get(stem)
    parts = path.relative_to(_FOLDER).with_suffix("").parts if path is not None else (stem,)
    module_name = ".".join((__name__, *parts))
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name != module_name:
            raise
        module = None
    if not (hasattr(module, "Config") and hasattr(module, "run")):
        raise ConfigError("name", f"no experiment {name!r}; srlm run --help lists them")
    return module


@contextlib.contextmanager
def seeded_global_random(seed: int = 0):
    """Seed numpy's global generator inside the block and restore its state after: seaborn's
    ``stripplot`` jitters its points with ``np.random.uniform`` and takes no seed, so without
    this a figure's bytes would depend on whatever drew from the global generator before."""
    import numpy as np

    state = np.random.get_state()  # noqa: NPY002 - the global generator is the point
    np.random.seed(seed)  # noqa: NPY002
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002


def doubling_grid(lo: int, hi: int) -> list[int]:
    """``lo, 2 lo, 4 lo, ...`` up to ``hi``: the sample sizes of the sweeps over n."""
    grid = []
    while lo <= hi:
        grid.append(lo)
        lo *= 2
    return grid


def named(names: dict[str, str] | None, **values) -> dict:
    """``values`` under the glue names of one row of a table of literal names: ``{names[key]:
    value}``, in the order given (a KeyError names a quantity the row lacks).  ``names`` is
    None for a grid point the table does not list (``TABLE.get(point)``): nothing is named."""
    return {} if names is None else {names[key]: value for key, value in values.items()}


def row_names(fields: tuple[str, ...], row: tuple[str, ...] | None) -> dict[str, str] | None:
    """A tuple row of a table of literal names as ``{field: name}``, the names in the order of
    ``fields`` (a row may stop before the last fields); None (a grid point the table does not
    list) stays None, for :func:`named`."""
    return None if row is None else dict(zip(fields, row))


def renamed(values: dict, names: dict[str, str]) -> dict:
    """The entries of ``values`` that a table of literal names lists, under their glue names, in
    the table's order: ``{name: values[key] for key, name in names.items()}``."""
    return {name: values[key] for key, name in names.items()}
