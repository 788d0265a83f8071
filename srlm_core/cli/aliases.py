"""The command shapes that wrote records before ``srlm run``, kept as aliases of it so that the
commands stored in existing records still run (``srlm results verify``).  Each runs its
experiment through the same pipeline with the same options and writes the record that
``srlm run`` writes, with the ``srlm run`` command that recomputes it:

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


def add_alias(sub, command: str, help: str, handler) -> None:
    """A command that passes its words on as they are (no option of its own: ``+`` is its
    option prefix, so that ``--field`` words reach ``srlm run``)."""
    parser = sub.add_parser(command, add_help=False, prefix_chars="+", help=f"{help} {_NOTE}")
    parser.add_argument("words", nargs="*")
    parser.set_defaults(handler=handler)


def register(sub) -> None:
    for command in ("sweep", "experiment"):
        add_alias(sub, command, "= srlm run NAME", named)
    add_alias(sub, "bench", "= srlm run engine-bench, printing the comparisons", bench)
    parser = sub.add_parser("lm", help=f"the language-model experiments under their old names "
                            f"{_NOTE}")
    actions = parser.add_subparsers(dest="lm_action", required=True, metavar="ACTION")
    for action, (name, result_id) in LM_ACTIONS.items():
        add_alias(actions, action, f"= srlm run {name}" + (
            f" --id {result_id}" if result_id else ""), language_model)


def named(args: argparse.Namespace) -> int:
    """``srlm sweep|experiment NAME ...``: ``srlm run NAME ...`` (no NAME, ``--help`` or
    ``--list``: the experiments)."""
    from srlm_core.cli.run import listing, run_named

    if not args.words or args.words[0] in ("-h", "--help", "--list"):
        print(listing())
        return 0
    run_named(args.words[0], args.words[1:])
    return 0


def bench(args: argparse.Namespace) -> int:
    """``srlm bench ...``: ``srlm run engine-bench ...`` and the comparisons side by side."""
    from srlm_core.cli.run import run_named
    from srlm_core.experiments import engine_bench

    words = [word for word in args.words if word != "--no-record"]
    record = run_named("engine-bench", words, write=words == args.words)
    print(engine_bench.table(record.values, record.provenance["timings"])
          .to_string(index=False, float_format="%.4g", na_rep="-"))
    return 0


def language_model(args: argparse.Namespace) -> int:
    """``srlm lm ACTION ...``: ``srlm run NAME ...`` (:data:`LM_ACTIONS`)."""
    from srlm_core.cli.run import run_named

    name, result_id = LM_ACTIONS[args.lm_action]
    given = any(word == "--id" or word.startswith("--id=") for word in args.words)
    run_named(name, args.words if given or not result_id else [*args.words, "--id", result_id])
    return 0
