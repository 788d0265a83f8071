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


def test_the_package_never_sets_torch_threads_in_process():
    """``torch.set_num_threads`` inside a process (even to the current count) makes later
    batched ``torch.linalg.solve`` calls of this torch build stall (oneMKL: "Parameter 6 was
    incorrect on entry to DLASWP"): one experiment that set it froze a later test of the
    suite.  Threads are chosen by ``OMP_NUM_THREADS`` when a process starts."""
    import re
    from pathlib import Path

    package = Path(__file__).resolve().parents[1] / "srlm_core"
    calls = [f"{path.relative_to(package.parent)}:{number}"
             for path in sorted(package.rglob("*.py"))
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if re.search(r"\bset_num_threads\s*\(", line) and "``" not in line]
    assert calls == []


def test_no_docstring_of_the_package_holds_a_control_character():
    r"""A backslash escape in a docstring that is not raw (``\alpha``) becomes a control
    character (``\a`` is the bell), which MathJax cannot typeset on the API page."""
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parents[1] / "srlm_core"
    control = set(map(chr, range(32))) - set("\n\t")
    kinds = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    found = [f"{path.relative_to(package.parent)}:{getattr(node, 'lineno', 1)}"
             for path in sorted(package.rglob("*.py"))
             for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, kinds)
             and control & set(ast.get_docstring(node, clean=False) or "")]
    assert found == []
