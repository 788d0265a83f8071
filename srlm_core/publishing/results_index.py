"""The index of results for the Reproducibility appendix: the live records of this build and
one MyST table row per result (registry or live) with its record, values, regenerating command,
code, commit and wall time.  The chapter-side glue that writes the live records is
:mod:`srlm_core.publishing.report`.
"""

from __future__ import annotations

from pathlib import Path

from srlm_core.publishing.provenance import REPO_ROOT
from srlm_core.publishing.report import download_link, live_dir, short_text
from srlm_core.publishing.results import ResultRecord, code_paths, record_path


def _value_summary(values: dict, limit: int = 4) -> str:
    """The first ``limit`` values of a record as one table cell (lists and dicts by size)."""
    items = []
    for key, value in list(values.items())[:limit]:
        if isinstance(value, list):
            text = f"[{len(value)} values]"
        elif isinstance(value, dict):
            text = f"{{{len(value)} entries}}"
        else:
            text = short_text(value, 24)
        items.append(f"`{key}` = {text}")
    if len(values) > limit:
        items.append(f"… ({len(values) - limit} more)")
    return "; ".join(items) or "(none)"


def live_records() -> list[ResultRecord]:
    """The live records of this build whose chapter still exists (validated)."""
    directory = live_dir()
    if directory is None or not directory.is_dir():
        return []
    from srlm_core.publishing.results import load_all

    out = []
    for record in load_all(directory):
        notebook = Path(record.provenance.get("notebook", ""))
        if (notebook if notebook.is_absolute() else REPO_ROOT / notebook).is_file():
            out.append(record)
    return out


def results_index_markdown(records: list[ResultRecord], directories: dict[str, Path]) -> str:
    """A MyST table of results: ID and record link, values, regenerating command, code links,
    commit and wall time.  ``directories`` maps each record ID to the folder holding it."""
    rows = []
    for record in records:
        file = record_path(record.id, directories[record.id]).resolve()
        commit = record.short_commit
        wall = record.wall_time_s
        code = ", ".join(download_link(path) for path in code_paths(record)) or "—"
        rows.append(
            f"| `{record.id}` ({download_link(str(file), 'record')}) "
            f"| {short_text(record.title, 80)} | {_value_summary(record.values)} "
            f"| `{record.command}` | {code} "
            f"| `{commit}`, {'?' if wall is None else f'{wall:.1f}'} s |"
        )
    return "\n".join(
        [
            "| Result | What | Values | Regenerate | Code | Computed at (commit, wall time) |",
            "|---|---|---|---|---|---|",
            *rows,
        ]
    )
