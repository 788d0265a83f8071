"""Wall-clock seconds spent per stage (generate, judge, train, ...) of a language-model run."""

from __future__ import annotations

import time


class StageTimer:
    """Accumulates ``seconds[stage]`` over calls of :meth:`call`."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    def call(self, stage: str, fn, *args, **kwargs):
        """``fn(*args, **kwargs)``, its wall time added to ``stage``."""
        start = time.perf_counter()
        out = fn(*args, **kwargs)
        self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start
        return out
