"""Parallel workers share the cores: at least one thread each, never more than the cores."""

import pytest

from srlm_core import threads


@pytest.mark.parametrize(("cores", "workers", "each"), [(2, 1, 2), (2, 2, 1), (2, 3, 1),
                                                         (16, 4, 4), (16, 0, 16), (None, 2, 1)])
def test_per_worker_shares_the_cores(monkeypatch, cores, workers, each):
    monkeypatch.setattr(threads.os, "cpu_count", lambda: cores)
    assert threads.per_worker(workers) == each
    assert threads.worker_environment(workers) == {"OMP_NUM_THREADS": str(each),
                                                   "MKL_NUM_THREADS": str(each)}
