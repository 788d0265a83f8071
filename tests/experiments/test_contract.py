"""Every experiment module keeps the contract of :mod:`srlm_core.experiments`: a frozen
``Config`` with ``validate``, a documented ``run``, and defaults that validate."""

import dataclasses
import importlib
import pkgutil

import pytest

from srlm_core import experiments
from srlm_core.options import supports

#: The endings of the modules that hold a part of an experiment (its analysis, its chapter's
#: numbers, its figures, its glue names) and define no ``Config`` or ``run`` of their own.
PARTS = ("_analysis", "_chapter", "_figures", "_names")
#: The experiment modules, dotted below :mod:`srlm_core.experiments` (those of the paper's own
#: setting in its subpackage ``sharpening``), in the order of their file names.
MODULES = sorted((info.name.removeprefix("srlm_core.experiments.")
                  for info in pkgutil.walk_packages(experiments.__path__, "srlm_core.experiments.")
                  if not info.ispkg and not info.name.endswith(PARTS)),
                 key=lambda name: name.rpartition(".")[2])


@pytest.mark.parametrize("name", MODULES)
def test_module_has_a_frozen_config_and_a_documented_run(name):
    module = importlib.import_module(f"srlm_core.experiments.{name}")
    assert module.__doc__, name
    config_cls = module.Config
    assert dataclasses.is_dataclass(config_cls) and config_cls.__dataclass_params__.frozen
    assert callable(module.run) and module.run.__doc__, f"{name}.run needs a docstring"
    config = config_cls()
    assert config.validate() == config  # the chapter's defaults are valid


def test_every_experiment_runs_from_the_command_line():
    """``srlm run NAME`` finds every experiment module (without importing them), and most
    configs are options alone (the rest set a field in a --config file)."""
    assert experiments.names() == [name.rpartition(".")[2].replace("_", "-") for name in MODULES]
    assert "sharpening.sharpening_budget" in MODULES  # the subpackage is scanned too
    runnable = [name for name in MODULES
                if supports(importlib.import_module(f"srlm_core.experiments.{name}").Config)]
    assert len(runnable) >= len(MODULES) - 4, sorted(set(MODULES) - set(runnable))


def test_tables_of_names_rename_quantities_and_name_only_listed_points():
    row = {"slope": "slope_a25", "lo": "slope_a25_lo"}
    assert experiments.named(row, slope=-0.3, lo=-0.4) == {"slope_a25": -0.3, "slope_a25_lo": -0.4}
    assert experiments.named(None, slope=-0.3) == {}  # a grid point the table does not list
    with pytest.raises(KeyError):
        experiments.named(row, hi=0.0)  # a quantity the row lacks
    assert experiments.row_names(("a", "b", "c"), ("x_a", "x_b")) == {"a": "x_a", "b": "x_b"}
    assert experiments.row_names(("a",), None) is None
    params = {"tau": 1.0, "beta": 2.0, "seed": 3}
    assert experiments.renamed(params, {"beta": "cfg_beta", "tau": "cfg_tau"}) == {
        "cfg_beta": 2.0, "cfg_tau": 1.0}
