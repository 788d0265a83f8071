"""The results registry: one validated JSON record per result under ``data/results/``.

A record (schema ``srlm-result/1``) holds::

    id          stable identifier, also the file name ``<id>.json``
    title       one line saying what the result is
    command     the exact command that regenerates it
    params      the parameters it was computed with (seeds included)
    values      the numbers (JSON: numbers, lists, nested objects)
    tolerance   {"rtol": ..., "atol": ...} used when a re-run is compared with it
    provenance  srlm_core version, git commit and dirtiness, packages, hardware, wall time
    checksum    sha256 of the canonical JSON of every other field

Writes are atomic (temporary file in the same folder, then rename).  Loading validates the
schema and the checksum: a truncated or hand-edited record raises :class:`ResultError`
naming the file and the field, and is never used.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from srlm_core.provenance import REPO_ROOT

SCHEMA = "srlm-result/1"
RESULTS_DIR = REPO_ROOT / "data" / "results"
_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


class ResultError(ValueError):
    """A result record is missing, malformed or fails its checksum."""

    def __init__(self, path: Path | str, field: str, message: str):
        self.path, self.field = Path(path), field
        super().__init__(f"{path}: field '{field}': {message}")


@dataclass
class ResultRecord:
    id: str
    title: str
    command: str
    params: dict
    values: dict
    provenance: dict
    tolerance: dict = field(default_factory=lambda: {"rtol": 1e-6, "atol": 1e-9})
    schema: str = SCHEMA

    def content(self) -> dict:
        return asdict(self)

    def checksum(self) -> str:
        canonical = json.dumps(self.content(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


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
_PROVENANCE_FIELDS = ("srlm_core_version", "git_commit", "git_dirty", "packages", "hardware")


def record_path(result_id: str, directory: Path = RESULTS_DIR) -> Path:
    return Path(directory) / f"{result_id}.json"


def write_record(record: ResultRecord, directory: Path = RESULTS_DIR) -> Path:
    """Validate and write ``record`` atomically; returns its path."""
    if not _ID_PATTERN.match(record.id):
        raise ResultError(record_path(record.id, directory), "id", "use [a-z0-9_.-] only")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    payload = {**record.content(), "checksum": record.checksum()}
    path = record_path(record.id, directory)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{record.id}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(payload, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_record(result_id_or_path: str | Path, directory: Path = RESULTS_DIR) -> ResultRecord:
    """Read and validate a record by ID or path."""
    path = Path(result_id_or_path)
    if path.suffix != ".json":
        path = record_path(str(result_id_or_path), directory)
    if not path.exists():
        raise ResultError(path, "id", "no such result record")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        message = f"not valid JSON ({err.msg} at line {err.lineno})"
        raise ResultError(path, "(file)", message) from None
    if not isinstance(data, dict):
        raise ResultError(path, "(file)", "not a JSON object")
    for name, kind in _FIELDS.items():
        if name not in data:
            raise ResultError(path, name, "missing")
        if not isinstance(data[name], kind):
            raise ResultError(path, name, f"expected {kind.__name__}")
    if data["schema"] != SCHEMA:
        raise ResultError(path, "schema", f"expected {SCHEMA!r}, got {data['schema']!r}")
    for name in _PROVENANCE_FIELDS:
        if name not in data["provenance"]:
            raise ResultError(path, f"provenance.{name}", "missing")
    unknown = set(data) - set(_FIELDS)
    if unknown:
        raise ResultError(path, sorted(unknown)[0], "unknown field")
    checksum = data.pop("checksum")
    record = ResultRecord(**data)
    if record.checksum() != checksum:
        raise ResultError(path, "checksum", "does not match the content (edited or corrupted)")
    if record.id != path.stem:
        raise ResultError(path, "id", f"{record.id!r} does not match the file name")
    return record


def list_records(directory: Path = RESULTS_DIR) -> list[str]:
    """IDs of all records in ``directory`` (not validated)."""
    return sorted(p.stem for p in Path(directory).glob("*.json"))
