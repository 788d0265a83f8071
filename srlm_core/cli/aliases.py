"""The command shapes that wrote records before ``srlm run``, kept as aliases of it so that the
commands stored in existing records still run (``srlm results verify``).  Each runs its
experiment through the same pipeline with the same options and writes the record that
``srlm run`` writes, with the ``srlm run`` command that recomputes it (:func:`as_run`):

* ``srlm sweep NAME ...`` and ``srlm experiment NAME ...``: ``srlm run NAME ...``;
* ``srlm bench ...``: ``srlm run engine-bench ...``, then prints the comparisons
  (``--no-record``: print only, write nothing);
* ``srlm lm ACTION ...``: the language-model experiments, ``srlm run NAME ...`` with NAME
  from :data:`LM_ACTIONS` (``srlm lm likelihood`` writes ``lm-likelihood`` unless ``--id``
  says otherwise).  Under ``torchrun --nproc-per-node N -m srlm_core.cli lm run ...`` they
  run data-parallel as ``srlm run`` does.
"""

from __future__ import annotations

import argparse

_NOTE = "(an alias kept for the commands stored in records)"
#: ``srlm lm ACTION``: the experiment it runs and the record ID it writes by default (None:
#: the experiment's own default).
LM_ACTIONS = {"run": ("language-model-runner", None), "pool": ("lm-pool", None),
              "alpha": ("controlled-alpha", None), "bench": ("lm-train-bench", None),
              "likelihood": ("likelihood-self-reward", "lm-likelihood")}


def _add(sub, command: str, help: str) -> None:
    """A command that passes its words on as they are (no option of its own: ``+`` is its
    option prefix, so that ``--field`` words reach ``srlm run``)."""
    parser = sub.add_parser(command, add_help=False, prefix_chars="+", help=f"{help} {_NOTE}")
    parser.add_argument("words", nargs="*")
    parser.set_defaults(handler=run)


def register(sub) -> None:
    for command in ("sweep", "experiment"):
        _add(sub, command, "= srlm run NAME")
    _add(sub, "bench", "= srlm run engine-bench, printing the comparisons")
    parser = sub.add_parser("lm", help=f"the language-model experiments under their old names "
                            f"{_NOTE}")
    actions = parser.add_subparsers(dest="lm_action", required=True, metavar="ACTION")
    for action, (name, result_id) in LM_ACTIONS.items():
        _add(actions, action, f"= srlm run {name}" + (f" --id {result_id}" if result_id else ""))


def as_run(words: list[str]) -> tuple[str, list[str]]:
    """An old command's words after ``srlm`` as those of ``srlm run``: the experiment's name
    and its arguments."""
    command, rest = words[0], words[1:]
    if command == "bench":
        return "engine-bench", rest
    if command == "lm":
        name, result_id = LM_ACTIONS[rest[0]]
        given = any(word == "--id" or word.startswith("--id=") for word in rest)
        return name, rest[1:] if given or not result_id else [*rest[1:], "--id", result_id]
    return rest[0], rest[1:]


def run(args: argparse.Namespace) -> int:
    from srlm_core.cli.run import listing, run_named

    words = [args.command, *filter(None, [getattr(args, "lm_action", None)]), *args.words]
    if args.command in ("sweep", "experiment") and (
            not args.words or args.words[0] in ("-h", "--help", "--list")):
        print(listing())
        return 0
    printing = args.command == "bench"
    name, argv = as_run([word for word in words if not printing or word != "--no-record"])
    record = run_named(name, argv, write=not printing or "--no-record" not in words)
    if printing and record is not None:
        from srlm_core.experiments import engine_bench

        print(engine_bench.table(record.values, record.provenance["timings"])
              .to_string(index=False, float_format="%.4g", na_rep="-"))
    return 0
