"""Chapter-side provenance: glue numbers and figures together with the result they come from.

Every number and figure in the book names its *result ID*, the command that regenerates it and
the code that computed it.  Two kinds of result:

* **registry results**, written by ``srlm run NAME`` into ``data/results/<id>.json``
  (:mod:`srlm_core.publishing.results`); the chapter loads the record with :func:`use`;
* **live results**, computed while the chapter executes.  They get a chapter-scoped ID such
  as ``ch01.population`` (declared with :func:`live`) and their regenerating command is
  ``srlm results execute book/chapters/<chapter>.md``, which executes the chapter and writes
  the same records; ``srlm results verify`` can re-run it.  During a book build the live
  records are written next to the execution cache (the folder named by the environment
  variable ``SRLM_LIVE_RESULTS_DIR``, set by :mod:`srlm_core.publishing.bookcache`) and the
  Reproducibility appendix lists them (:mod:`srlm_core.publishing.results_index`).  Outside a
  build (a notebook opened by hand) nothing is written.

Usage in a chapter::

    from srlm_core.experiments import contraction
    from srlm_core.publishing import report

    values = contraction.run(config)                       # visible: what a reader types

    with report.experiment("ch01.contraction", contraction, config) as source:
        source.glue_many(contraction.summarise(values))    # numbers and verdict words
        source.glue_interval("slope", fit.slope, fit.lo, fit.hi)  # slope, slope_lo, slope_hi
        source.glue_figure("fig-contraction", contraction.plot(values))

    with report.use("iterative", code=[iterative.summarise]) as record:  # registry record
        report.glue("floor", record.values["floor"])       # attributed to 'iterative'

and in the markdown, one caption note per figure and one block per chapter::

    ```{glue:figure} fig-contraction
    :name: fig-contraction
    The error contracts by 1 - alpha per round. {glue:md}`fig-contraction-source:myst`
    ```

    ```{code-cell} ipython3
    :tags: [remove-input]
    report.glue_summary("sources")
    ```

    ```{glue:md} sources
    :format: myst
    ```

The summary is a collapsible block listing every glued name with its value, result ID,
regenerating command and code link.  A caption's code links go to the package objects'
entries in the book's API appendix (docstring, with a link to the highlighted source).
"""

from __future__ import annotations

import inspect
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from srlm_core.options import supports
from srlm_core.publishing import pipeline
from srlm_core.publishing.provenance import REPO_ROOT
from srlm_core.publishing.results import (
    RESULTS_DIR,
    ResultError,
    ResultRecord,
    code_paths,
    load_record,
    record_path,
    write_record,
)

#: Environment variable naming the folder that receives live records (set during builds).
LIVE_DIR_ENV = "SRLM_LIVE_RESULTS_DIR"
#: Environment variable naming the chapter being executed (set during builds).
NOTEBOOK_ENV = "SRLM_NOTEBOOK"

_STARTED = time.perf_counter()


@dataclass
class Source:
    """Where glued values come from: a registry record or a live, chapter-scoped result.

    A context manager: inside ``with source:`` the module-level :func:`glue`,
    :func:`glue_interval` and :func:`glue_figure` attribute their values to it; its own
    methods of the same names do so anywhere."""

    id: str
    title: str
    command: str
    code: list[str]
    record_file: Path | None = None
    live: bool = False
    params: dict = field(default_factory=dict)
    tolerance: dict | None = None
    values: dict = field(default_factory=dict)
    #: dotted names of the package objects that compute the result (API appendix entries)
    refs: list[str] = field(default_factory=list)
    #: the registry record, for a source loaded with :func:`use`
    record: ResultRecord | None = None
    #: the values are an experiment's output; glued numbers are not added to them
    frozen: bool = False

    def __enter__(self) -> Source:
        _STATE.stack.append(self)
        return self

    def __exit__(self, *exc) -> None:
        _STATE.stack.remove(self)

    def glue(self, name: str, value, display: bool = False) -> None:
        glue(name, value, display, source=self)

    def glue_many(self, values: dict) -> None:
        """Glue every ``name: value`` of a mapping (an experiment's ``summarise``)."""
        for name, value in values.items():
            glue(name, value, source=self)

    def glue_interval(self, name: str, estimate, lo, hi) -> None:
        glue_interval(name, estimate, lo, hi, source=self)

    def glue_figure(self, name: str, fig, code=()) -> None:
        glue_figure(name, fig, source=self, code=code)


@dataclass
class _State:
    stack: list[Source] = field(default_factory=list)
    sources: dict[str, Source] = field(default_factory=dict)
    glued: list[tuple[str, str | None, str, bool]] = field(default_factory=list)
    cleared: bool = False
    provenance: dict | None = None


_STATE = _State()


def reset() -> None:
    """Forget every source and glued name (for tests)."""
    global _STATE
    _STATE = _State()


def notebook_path() -> Path | None:
    """The chapter being executed, when a build or ``srlm results execute`` says so."""
    value = os.environ.get(NOTEBOOK_ENV)
    return Path(value).resolve() if value else None


def live_dir() -> Path | None:
    value = os.environ.get(LIVE_DIR_ENV)
    return Path(value) if value else None


def _repo_relative(path: Path) -> str:
    path = Path(path).resolve()
    try:
        return path.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(path)


def code_location(obj) -> str:
    """``path#Lnn`` (repository-relative) of a function, class or module, or a path string."""
    if isinstance(obj, str | Path):
        return _repo_relative(REPO_ROOT / obj) if not Path(obj).is_absolute() else str(obj)
    target = inspect.unwrap(obj)
    try:
        path = _repo_relative(Path(inspect.getsourcefile(target)))
    except TypeError:
        raise TypeError(f"report: no Python source for {obj!r}; pass a function, class, "
                        "module or repository path") from None
    if inspect.ismodule(target):
        return path
    return f"{path}#L{inspect.getsourcelines(target)[1]}"


def api_reference(obj) -> str | None:
    """The dotted name of a function, class or module of this package (its entry in the
    book's API appendix), or None for anything else."""
    target = inspect.unwrap(obj)
    module = target.__name__ if inspect.ismodule(target) else getattr(target, "__module__", "")
    if not module or not module.startswith("srlm_core"):
        return None
    if inspect.ismodule(target):
        return module
    return f"{module}.{target.__qualname__}"


def _refs(code) -> list[str]:
    return [ref for ref in map(api_reference, (c for c in code if not isinstance(c, str | Path)))
            if ref]


def use(result_id: str, directory: Path = RESULTS_DIR, code=()) -> Source:
    """Load a registry record (validated: a corrupt record raises ResultError and fails the
    build) as a source; ``source.values`` are its values, ``source.record`` the record.
    ``code``: the package functions that analyse it in the chapter (linked in captions)."""
    record = load_record(result_id, directory)
    source = Source(
        id=record.id,
        title=record.title,
        command=record.command,
        code=code_paths(record),
        record_file=record_path(record.id, directory).resolve(),
        params=record.params,
        values=record.values,
        refs=_refs(code),
        record=record,
    )
    if result_id in _STATE.sources:
        source.refs = _merge(_STATE.sources[result_id].refs, source.refs)
    _STATE.sources[source.id] = source
    return source


def _merge(old: list[str], new: list[str]) -> list[str]:
    return old + [item for item in new if item not in old]


def live(
    result_id: str,
    title: str | None = None,
    code=(),
    params: dict | None = None,
    tolerance: dict | None = None,
) -> Source:
    """Declare a live result computed by this chapter; values glued to it are stored in its
    record.  Calling it again with the same ID (title optional) returns that result, adding
    ``code`` and ``params``.  Use it as ``with report.live(...) as source:``.

    ``code``: functions, classes, modules or repository paths that compute it; package
    objects are linked to their API entries in figure captions."""
    if result_id in _STATE.sources and _STATE.sources[result_id].live:
        source = _STATE.sources[result_id]
        source.code = _merge(source.code, [code_location(obj) for obj in code])
        source.refs = _merge(source.refs, _refs(code))
        source.params.update(params or {})
        _write_live(source)
        return source
    if not title:
        raise ResultError(result_id, "title", "a new live result needs a title")
    notebook = notebook_path()
    command = (
        f"srlm results execute {_repo_relative(notebook)}"
        if notebook
        else "srlm results execute <this chapter>"
    )
    source = Source(
        id=result_id,
        title=title,
        command=command,
        code=[code_location(obj) for obj in code],
        live=True,
        params=dict(params or {}),
        tolerance=tolerance,
        refs=_refs(code),
    )
    _STATE.sources[result_id] = source
    _write_live(source)
    return source


def experiment(result_id: str, module, config, values: dict | None = None, code=()) -> Source:
    """A live result computed by an experiment module (``Config``, ``run``, ``plot``): its
    title is the module docstring's first line, its parameters the config's fields, and its
    code ``module.run`` plus ``code``.

    Given ``values = module.run(config)`` (and a config the command line can express), the
    record holds exactly those values and the command ``srlm run NAME --field value ...``
    that recomputes them, so ``srlm results verify`` re-runs the experiment (not the
    chapter); the numbers glued to it are then derived from those values and are not stored
    again."""
    title = (module.__doc__ or result_id).strip().splitlines()[0]
    source = live(result_id, title, code=[module.run, *code], params=pipeline.parameters(config))
    if values is not None and supports(module.Config):
        source.command = pipeline.command_line(module, config, result_id)
        source.values = dict(values)
        source.frozen = True
        source.tolerance = getattr(module, "TOLERANCE", None)
        _write_live(source)
    return source


def _jsonable(value):
    """A JSON form of a glued value for the record, or None when it is not a value (figure)."""
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return float(value)
    if hasattr(value, "data") and isinstance(getattr(value, "data", None), str):
        return value.data  # IPython Math / Latex / Markdown: the rendered source
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()  # numpy or torch scalar
    if hasattr(value, "tolist"):
        try:
            out = value.tolist()
            return out if len(json.dumps(out)) < 20_000 else None
        except (TypeError, ValueError):
            return None
    try:
        import sympy

        if isinstance(value, sympy.Basic):
            return float(value) if value.is_number and value.is_real else sympy.srepr(value)
    except ImportError:  # pragma: no cover - sympy is a dependency
        pass
    if type(value).__name__ == "DataFrame":
        return json.loads(value.to_json(orient="split"))
    return None


def _clear_old_live_records(directory: Path) -> None:
    """Before the first write of this execution, drop records an earlier run of the same
    chapter wrote (a result removed from the chapter must not linger)."""
    notebook = notebook_path()
    for path in directory.glob("*.json"):
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if notebook and data.get("provenance", {}).get("notebook") == _repo_relative(notebook):
            path.unlink(missing_ok=True)


def _write_live(source: Source) -> None:
    directory, notebook = live_dir(), notebook_path()
    if directory is None or notebook is None:
        return
    from srlm_core.publishing import provenance

    directory.mkdir(parents=True, exist_ok=True)
    if not _STATE.cleared:
        _clear_old_live_records(directory)
        _STATE.cleared = True
    if _STATE.provenance is None:  # git and package versions do not change during a run
        _STATE.provenance = provenance.collect("cpu")
    prov = {**_STATE.provenance, "wall_time_s": round(time.perf_counter() - _STARTED, 3)}
    prov["notebook"] = _repo_relative(notebook)
    record = ResultRecord(
        id=source.id,
        title=source.title,
        command=source.command,
        params=source.params,
        values=source.values,
        provenance=prov,
        code=source.code,
    )
    if source.tolerance is not None:
        record.tolerance = dict(source.tolerance)
    source.record_file = write_record(record, directory).resolve()


def _source_for(source: str | Source | None) -> Source | None:
    if isinstance(source, Source):
        return source
    if source is not None:
        if source not in _STATE.sources:
            raise ResultError(source, "id", "not loaded in this chapter: call report.use or live")
        return _STATE.sources[source]
    if not _STATE.stack:
        raise ResultError("(chapter)", "source", "glue inside `with report.live(...)`, "
                          "`with report.use(...)` or pass source=")
    return _STATE.stack[-1]


def glue(name: str, variable, display: bool = False, *, source: str | Source | None = None):
    """``myst_nb.glue`` that also records which result the value belongs to (the innermost
    ``with`` source, or ``source``); for a live result the value is stored in its record.  A
    pandas Styler takes ``name`` as its HTML id, which is otherwise random per run."""
    from myst_nb import glue as myst_glue

    src = _source_for(source)
    if hasattr(variable, "item") and getattr(variable, "shape", None) == ():
        variable = variable.item()  # a NumPy scalar reprs as np.float64(...): no format spec
    if hasattr(variable, "set_uuid"):  # a pandas Styler
        variable = variable.set_uuid(name)
    myst_glue(name, variable, display=display)
    value = _jsonable(variable)
    numeric = value is None or (isinstance(value, int | float) and not isinstance(value, bool))
    _STATE.glued.append((name, src.id if src else None, short_text(value), numeric))
    if src.live and not src.frozen and value is not None:
        src.values[name] = value
        _write_live(src)


def glue_interval(name: str, estimate, lo, hi, *, source: str | Source | None = None) -> None:
    """Glue an estimate and its interval as ``name``, ``name_lo`` and ``name_hi``."""
    for suffix, value in (("", estimate), ("_lo", lo), ("_hi", hi)):
        glue(f"{name}{suffix}", float(value), source=source)


def download_link(path: str, label: str | None = None) -> str:
    """A MyST ``{download}`` link from the executing chapter to a repository file."""
    file_part, _, line = path.partition("#")
    target = Path(file_part) if Path(file_part).is_absolute() else REPO_ROOT / file_part
    rel = os.path.relpath(target, Path.cwd())
    text = label or (f"{file_part}:{line[1:]}" if line else file_part)
    return f"{{download}}`{text} <{rel}>`"


def source_note(source: str | Source | None = None, code=()) -> str:
    """One line of MyST: result ID, record link, regenerating command, and the code: links to
    the API appendix entries of the package objects (their docstring and highlighted source),
    else download links to the files."""
    src = _source_for(source)
    parts = [f"Result `{src.id}`"]
    if src.record_file is not None and src.record_file.exists():
        parts[0] += f" ({download_link(str(src.record_file), 'record')})"
    parts.append(f"regenerate: `{src.command}`")
    refs = _merge(src.refs, _refs(code))
    if refs:
        parts.append("code: " + ", ".join(f"{{py:obj}}`{ref}`" for ref in refs))
    elif src.code:
        parts.append("code: " + ", ".join(download_link(path) for path in src.code))
    return " · ".join(parts)


def glue_figure(name: str, fig, *, source: str | Source | None = None, code=()) -> None:
    """Glue a figure as ``name`` and its provenance note as ``name-source`` (for its caption:
    ``{glue:md}`name-source:myst```), then close the figure so it is not shown twice.
    ``code``: the functions that draw this figure (e.g. the experiment's ``plot``), linked
    in the note after the source's own code."""
    from IPython.display import Markdown
    from myst_nb import glue as myst_glue

    src = _source_for(source)
    glue(name, fig, source=src)
    myst_glue(f"{name}-source", Markdown(source_note(src, code)), display=False)
    try:
        import matplotlib.pyplot as plt

        plt.close(fig)
    except (ImportError, TypeError):  # pragma: no cover - not a matplotlib figure
        pass


def short_text(value, width: int = 48) -> str:
    """A glued value as one table cell: floats to 6 digits, other values as JSON, at most
    ``width`` characters."""
    if value is None:
        return "(figure or object)"
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else str(value)
    text = value if isinstance(value, str) else json.dumps(value)
    text = text.replace("|", "\\|").replace("`", "'").replace("\n", " ")
    return text if len(text) <= width else text[: width - 3] + "..."


def summary_markdown(title: str = "Where the numbers and figures of this chapter come from"):
    """A collapsible MyST block: every glued name, its value, result ID, command and code."""
    rows = [
        f"| `{name}` | {value if kind else f'`{value}`'} | {f'`{rid}`' if rid else '(none)'} |"
        for name, rid, value, kind in _STATE.glued
    ]
    sources = [
        f"- {source_note(src)} — {src.title}" for src in _STATE.sources.values()
    ]
    return "\n".join(
        [
            f":::{{dropdown}} {title}",
            "",
            *sources,
            "",
            "| glued name | value | result ID |",
            "|---|---|---|",
            *rows,
            ":::",
        ]
    )


def glue_summary(name: str = "sources") -> None:
    """Glue :func:`summary_markdown` as ``name`` (paste it with a ``glue:md`` directive,
    ``:format: myst``)."""
    from IPython.display import Markdown
    from myst_nb import glue as myst_glue

    myst_glue(name, Markdown(summary_markdown()), display=False)
