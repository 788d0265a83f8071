"""Provenance: git state, package versions and hardware recorded with every result."""

import re

from srlm_core import __version__
from srlm_core.publishing import provenance


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


def test_a_checkout_that_changed_during_the_run_is_marked_dirty(monkeypatch):
    began = {"git_commit": "a" * 40, "git_dirty": False}
    monkeypatch.setattr(provenance, "git_state", lambda: {"git_commit": "b" * 40,
                                                          "git_dirty": False})
    prov = provenance.collect("cpu", since=began)
    assert prov["git_commit"] == "a" * 40 and prov["git_dirty"] is True
    monkeypatch.setattr(provenance, "git_state", lambda: dict(began))
    assert provenance.collect("cpu", since=began)["git_dirty"] is False
