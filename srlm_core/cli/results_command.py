"""``srlm results``: list, show, re-verify the result registry, and execute a chapter.

* ``srlm results list``: every record with its status (a bad record is listed as INVALID and
  the command exits 2);
* ``srlm results show ID``: one record (``--json`` for the raw validated record);
* ``srlm results verify ID... | --all [--fast] [--jobs N]``: re-run each record's ``command`` with
  ``--results-dir TMP`` appended, compare the new values leaf by leaf within the record's
  tolerance, print every difference (``--jobs`` commands at a time, default the cores);
  exit 1 on a mismatch;
* ``srlm results chapter-bench [--isa avx2]``: execute each language-model chapter alone and
  record its seconds against its budget (:mod:`srlm_core.publishing.chapter_bench`);
* ``srlm results execute CHAPTER``: execute a chapter notebook outside the book (a path, or a
  name such as ``01_operator`` or ``01`` under book/chapters) and write its executed notebook
  and an HTML page that reads offline to ``--output-dir`` (default book/_build/executed,
  :mod:`srlm_core.publishing.chapter`); its live results (``srlm_core.publishing.report``)
  go to ``--results-dir`` (default: a new temporary folder).  This is the regenerating
  command of every live, chapter-scoped result.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_DIR_HELP = "registry folder (default data/results)"


def register(sub) -> None:
    parser = sub.add_parser("results", help="list, show and re-verify recorded results")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser("list", help="all records with their status")
    listing.add_argument("--results-dir", type=Path, default=None, help=_DIR_HELP)
    listing.set_defaults(handler=run_list)

    show = actions.add_parser("show", help="one record: values, parameters, provenance")
    show.add_argument("id", metavar="ID", help="result ID (or path to a record)")
    show.add_argument("--json", action="store_true", help="print the validated record as JSON")
    show.add_argument("--bibtex", action="store_true", help="print a BibTeX entry citing it")
    show.add_argument("--results-dir", type=Path, default=None, help=_DIR_HELP)
    show.set_defaults(handler=run_show)

    verify = actions.add_parser(
        "verify", help="re-run records and compare within their tolerance"
    )
    verify.add_argument("ids", nargs="*", metavar="ID", help="result IDs")
    verify.add_argument("--all", action="store_true", help="every record in the registry")
    verify.add_argument(
        "--fast", action="store_true",
        help="only records whose recorded wall time is short, benchmarks left out (a re-run "
             "of a benchmark measures anew: nox -s bench)"
    )
    verify.add_argument(
        "--fast-threshold", type=float, default=None, help="seconds (default 120)"
    )
    verify.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1,
        help="commands re-run at a time, each in its own process (default: the cores)"
    )
    verify.add_argument("--results-dir", type=Path, default=None, help=_DIR_HELP)
    verify.set_defaults(handler=run_verify)

    execute = actions.add_parser(
        "execute",
        help="execute a chapter: its notebook, HTML page and live results",
        description="Execute a chapter top to bottom and write the executed notebook "
        "(CHAPTER.ipynb) and a page of it (CHAPTER.html, reads offline).",
    )
    execute.add_argument(
        "notebook", type=Path, metavar="CHAPTER",
        help="a chapter .md file, or its name under book/chapters (01_operator, or 01)",
    )
    execute.add_argument(
        "--output-dir", type=Path, default=None,
        help="folder for the executed notebook and its page (default book/_build/executed)",
    )
    execute.add_argument(
        "--results-dir", type=Path, default=None,
        help="folder for the chapter's live result records (default: a new temporary folder)",
    )
    execute.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    execute.set_defaults(handler=run_execute)

    from srlm_core.publishing import chapter_bench

    bench = actions.add_parser(
        "chapter-bench", help="time each language-model chapter alone against its budget",
        description=f"{chapter_bench.TITLE}; writes the record chapter-bench-ISA (the seconds "
        "in its provenance) and exits 1 when a chapter goes over its budget.")
    chapter_bench.add_arguments(bench)
    bench.set_defaults(handler=chapter_bench.run_and_record)


def _fail(message: str) -> int:
    print(f"srlm results: error: {message}", file=sys.stderr)
    return 2


def _directory(args) -> Path:
    from srlm_core.publishing.results import RESULTS_DIR

    return args.results_dir or RESULTS_DIR


def _short(value, width: int = 60) -> str:
    import json

    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= width else text[: width - 3] + "..."


def run_list(args) -> int:
    from srlm_core.publishing.results import (
        ResultError,
        is_benchmark,
        is_fast,
        list_records,
        load_record,
    )

    directory = _directory(args)
    ids = list_records(directory)
    if not ids:
        print(f"no records in {directory}")
        return 0
    bad = 0
    for result_id in ids:
        try:
            record = load_record(result_id, directory)
        except ResultError as err:
            bad += 1
            print(f"{result_id:28s} INVALID  {err}")
            continue
        wall = record.wall_time_s
        speed = "bench" if is_benchmark(record) else "fast" if is_fast(record) else "slow"
        timing = f"{wall:8.1f} s" if wall is not None else "       ? s"
        commit = record.short_commit
        print(f"{result_id:28s} ok  {timing} {speed}  {commit:16s} {record.title}")
    return 2 if bad else 0


def run_show(args) -> int:
    import json

    from srlm_core.publishing.results import ResultError, code_paths, load_record

    try:
        record = load_record(args.id, _directory(args))
    except ResultError as err:
        return _fail(str(err))
    if args.json:
        print(json.dumps(record.content(), indent=2, sort_keys=True))
        return 0
    if args.bibtex:
        from srlm_core.publishing.citation import result_bibtex

        print(result_bibtex(record))
        return 0
    prov = record.provenance
    lines = [
        f"id:          {record.id}",
        f"title:       {record.title}",
        f"command:     {record.command}",
        f"code:        {', '.join(code_paths(record)) or '(not recorded)'}",
        f"tolerance:   rtol {record.tolerance['rtol']:g}, atol {record.tolerance['atol']:g}",
        f"commit:      {prov['git_commit']}" + (" (dirty tree)" if prov["git_dirty"] else ""),
        f"srlm_core:   {prov['srlm_core_version']}",
        f"hardware:    {_short(prov['hardware'], 100)}",
        f"wall time:   {prov.get('wall_time_s')} s",
        f"created:     {prov.get('created')}",
        "params:",
        *(f"  {k} = {_short(v)}" for k, v in sorted(record.params.items())),
        "values:",
        *(f"  {k} = {_short(v)}" for k, v in sorted(record.values.items())),
        "packages:",
        *(f"  {k} {v}" for k, v in sorted(prov["packages"].items())),
    ]
    print("\n".join(lines))
    return 0


def run_command(command: str, workdir: Path, workers: int = 1) -> str | None:
    """Run a record's ``command`` with ``--results-dir workdir``, with its share of the cores
    for ``workers`` commands at a time; an error message or None."""
    import shlex
    import subprocess

    from srlm_core.publishing.provenance import REPO_ROOT

    words = shlex.split(command)
    entry = "import sys; from srlm_core.cli import main; sys.exit(main())"
    argv = [sys.executable, "-c", entry, *words[1:], "--results-dir", str(workdir)]
    from srlm_core.threads import worker_environment

    proc = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True,
                          env={**os.environ, **worker_environment(workers)})
    if proc.returncode != 0:
        log = (proc.stdout + proc.stderr).strip()
        return f"the command exited with status {proc.returncode}:\n{log[-2000:]}"
    return None


def check(record, workdir: Path, wall: float) -> bool:
    """Compare ``record`` with the re-run in ``workdir``; print PASS or FAIL and each
    differing value."""
    from srlm_core.publishing.results import ResultError, compare_values, load_record

    try:
        new = load_record(record.id, workdir)
    except ResultError as err:
        print(f"FAIL  {record.id}: the re-run did not write a valid record: {err}")
        return False
    rtol, atol = record.tolerance["rtol"], record.tolerance["atol"]
    diffs = compare_values(record.values, new.values, rtol, atol)
    diffs += compare_values(record.params, new.params, 0.0, 0.0, "params")
    if not diffs:
        print(f"PASS  {record.id}  (all values within rtol {rtol:g}, atol {atol:g}; {wall:.1f} s)")
        return True
    print(f"FAIL  {record.id}: {len(diffs)} value(s) differ (rtol {rtol:g}, atol {atol:g}):")
    for diff in diffs:
        extra = ""
        if diff.abs_diff is not None:
            extra = f"  |diff| {diff.abs_diff:.3g}"
            if diff.rel_diff is not None:
                extra += f"  rel {diff.rel_diff:.3g}"
        print(f"      {diff.path}: recorded {_short(diff.recorded, 40)}, "
              f"re-run {_short(diff.rerun, 40)}{extra}")
    return False


def verify(records, jobs: int = 1) -> list[bool]:
    """Re-run each distinct command once (a chapter writes several records), ``jobs`` commands
    at a time (the longest recorded first; each runs in its own process), and check every
    record it regenerates, in the order given."""
    import tempfile
    import time
    from concurrent.futures import ThreadPoolExecutor

    by_command: dict[str, list] = {}
    for record in records:
        by_command.setdefault(record.command, []).append(record)
    jobs = max(1, min(jobs, len(by_command)))

    def rerun(command: str, workdir: str) -> tuple[str | None, float]:
        Path(workdir).mkdir()
        start = time.perf_counter()
        error = run_command(command, Path(workdir), jobs)
        return error, time.perf_counter() - start

    longest_first = sorted(by_command, key=lambda c: -max(r.wall_time_s or 0.0
                                                          for r in by_command[c]))
    with tempfile.TemporaryDirectory(prefix="srlm-verify-") as tmp:
        folders = {command: Path(tmp) / str(i) for i, command in enumerate(by_command)}
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {command: pool.submit(rerun, command, str(folders[command]))
                       for command in longest_first}
        outcomes = []
        for command, group in by_command.items():
            error, wall = futures[command].result()
            for record in group:
                if error:
                    print(f"FAIL  {record.id}: {error}")
                outcomes.append(not error and check(record, folders[command], wall))
    return outcomes


def run_verify(args) -> int:
    from srlm_core.errors import ConfigError
    from srlm_core.publishing.results import (
        FAST_SECONDS,
        ResultError,
        is_benchmark,
        is_fast,
        list_records,
        load_record,
    )

    if bool(args.ids) == bool(args.all):
        raise ConfigError("all", "give result IDs or --all (not both)")
    threshold = FAST_SECONDS if args.fast_threshold is None else args.fast_threshold
    if threshold <= 0:
        raise ConfigError("fast_threshold", f"must be positive seconds, got {threshold}")
    directory = _directory(args)
    ids = list_records(directory) if args.all else args.ids
    try:
        records = [load_record(result_id, directory) for result_id in ids]
    except ResultError as err:
        return _fail(str(err))
    if args.fast:
        benches = [r.id for r in records if is_benchmark(r)]
        slow = [r.id for r in records if not is_benchmark(r) and not is_fast(r, threshold)]
        records = [r for r in records if is_fast(r, threshold)]
        if slow:
            print(f"skipped (recorded wall time >= {threshold:g} s): {', '.join(slow)}")
        if benches:
            print(f"skipped (benchmarks: a re-run measures anew, nox -s bench): "
                  f"{', '.join(benches)}")
    if not records:
        print(f"nothing to verify in {directory}")
        return 0
    if args.jobs < 1:
        raise ConfigError("jobs", f"must be at least 1, got {args.jobs}")
    results = verify(records, args.jobs)
    print(f"{sum(results)} of {len(results)} result(s) reproduced")
    return 0 if all(results) else 1


def run_execute(args) -> int:
    import os

    from srlm_core.publishing import chapter
    from srlm_core.publishing.report import LIVE_DIR_ENV

    live = args.results_dir
    if live is None and os.environ.get(LIVE_DIR_ENV):
        live = Path(os.environ[LIVE_DIR_ENV])  # a caller (a book build) named the folder
    try:
        run = chapter.execute(args.notebook, live_results=live, output=args.output_dir,
                              timeout=args.timeout)
    except chapter.ChapterFailed as err:
        return _fail(f"{args.notebook}: {err}")
    print(f"executed {run.chapter}")
    print(f"  notebook:     {run.notebook}")
    print(f"  page:         {run.page}")
    print(f"  live results: {run.live_results}")
    return 0
