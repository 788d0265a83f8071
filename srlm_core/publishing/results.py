"""The results registry: one validated JSON record per result under ``data/results/``.

A record (schema ``srlm-result/1``) is one JSON object::

    schema      "srlm-result/1"
    id          stable identifier [a-z0-9_.-], also the file name ``<id>.json``
    title       one line saying what the result is
    command     the exact command that regenerates it (starts with ``srlm``)
    params      the parameters it was computed with (seeds included)
    values      the numbers (JSON: numbers, strings, booleans, lists, nested objects)
    tolerance   {"rtol": r, "atol": a}: a re-run value v' matches v when |v'-v| <= a + r|v|
    provenance  srlm_core_version, git_commit, git_dirty, python, packages, hardware,
                wall_time_s, created (see :func:`srlm_core.publishing.provenance.collect`)
    code        optional: repository paths of the code that computed it (``path#Lnn``), as
                they were when it was written (:func:`resolve_code_path` finds a moved one)
    digests     sha256 of each field and of each entry of ``values``/``params``
    checksum    sha256 of the canonical JSON (sorted keys) of every field but digests/checksum

Writes are atomic (temporary file in the same folder, fsync, then rename).  Loading validates
the schema, the types and the checksum: a truncated or hand-edited record raises
:class:`ResultError` naming the file and the field (``values.slope`` when one value was
edited), and is never used.

Re-verification (``srlm results verify``) re-runs ``command`` with ``--results-dir TMP`` and
compares the new ``values`` with the recorded ones leaf by leaf (:func:`compare_values`).
A record is *fast* (cheap enough for CI) when its recorded wall time is below a threshold
and it is not a benchmark (:func:`is_fast`): a benchmark's values are its workload and its
measurement sits in the provenance, so a re-run measures anew (``nox -s bench`` does that).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shlex
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from srlm_core.publishing.provenance import REPO_ROOT

SCHEMA = "srlm-result/1"
RESULTS_DIR = REPO_ROOT / "data" / "results"
#: Records whose recorded wall time is below this many seconds are verified in CI
#: (``srlm results verify --all --fast``); two minutes on the shared 2-core machine.
FAST_SECONDS = 120.0
_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


class ResultError(ValueError):
    """A result record is missing, malformed or fails its checksum."""

    def __init__(self, path: Path | str, field: str, message: str):
        self.path, self.field = Path(path), field
        super().__init__(f"{path}: field '{field}': {message}")


def _canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _sha(value) -> str:
    return hashlib.sha256(_canonical(value)).hexdigest()


@dataclass
class ResultRecord:
    """A validated result record (the fields are described in the module docstring)."""

    id: str
    title: str
    command: str
    params: dict
    values: dict
    provenance: dict
    tolerance: dict = field(default_factory=lambda: {"rtol": 1e-6, "atol": 1e-9})
    schema: str = SCHEMA
    code: list = field(default_factory=list)

    def content(self) -> dict:
        """Every field covered by the checksum (an empty optional ``code`` is left out)."""
        data = asdict(self)
        if not data["code"]:
            del data["code"]
        return data

    def checksum(self) -> str:
        return _sha(self.content())

    def digests(self) -> dict[str, str]:
        """Per-field digests, so that a failed check can name the edited field."""
        content = self.content()
        out = {name: _sha(value) for name, value in content.items()}
        for name in ("params", "values"):
            out.update({f"{name}.{key}": _sha(v) for key, v in content[name].items()})
        return out

    @property
    def wall_time_s(self) -> float | None:
        return self.provenance.get("wall_time_s")

    @property
    def commit(self) -> str | None:
        return self.provenance.get("git_commit")

    @property
    def short_commit(self) -> str:
        """The commit's first 10 hex digits, ``+dirty`` when the tree had changes ("?" if
        unknown): how tables and listings name the code version."""
        dirty = "+dirty" if self.provenance.get("git_dirty") else ""
        return (self.commit or "?")[:10] + dirty


_FIELDS = {
    "schema": str,
    "id": str,
    "title": str,
    "command": str,
    "params": dict,
    "values": dict,
    "tolerance": dict,
    "provenance": dict,
    "checksum": str,
}
_OPTIONAL_FIELDS = {"code": list, "digests": dict}
_PROVENANCE_FIELDS = ("srlm_core_version", "git_commit", "git_dirty", "packages", "hardware")


def record_path(result_id: str, directory: Path = RESULTS_DIR) -> Path:
    return Path(directory) / f"{result_id}.json"


def _check_record(record: ResultRecord, path: Path) -> None:
    """Field checks shared by write and load; raises :class:`ResultError`."""
    if not _ID_PATTERN.match(record.id):
        raise ResultError(path, "id", f"{record.id!r}: use [a-z0-9_.-] only")
    if not record.title.strip():
        raise ResultError(path, "title", "empty")
    if not record.command.startswith("srlm "):
        raise ResultError(path, "command", f"must be an `srlm ...` command, got {record.command!r}")
    try:
        shlex.split(record.command)
    except ValueError as err:
        raise ResultError(path, "command", f"not a valid command line ({err})") from None
    for name in ("rtol", "atol"):
        value = record.tolerance.get(name)
        if not isinstance(value, int | float) or isinstance(value, bool) or not value >= 0:
            raise ResultError(path, f"tolerance.{name}", f"must be a number >= 0, got {value!r}")
    for name in _PROVENANCE_FIELDS:
        if name not in record.provenance:
            raise ResultError(path, f"provenance.{name}", "missing")
    wall = record.provenance.get("wall_time_s")
    if wall is not None and (not isinstance(wall, int | float) or wall < 0):
        raise ResultError(path, "provenance.wall_time_s", f"must be seconds >= 0, got {wall!r}")
    if not all(isinstance(item, str) for item in record.code):
        raise ResultError(path, "code", "must be a list of repository paths")


def write_record(record: ResultRecord, directory: Path = RESULTS_DIR) -> Path:
    """Validate and write ``record`` atomically; returns its path."""
    directory = Path(directory)
    path = record_path(record.id, directory)
    _check_record(record, path)
    try:
        _canonical(record.content())
    except (TypeError, ValueError) as err:
        raise ResultError(path, "values", f"not JSON-serialisable ({err})") from None
    directory.mkdir(parents=True, exist_ok=True)
    payload = {**record.content(), "digests": record.digests(), "checksum": record.checksum()}
    write_json_atomic(path, payload, indent=2)
    return path


def write_atomic(path: Path, write) -> None:
    """``write(tmp)`` into a fresh temporary file beside ``path``, flush it to disk, then
    rename it over ``path``: a reader never sees a half-written file, and a failed write
    leaves the old file and no temporary behind.  The one writer of records, checkpoints
    and work-folder files."""
    path = Path(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, payload, indent: int = 1) -> None:
    """:func:`write_atomic` of ``payload`` as JSON (sorted keys, final newline)."""
    text = json.dumps(payload, indent=indent, sort_keys=True) + "\n"
    write_atomic(path, lambda tmp: tmp.write_text(text))


def load_record(result_id_or_path: str | Path, directory: Path = RESULTS_DIR) -> ResultRecord:
    """Read and validate a record by ID or path; raises :class:`ResultError` when it is bad."""
    path = Path(result_id_or_path)
    if path.suffix != ".json":
        path = record_path(str(result_id_or_path), directory)
    if not path.exists():
        raise ResultError(path, "id", "no such result record")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ResultError(
            path, "(file)", f"not valid JSON, truncated? ({err.msg} at line {err.lineno})"
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ResultError(path, "(file)", f"cannot be read ({err})") from None
    if not isinstance(data, dict):
        raise ResultError(path, "(file)", "not a JSON object")
    for name, kind in _FIELDS.items():
        if name not in data:
            raise ResultError(path, name, "missing")
        if not isinstance(data[name], kind):
            raise ResultError(path, name, f"expected {kind.__name__}")
    for name, kind in _OPTIONAL_FIELDS.items():
        if name in data and not isinstance(data[name], kind):
            raise ResultError(path, name, f"expected {kind.__name__}")
    if data["schema"] != SCHEMA:
        raise ResultError(path, "schema", f"expected {SCHEMA!r}, got {data['schema']!r}")
    unknown = set(data) - set(_FIELDS) - set(_OPTIONAL_FIELDS)
    if unknown:
        raise ResultError(path, sorted(unknown)[0], "unknown field")
    checksum = data.pop("checksum")
    digests = data.pop("digests", {})
    record = ResultRecord(**data)
    _check_record(record, path)
    if record.checksum() != checksum:
        edited = [key for key, digest in record.digests().items() if digests.get(key) != digest]
        edited = [key for key in edited if key in digests] or ["checksum"]
        where = max(edited, key=len)  # the most specific field, e.g. values.slope
        raise ResultError(
            path, where, "does not match the checksum: the record was edited or corrupted"
        )
    if record.id != path.stem:
        raise ResultError(path, "id", f"{record.id!r} does not match the file name")
    return record


def list_records(directory: Path = RESULTS_DIR) -> list[str]:
    """IDs of all records in ``directory`` (not validated)."""
    return sorted(p.stem for p in Path(directory).glob("*.json"))


def load_all(directory: Path = RESULTS_DIR) -> list[ResultRecord]:
    """Every record in ``directory``, validated; the first bad one raises ResultError."""
    return [load_record(result_id, directory) for result_id in list_records(directory)]


def is_benchmark(record: ResultRecord) -> bool:
    """A benchmark: its measurement (``timings``) sits in the provenance and its values are
    the workload, reproduced exactly (zero tolerance), so re-running it measures anew rather
    than reproduces (``nox -s bench``).  A record that stores timings beside values of its own
    (a tolerance above zero) is not one."""
    tolerance = record.tolerance or {}
    exact = tolerance.get("rtol", 0) == 0 and tolerance.get("atol", 0) == 0
    return "timings" in record.provenance and exact


def is_fast(record: ResultRecord, threshold_s: float = FAST_SECONDS) -> bool:
    """Cheap enough for CI: not a benchmark, and the recorded wall time is known and below
    ``threshold_s``."""
    wall = record.wall_time_s
    return not is_benchmark(record) and wall is not None and wall < threshold_s


def resolve_code_path(path: str) -> str:
    """The repository path of the file that now holds the code a record names as ``path``
    (a ``#Lnn`` anchor is kept): ``path`` itself where that file exists, else the one file of
    the package with the same file name (a module moved to another folder after the record was
    written, e.g. into ``experiments/sharpening/``: module file names are unique across the
    package, which a test guarantees).  FileNotFoundError naming ``path`` when there is no such
    file, or several."""
    file_part, hash_, anchor = path.partition("#")
    if (REPO_ROOT / file_part).is_file():
        return path
    name = Path(file_part).name
    found = sorted((REPO_ROOT / "srlm_core").rglob(name)) if name else []
    if len(found) != 1:
        why = "no file of the package has its name" if not found else (
            f"{len(found)} files of the package have its name")
        raise FileNotFoundError(f"record code path {path!r} is gone and {why}")
    return found[0].relative_to(REPO_ROOT).as_posix() + hash_ + anchor


def code_paths(record: ResultRecord) -> list[str]:
    """Repository paths of the code behind a record, as they are now
    (:func:`resolve_code_path`): its ``code`` field, else the experiment module named by an
    ``srlm run NAME`` or ``srlm sweep NAME`` command."""
    if record.code:
        return [resolve_code_path(path) for path in record.code]
    words = shlex.split(record.command)
    if len(words) >= 3 and words[:2] in (["srlm", "run"], ["srlm", "sweep"]):
        try:
            return [resolve_code_path(f"srlm_core/experiments/{words[2].replace('-', '_')}.py")]
        except FileNotFoundError:
            return []
    return []


@dataclass(frozen=True)
class Difference:
    """One leaf of ``values`` that differs between the record and a re-run."""

    path: str
    recorded: object
    rerun: object

    @property
    def abs_diff(self) -> float | None:
        if _is_number(self.recorded) and _is_number(self.rerun):
            return abs(float(self.rerun) - float(self.recorded))
        return None

    @property
    def rel_diff(self) -> float | None:
        diff = self.abs_diff
        if diff is None or self.recorded == 0:
            return None
        return diff / abs(float(self.recorded))


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def compare_values(recorded, rerun, rtol: float, atol: float, path: str = "values") -> list:
    """Leaf-by-leaf comparison; numbers match when
    ``abs(rerun - recorded) <= atol + rtol * abs(recorded)`` (NaN matches NaN), everything else
    must be equal.  Returns the :class:`Difference` list."""
    if isinstance(recorded, dict) and isinstance(rerun, dict):
        out = []
        for key in sorted(set(recorded) | set(rerun), key=str):
            if key not in recorded or key not in rerun:
                out.append(Difference(f"{path}.{key}", recorded.get(key), rerun.get(key)))
            else:
                out += compare_values(recorded[key], rerun[key], rtol, atol, f"{path}.{key}")
        return out
    if isinstance(recorded, list) and isinstance(rerun, list):
        if len(recorded) != len(rerun):
            return [Difference(f"{path} (length)", len(recorded), len(rerun))]
        out = []
        for i, (a, b) in enumerate(zip(recorded, rerun, strict=True)):
            out += compare_values(a, b, rtol, atol, f"{path}[{i}]")
        return out
    if _is_number(recorded) and _is_number(rerun):
        a, b = float(recorded), float(rerun)
        if (math.isnan(a) and math.isnan(b)) or a == b:
            return []
        if math.isfinite(a) and math.isfinite(b) and abs(b - a) <= atol + rtol * abs(a):
            return []
        return [Difference(path, recorded, rerun)]
    return [] if recorded == rerun else [Difference(path, recorded, rerun)]
