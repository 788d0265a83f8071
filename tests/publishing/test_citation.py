"""BibTeX for the compendium and for one result."""

from srlm_core.publishing import provenance
from srlm_core.publishing.citation import compendium_bibtex, escape, load_cff, result_bibtex
from srlm_core.publishing.results import ResultRecord


def test_citation_file_cites_the_paper():
    cff = load_cff()
    assert cff["cff-version"] == "1.2.0"
    titles = [ref["title"] for ref in cff["references"]]
    assert any(title.startswith("Why Self-Rewarding Works") for title in titles)


def test_compendium_bibtex():
    entry = compendium_bibtex()
    assert entry.startswith("@software{srlm-compendium,")
    assert "{Why Self-Rewarding Works: a reproducible compendium}" in entry
    assert entry.count("{") == entry.count("}")


def test_result_bibtex_names_id_commit_and_command():
    prov = provenance.collect("cpu", wall_time_s=1.0)
    record = ResultRecord(
        id="s4_rate", title="Rate 100% & more", command="srlm sweep s4-rate --n_max 10",
        params={}, values={"x": 1.0}, provenance=prov,
    )
    entry = result_bibtex(record)
    assert entry.startswith(f"@misc{{srlm-s4_rate-{prov['git_commit'][:7]},")
    assert f"git commit \\texttt{{{prov['git_commit']}}}" in entry
    assert r"\texttt{srlm sweep s4-rate --n\_max 10}" in entry
    assert r"{Rate 100\% \& more}" in entry
    assert escape("a_b{c}") == r"a\_b\{c\}"
