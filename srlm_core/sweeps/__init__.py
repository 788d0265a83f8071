"""Sweeps: experiments too heavy for a chapter, run by ``srlm sweep NAME`` into the registry.

A sweep is a module of this package listed in ``SWEEPS`` that defines

* ``Config``: a frozen dataclass of its parameters (int, float or str fields with defaults),
  with a ``validate()`` method raising :class:`srlm_core.ConfigError`;
* ``TITLE``: one line saying what the result is;
* ``TOLERANCE``: ``{"rtol": ..., "atol": ...}`` for ``srlm results verify``;
* ``run(config) -> dict``: the values to store (JSON-serialisable).

``srlm sweep NAME`` writes the record ``data/results/<NAME>.json`` (or ``--id``) with the
parameters, the exact regenerating command and the provenance.
"""

from __future__ import annotations

import importlib
from types import ModuleType

SWEEPS: tuple[str, ...] = ("iterative", "effective_dimension")


def load_sweep(name: str) -> ModuleType:
    return importlib.import_module(f"srlm_core.sweeps.{name.replace('-', '_')}")
