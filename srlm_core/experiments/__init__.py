"""Experiments: the code behind every figure and table of the book.

An experiment module defines

* ``Config``: a frozen dataclass of its parameters, with defaults that are the chapter's
  run; ``validate()`` raises :class:`srlm_core.ConfigError` naming the bad field;
* ``run(config) -> dict``: pure and seeded, returns plain JSON-serialisable values;
* ``plot(values)`` (and, where a chapter shows several, ``plot_<what>(values)``): returns
  a matplotlib figure drawn from the values alone;
* optionally ``summarise(values) -> dict``: the derived numbers and verdict words a chapter
  glues.

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

A ``timings`` entry of the values (machine-dependent seconds) goes to the record's
provenance.  The experiments too heavy for a chapter are *sweeps*, listed in :data:`SWEEPS`,
whose records sit in ``data/results/<NAME>.json``.
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
