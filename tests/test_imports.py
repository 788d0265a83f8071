"""The package's import layers, walked from the source (every ``import`` of ``srlm_core``, also
those inside functions): a module imports only from its own layer or lower ones, the import
graph has no loop, and only ``publishing`` writes result records.

Layers, lowest first: the core modules (``errors``, ``stats``, ``threads``, ``device``,
``parallel``), the derivations (``theory``), the model world (``model``), the record and book
machinery (``publishing``), the language-model library (``lm``), the experiments
(``experiments``) and the command line (``cli``).  The imports and writers that break these
rules today are listed below as known debts: a new one fails the test, and so does a listed
one that is gone (so that the list only shrinks).  No two modules of the package, and no two
test modules, share a file name: a repeated name forces import aliases and makes tracebacks and
``git grep`` ambiguous."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import srlm_core

PACKAGE = Path(srlm_core.__file__).parent
LAYERS = {"theory": 1, "model": 2, "publishing": 3, "lm": 4, "experiments": 5, "cli": 6}
#: Upward imports that remain to be removed: (importing module, imported module).
KNOWN_UPWARD: set[tuple[str, str]] = set()
#: Import loops that remain to be broken (the modules of each strongly connected part).
KNOWN_LOOPS: list[set[str]] = []
#: Modules outside publishing that write result records.
KNOWN_WRITERS: set[str] = set()


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ("srlm_core",) + path.relative_to(PACKAGE).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the package modules it imports (``from a import b`` counts ``a.b`` when
    that is a module, else ``a``)."""

    def known(name: str) -> str:
        while name not in modules:
            name = name.rpartition(".")[0]
        return name

    graph = defaultdict(set)
    for module, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and \
                    node.module.split(".")[0] == "srlm_core":
                names = [f"{node.module}.{alias.name}" for alias in node.names]
                targets = [known(n) if n in modules else known(node.module) for n in names]
            elif isinstance(node, ast.Import):
                targets = [known(a.name) for a in node.names
                           if a.name.split(".")[0] == "srlm_core"]
            else:
                continue
            graph[module].update(t for t in targets if t != module)
    return graph


def _layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS.get(parts[1], 0) if len(parts) > 1 else 0


def _loops(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected parts with more than one module (Tarjan)."""
    index, low, stack, on, loops = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = set()
            while not part or w != v:
                w = stack.pop()
                on.discard(w)
                part.add(w)
            if len(part) > 1:
                loops.append(part)

    for v in list(graph):
        if v not in index:
            visit(v)
    return loops


def test_no_import_climbs_a_layer_beyond_the_known_debts():
    graph = _graph(_modules())
    upward = {(m, t) for m, targets in graph.items() for t in targets
              if _layer(t) > _layer(m)}
    assert upward - KNOWN_UPWARD == set(), "a new import from a lower layer to a higher one"
    assert KNOWN_UPWARD - upward == set(), "a known debt is paid: remove it from the list"


def test_no_import_loop_beyond_the_known_debts():
    loops = _loops(_graph(_modules()))
    assert sorted(map(sorted, loops)) == sorted(map(sorted, KNOWN_LOOPS))


def test_only_publishing_writes_records_beyond_the_known_debts():
    writers = {m for m, path in _modules().items()
               if "write_record(" in path.read_text() and _layer(m) != LAYERS["publishing"]}
    assert writers == KNOWN_WRITERS


def test_the_walk_finds_what_it_should():
    graph = _graph(_modules())
    assert "srlm_core.publishing.results" in graph["srlm_core.publishing.pipeline"]
    assert _layer("srlm_core.errors") == 0 and _layer("srlm_core.cli.run") == 6
    assert _loops({"a": {"b"}, "b": {"a", "c"}, "c": set()}) == [{"a", "b"}]


def _repeated_names(files) -> dict[str, list[str]]:
    by_name = defaultdict(list)
    for path in files:
        by_name[path.name].append(str(path))
    return {name: sorted(paths) for name, paths in by_name.items() if len(paths) > 1}


def test_no_two_package_modules_share_a_file_name():
    """A repeated file name forces import aliases and makes tracebacks and ``git grep``
    ambiguous; ``__init__.py`` and ``__main__.py`` are the exceptions."""
    files = [p for p in PACKAGE.rglob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert _repeated_names(p.relative_to(PACKAGE) for p in files) == {}


def test_no_two_test_modules_share_a_file_name():
    tests = Path(__file__).parent
    files = [p for p in tests.rglob("*.py") if p.name not in ("__init__.py", "conftest.py")]
    assert _repeated_names(p.relative_to(tests) for p in files) == {}
