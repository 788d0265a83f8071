"""``srlm bound``: evaluate the S4 iterative bound for the options of ``srlm simulate``."""

from __future__ import annotations

import argparse
import json

from srlm_core.device import DEVICE_CHOICES


def register(sub) -> None:
    from srlm_core.model.self_rewarding import ENGINES, REFERENCES, SimulationConfig
    from srlm_core.options import add_config_arguments

    parser = sub.add_parser(
        "bound",
        help="evaluate the iterative finite-sample bound (S4) for simulate's options",
        description="Evaluate the S4 bound on ||theta_t - theta*|| per iteration for the same "
        "options as `srlm simulate` (which measures it), with failure probability --delta "
        "over all iterations; also the root-mean-square and KL predictions.  --seeds is "
        "accepted for symmetry and ignored: the bound is deterministic.",
    )
    add_config_arguments(parser, SimulationConfig, reference=REFERENCES, device=DEVICE_CHOICES,
                         engine=ENGINES)
    parser.add_argument(
        "--delta", type=float, default=0.05, help="failure probability (default: 0.05)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from srlm_core.model.bounds import iterative_bound, validate_delta
    from srlm_core.model.self_rewarding import SimulationConfig
    from srlm_core.options import config_from_args

    config = config_from_args(SimulationConfig, args).validate()
    validate_delta(args.delta)
    result = iterative_bound(config, delta=args.delta)
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print(result.frame.to_string(index=False, float_format="%.4g"))
    return 0
