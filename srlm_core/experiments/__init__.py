"""Experiments: the code behind every figure and table of the book.

An experiment module defines

* ``Config``: a frozen dataclass of its parameters, with defaults that are the chapter's
  run; ``validate()`` raises :class:`srlm_core.ConfigError` naming the bad field;
* ``run(config) -> dict``: pure and seeded, returns plain JSON-serialisable values;
* ``plot(values)`` (and, where a chapter shows several, ``plot_<what>(values)``): returns
  a matplotlib figure drawn from the values alone;
* optionally ``summarise(values) -> dict``: the derived numbers and verdict words a chapter
  glues, by glue name.  Every glue name is written out as a literal, so that ``git grep
  NAME`` leads from a number in the book to the line that computes it; names that vary with
  a grid (a share, a sample size) come from a table of literal names per point of the book's
  grid, looked up with :func:`named` (a point the table does not list is not glued).

A chapter calls ``values = module.run(module.Config())`` and ``module.plot(values)``; the
caption of the figure links to the module's entry in the API appendix.  The experiments too
heavy for a chapter are *sweeps*, listed in :data:`SWEEPS`: they also define ``TITLE`` (one
line saying what the result is) and ``TOLERANCE`` (``{"rtol": ..., "atol": ...}`` for
``srlm results verify``), and ``srlm sweep NAME`` writes their values into the record
``data/results/<NAME>.json`` with the parameters, the regenerating command and the
provenance.
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: Experiments run by ``srlm sweep NAME`` into the results registry.
SWEEPS: tuple[str, ...] = ("iterative", "effective_dimension")


def load_sweep(name: str) -> ModuleType:
    """The experiment module behind ``srlm sweep NAME`` (dashes or underscores)."""
    return importlib.import_module(f"srlm_core.experiments.{name.replace('-', '_')}")


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
