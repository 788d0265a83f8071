"""BibTeX for the compendium (from ``CITATION.cff``) and for a single result (ID + commit)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from srlm_core.publishing.provenance import REPO_ROOT
from srlm_core.publishing.results import ResultRecord

CITATION_FILE = REPO_ROOT / "CITATION.cff"
_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "_": r"\_", "%": r"\%",
            "&": r"\&", "#": r"\#", "$": r"\$", "~": r"\textasciitilde{}", "^": r"\^{}"}


def escape(text: str) -> str:
    """Escape the characters BibTeX/LaTeX treat specially."""
    return "".join(_SPECIAL.get(char, char) for char in str(text))


def _authors(cff: dict) -> str:
    names = []
    for person in cff["authors"]:
        if "name" in person:
            names.append("{" + escape(person["name"]) + "}")
        else:
            names.append(f"{escape(person['family-names'])}, {escape(person['given-names'])}")
    return " and ".join(names)


def load_cff(path: Path = CITATION_FILE) -> dict:
    return yaml.safe_load(Path(path).read_text())


def _entry(kind: str, key: str, fields: dict[str, str]) -> str:
    width = max(len(name) for name in fields)
    body = ",\n".join(f"  {name:<{width}} = {{{value}}}" for name, value in fields.items())
    return f"@{kind}{{{key},\n{body}\n}}"


def compendium_bibtex(path: Path = CITATION_FILE) -> str:
    """The compendium's preferred citation as a BibTeX ``@software`` entry."""
    cff = load_cff(path)
    cite = cff.get("preferred-citation", cff)
    fields = {
        "title": "{" + escape(cite["title"]) + "}",
        "author": _authors(cite),
        "year": str(cite.get("year", str(cff.get("date-released", ""))[:4])),
        "version": escape(cite.get("version", cff.get("version", ""))),
        "license": escape(cite.get("license", cff.get("license", ""))),
    }
    if cff.get("repository-code"):
        fields["url"] = cff["repository-code"]
    return _entry("software", "srlm-compendium", fields)


def result_bibtex(record: ResultRecord, path: Path = CITATION_FILE) -> str:
    """A ``@misc`` entry for one result: its ID, the commit that computed it, its command."""
    cff = load_cff(path)
    commit = record.provenance.get("git_commit") or "unknown"
    dirty = " (uncommitted changes)" if record.provenance.get("git_dirty") else ""
    created = str(record.provenance.get("created") or cff.get("date-released", ""))
    key = "srlm-" + re.sub(r"[^A-Za-z0-9_.-]", "-", record.id) + "-" + commit[:7]
    version = escape(record.provenance["srlm_core_version"])
    note = (
        f"Result \\texttt{{{escape(record.id)}}} of the compendium "
        f"``{escape(cff['title'])}'', srlm\\_core {version}, "
        f"git commit \\texttt{{{escape(commit)}}}{dirty}. "
        f"Regenerate: \\texttt{{{escape(record.command)}}}; "
        f"verify: \\texttt{{srlm results verify {escape(record.id)}}}"
    )
    fields = {
        "title": "{" + escape(record.title) + "}",
        "author": _authors(cff),
        "year": created[:4],
        "note": note,
    }
    return _entry("misc", key, fields)
