"""Benchmark of the simulation engine: pair counts against per-sample pairs, batched seeds
against a per-seed loop, and the time per round against n.

``srlm run engine-bench`` writes the record (``srlm bench``, its alias, also prints the
comparisons).  Three comparisons, measured in one run on one machine:

* the count engine (:mod:`srlm_core.model.pair_counts`) against the per-sample engine
  (:func:`srlm_core.model.judge.sample_pairs`) for every n of ``ns``, at ``d``, ``K``,
  ``contexts``, ``seeds`` and ``iters``.  The per-sample engine runs only up to
  ``samples_max_n`` (its cost grows with n; at n = 10^7 it would need over 10^2 GB of memory),
  batched where its memory estimate fits the machine, else as a loop over seeds;
* the seeds batched in one runner against a loop of single-seed runners on the same problem,
  at ``batch_small`` and ``batch_large`` (n, d, K, contexts, seeds), with the engine ``auto``
  picks there;
* the count engine's seconds per round against n (flat is the goal).

Every timing is the best of at least ``repeats`` runs, more for cheap ones (one run when a run
takes over ten seconds); the runs compared are called in turn, so that a burst of load on a
shared machine hits both, and the slow per-sample runs come last.  The
values are the workload (sizes and engines), which reproduce exactly; the seconds depend on the
machine and its load, and the record keeps them in its provenance.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace

from srlm_core.errors import ConfigError, require, require_at_least
from srlm_core.options import option

TITLE = ("Simulation engine: pair counts against per-sample pairs, batched seeds against a "
         "per-seed loop, seconds per round against n")
#: The values are the workload, which reproduces exactly.
TOLERANCE = {"rtol": 0.0, "atol": 0.0}
CODE = ("srlm_core/model/pair_counts.py", "srlm_core/model/self_rewarding.py")
#: The goals of the comparisons: (">=" or "<=", bound) on each ratio of :func:`table`.
TARGETS = {"counts_vs_samples_at_1e6": (">=", 20.0), "batched_vs_loop_small": (">=", 5.0),
           "batched_vs_loop_large": (">=", 1.0), "round_growth": ("<=", 2.0)}
_BATCH_FIELDS = ("n", "d", "K", "contexts", "seeds")
#: A run longer than this is not repeated.
_REPEAT_BELOW_S = 10.0
#: Cheap runs are repeated until this many seconds are spent (at most _MAX_ROUNDS times).
_MIN_TOTAL_S = 3.0
_MAX_ROUNDS = 50


@dataclass(frozen=True)
class Config:
    """The benchmark's sizes; ``batch_small`` and ``batch_large`` are (n, d, K, contexts,
    seeds).  The timings use torch's threads as the process starts them (``OMP_NUM_THREADS``):
    calling ``torch.set_num_threads`` inside a process breaks later batched solves of this
    torch build (oneMKL's DLASWP rejects its arguments and the solve stalls)."""

    ns: tuple[int, ...] = option((1000, 10000, 100000, 1000000, 10000000),
                                 "pair counts n of the engine comparison")
    d: int = option(32, "feature dimension")
    K: int = option(16, "responses per prompt")
    contexts: int = option(128, "prompts")
    seeds: int = option(16, "seeds run together")
    iters: int = option(6, "rounds per run")
    samples_max_n: int = option(1000000, "largest n the per-sample engine runs at")
    batch_small: tuple[int, ...] = option((4000, 8, 8, 32, 32),
                                          "small batching case: n, d, K, contexts, seeds")
    batch_large: tuple[int, ...] = option((50000, 32, 16, 128, 16),
                                          "large batching case: n, d, K, contexts, seeds")
    repeats: int = option(3, "fewest runs per timing (the best is kept)")
    seed: int = option(0, "seed of the problems")
    device: str = option("cpu", "cpu, cuda or auto")

    def simulation(self, n: int, engine: str, **overrides):
        """The :class:`srlm_core.model.self_rewarding.SimulationConfig` of one timing."""
        from srlm_core.model.self_rewarding import SimulationConfig

        sizes = {"d": self.d, "K": self.K, "contexts": self.contexts, "seeds": self.seeds,
                 "iters": self.iters}
        return SimulationConfig(n=n, engine=engine, seed=self.seed, device=self.device,
                                **{**sizes, **overrides})

    def batch_case(self, name: str):
        """The simulation of the batching comparison ``small`` or ``large``."""
        sizes = dict(zip(_BATCH_FIELDS, getattr(self, f"batch_{name}"), strict=True))
        return self.simulation(sizes.pop("n"), "auto", **sizes)

    def validate(self) -> Config:
        """Raise :class:`srlm_core.ConfigError` naming the first invalid field."""
        require(self, ("ns", bool(self.ns) and all(n >= 1 for n in self.ns),
                       "must be sample sizes >= 1"),
                ("batch_small", len(self.batch_small) == 5, "must be n,d,K,contexts,seeds"),
                ("batch_large", len(self.batch_large) == 5, "must be n,d,K,contexts,seeds"))
        require_at_least(self, 1, "iters", "repeats", "seeds")
        require_at_least(self, 0, "samples_max_n")
        for name in ("small", "large"):
            try:
                self.batch_case(name).validate()
            except ConfigError as err:
                raise ConfigError(f"batch_{name}", str(err)) from None
        for n in self.ns:
            self.simulation(n, "counts").validate()
        return self


def _best_times(runs: list, repeats: int) -> list[float]:
    """The least wall time of each of ``runs`` (callables), called in turn so that a burst of
    load on a shared machine hits all of them: at least ``repeats`` rounds, more while the
    rounds took under ``_MIN_TOTAL_S`` (at most ``_MAX_ROUNDS``), none more once a
    call took over ``_REPEAT_BELOW_S``."""
    best = [float("inf")] * len(runs)
    spent, rounds = 0.0, 0
    while rounds < repeats or (spent < _MIN_TOTAL_S and rounds < _MAX_ROUNDS):
        for i, run in enumerate(runs):
            start = time.perf_counter()
            run()
            took = time.perf_counter() - start
            best[i], spent = min(best[i], took), spent + took
        rounds += 1
        if max(best) > _REPEAT_BELOW_S:
            break
    return best


def _loop_runners(sim, problem):
    """One single-seed runner per seed on the same problem (seed s: the config's seed + s)."""
    from srlm_core.model.self_rewarding import SelfRewardingRunner

    return [SelfRewardingRunner(replace(sim, seeds=1, seed=sim.seed + s), problem=problem)
            for s in range(sim.seeds)]


def _time_batched_and_loop(sim, repeats: int) -> list[float]:
    from srlm_core.model.self_rewarding import SelfRewardingRunner

    batched = SelfRewardingRunner(sim)
    loop = _loop_runners(sim, batched.problem)
    return _best_times([batched.run, lambda: [runner.run() for runner in loop]], repeats)


def _time_samples(sim, repeats: int) -> tuple[float, str]:
    """The per-sample engine, batched when its memory fits, else as a loop over seeds."""
    from srlm_core.device import resolve_device
    from srlm_core.model.self_rewarding import SelfRewardingRunner, available_memory

    try:
        sim.require_memory(available_memory(resolve_device(sim.device)))
    except ConfigError:
        problem = SelfRewardingRunner(replace(sim, engine="counts")).problem
        loop = _loop_runners(sim, problem)
        return _best_times([lambda: [r.run() for r in loop]], repeats)[0], "per-seed loop"
    return _best_times([SelfRewardingRunner(sim).run], repeats)[0], "batched"


def workload(config: Config) -> dict:
    """The sizes and engines of every timing (the record's values)."""
    config.validate()
    engines = []
    for n in config.ns:
        sim = config.simulation(n, "samples")
        engines.append({"n": n, "auto_engine": replace(sim, engine="auto").resolved_engine(),
                        "samples_timed": n <= config.samples_max_n,
                        "samples_memory_bytes": sum(sim.memory_bytes().values())})
    batching = []
    for name in ("small", "large"):
        sim = config.batch_case(name)
        batching.append({"case": name, **{f: getattr(sim, f) for f in _BATCH_FIELDS},
                         "engine": sim.resolved_engine()})
    return {"sizes": {"d": config.d, "K": config.K, "contexts": config.contexts,
                      "seeds": config.seeds, "iters": config.iters,
                      "cells": config.contexts * config.K**2},
            "engines": engines, "batching": batching}


def run(config: Config) -> dict:
    """Time every comparison: the workload (:func:`workload`) and, under ``timings``, the
    seconds and their ratios (machine-dependent)."""
    import torch

    from srlm_core.model.self_rewarding import SelfRewardingRunner

    values = workload(config)
    SelfRewardingRunner(config.simulation(1000, "counts", iters=1)).run()  # warm up
    SelfRewardingRunner(config.simulation(1000, "samples", iters=1)).run()
    # the count engine and the batching first, the slow per-sample runs (whose memory
    # churn would disturb them) last
    counts = _best_times([SelfRewardingRunner(config.simulation(n, "counts")).run
                          for n in config.ns], config.repeats)
    batching = []
    for row in values["batching"]:
        batched, loop = _time_batched_and_loop(config.batch_case(row["case"]),
                                               config.repeats)
        batching.append({"case": row["case"], "batched_s": batched, "loop_s": loop,
                         "speedup": loop / batched})
    engines = []
    for row, seconds in zip(values["engines"], counts, strict=True):
        entry = {"n": row["n"], "counts_s": seconds,
                 "counts_s_per_round": seconds / config.iters, "samples_s": None,
                 "samples_mode": "not run (n > samples_max_n)", "speedup": None}
        if row["samples_timed"]:
            samples, mode = _time_samples(config.simulation(row["n"], "samples"),
                                          config.repeats)
            entry |= {"samples_s": samples, "samples_mode": mode,
                      "speedup": samples / seconds}
        engines.append(entry)
    used = torch.get_num_threads()
    per_round = {row["n"]: row["counts_s_per_round"] for row in engines}
    flat = (per_round[max(per_round)] / per_round[10000]) if 10000 in per_round else None
    return values | {"timings": {"engines": engines, "batching": batching,
                                 "round_largest_over_1e4": flat, "torch_threads": used,
                                 "cpu_count": os.cpu_count()}}


def _size(n: int) -> str:
    """n as 1e6 when it is a power of ten, else in digits."""
    power = len(str(n)) - 1
    return f"1e{power}" if n == 10**power and power >= 3 else str(n)


def table(values: dict, timings: dict | None = None):
    """The comparisons side by side as a DataFrame, one row each: the new way (counts,
    batched seeds) and the old one (per-sample, a loop over seeds) in seconds and the ratio
    old / new; and the count engine's seconds per round at each n over those at n = 10^4.
    ``target`` and ``met`` hold the issue's goals (:data:`TARGETS`).  ``timings`` defaults to
    ``values["timings"]`` (the output of :func:`run`); from a record, pass its values and
    ``provenance["timings"]``."""
    import pandas as pd

    timings = timings if timings is not None else values["timings"]
    sizes = values["sizes"]
    common = f"d={sizes['d']}, K={sizes['K']}, C={sizes['contexts']}, S={sizes['seeds']}"
    rows = []

    def add(comparison, size, new, old, ratio, target=None, note=""):
        op, bound = TARGETS.get(target, ("", None))
        met = "" if bound is None or ratio is None else (
            "yes" if (ratio >= bound if op == ">=" else ratio <= bound) else "no")
        rows.append({"comparison": comparison, "size": size, "new (s)": new, "old (s)": old,
                     "ratio": ratio, "target": f"{op} {bound:g}" if bound else "", "met": met,
                     "note": note})

    for row in timings["engines"]:
        add("counts vs per-sample (old/new)", f"n={_size(row['n'])}, {common}",
            row["counts_s"], row["samples_s"], row["speedup"],
            "counts_vs_samples_at_1e6" if row["n"] == 10**6 else None,
            f"per-sample: {row['samples_mode']}")
    for row, case in zip(timings["batching"], values["batching"], strict=True):
        add("batched vs per-seed loop (old/new)",
            f"n={_size(case['n'])}, d={case['d']}, K={case['K']}, C={case['contexts']}, "
            f"S={case['seeds']}", row["batched_s"], row["loop_s"], row["speedup"],
            f"batched_vs_loop_{row['case']}", f"{case['engine']} engine")
    base = {row["n"]: row["counts_s_per_round"] for row in timings["engines"]}.get(10**4)
    largest = max(row["n"] for row in timings["engines"])
    for row in timings["engines"]:
        ratio = None if base is None else row["counts_s_per_round"] / base
        add("seconds per round, counts (new/at 1e4)", f"n={_size(row['n'])}, {common}",
            row["counts_s_per_round"], base, ratio,
            "round_growth" if row["n"] == largest and base is not None else None)
    return pd.DataFrame(rows)
