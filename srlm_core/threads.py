"""Threads for parallel workers: the cores shared out among them, at least one each.

N workers (book kernels, test processes, re-run commands) that each start N OpenMP threads on
N cores oversubscribe them, and spinning threads then slow every worker; each worker gets
``cores // workers`` threads instead (:func:`worker_environment` sets them for a child
process before it imports torch).
"""

from __future__ import annotations

import os


def per_worker(workers: int) -> int:
    """Threads for each of ``workers`` parallel workers: ``cores // workers``, at least 1."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def worker_environment(workers: int) -> dict[str, str]:
    """The environment variables that give a child process :func:`per_worker` threads."""
    threads = str(per_worker(workers))
    return {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
