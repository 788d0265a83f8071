"""Provenance: git state, package versions and hardware recorded with every result."""

import re

from srlm_core import __version__, provenance


def test_collect_has_the_record_fields():
    prov = provenance.collect("cpu", wall_time_s=2.0)
    assert prov["srlm_core_version"] == __version__
    assert re.fullmatch(r"[0-9a-f]{40}", prov["git_commit"])
    assert isinstance(prov["git_dirty"], bool)
    assert prov["packages"]["torch"] and prov["packages"]["numpy"]
    assert prov["hardware"]["device"] == "cpu" and prov["hardware"]["cpu"]
    assert prov["wall_time_s"] == 2.0 and prov["created"].endswith("+00:00")


def test_missing_package_is_none():
    assert provenance.package_versions(("no-such-package-srlm",)) == {
        "no-such-package-srlm": None
    }


def test_environment_lists_the_book_toolchain():
    env = provenance.environment()
    assert env["packages"]["jupyter-book"] and env["packages"]["myst-nb"]
    assert env["python"] and env["platform"] and "git_commit" in env
