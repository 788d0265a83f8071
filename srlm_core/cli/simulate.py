"""``srlm simulate``: run the iterated self-rewarding simulation and print its summary."""

from __future__ import annotations

import argparse
import json

from srlm_core.device import DEVICE_CHOICES


def register(sub) -> None:
    from srlm_core.model.self_rewarding import ENGINES, REFERENCES, SimulationConfig

    parser = sub.add_parser(
        "simulate",
        help="iterate self-judging and DPO in the linear-softmax model world",
        description="Iterate self-judging and DPO (S1); report ||theta_t - theta*|| "
        "with a 95%% interval over seeds.  --n 0 runs the population update; --engine auto "
        "draws pair counts instead of pairs when n > contexts * K^2 (the same distribution).",
    )
    from srlm_core.options import add_config_arguments

    add_config_arguments(parser, SimulationConfig, reference=REFERENCES, device=DEVICE_CHOICES,
                         engine=ENGINES)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from srlm_core.model.self_rewarding import SelfRewardingRunner, SimulationConfig
    from srlm_core.options import config_from_args

    config = config_from_args(SimulationConfig, args).validate()
    result = SelfRewardingRunner(config).run()
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        import pandas as pd

        print(pd.DataFrame(result.summary()).to_string(index=False, float_format="%.4g"))
    return 0
