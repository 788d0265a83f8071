"""The test session's own hygiene (tests/conftest.py): a change to an ``SRLM_*`` variable made
behind monkeypatch's back, e.g. by ``srlm results execute`` or the book's cache extension
setting ``os.environ`` directly, does not leak into later tests.  The two tests run in file
order; the second fails if the first one's change survived."""

import os

PROBE = "SRLM_HYGIENE_PROBE"


def test_a_test_sets_srlm_variables_directly(monkeypatch):
    monkeypatch.delenv(PROBE, raising=False)  # records nothing: the variable is absent
    os.environ[PROBE] = "leaked"  # what run_execute does with SRLM_LIVE_RESULTS_DIR
    os.environ["SRLM_CACHE_DIR"] = "/nonexistent/elsewhere"


def test_the_next_test_sees_the_environment_restored(srlm_cache_dir):
    assert PROBE not in os.environ
    assert os.environ["SRLM_CACHE_DIR"] == str(srlm_cache_dir)
