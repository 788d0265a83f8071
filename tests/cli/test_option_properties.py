"""Random option values for ``srlm simulate``, ``srlm bound`` and ``srlm sweep`` (Hypothesis):
a command either runs or exits with status 2 and an error line naming the option, never with a
traceback.  Sizes stay tiny so that the runs take milliseconds; the hostile values (nan, inf,
huge, negative, malformed) are where a traceback would hide."""

import contextlib
import io
import json
import math
import re

import pytest

pytest.importorskip("hypothesis", reason="hypothesis is in requirements.in (property tests)")
from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from srlm_core.cli import main  # noqa: E402
from srlm_core.errors import ConfigError  # noqa: E402

#: Modest example counts and no deadline: the whole file runs in seconds.
CLI = settings(max_examples=30, deadline=None, database=None,
               suppress_health_check=[HealthCheck.too_slow])

#: Non-numbers, infinities, out-of-range values, and large scales the config accepts but
#: that saturate every sigmoid and softmax (where a solver or a factorisation breaks)
HOSTILE_NUMBERS = ["nan", "inf", "-inf", "1e308", "-1", "0", "-0.0", "1e-300", "abc", "",
                   "60", "1000", "9000"]
HOSTILE_INTEGERS = ["-1", "0", "1e3", "abc", "", "99999999999999999999", "2.5"]


def _number(low: float, high: float):
    """A valid float option in [low, high], or a hostile string."""
    valid = st.floats(low, high, allow_nan=False).map(repr)
    return st.one_of(valid, valid, st.sampled_from(HOSTILE_NUMBERS))


def _integer(low: int, high: int, huge=()):
    """A small valid integer option, a size far beyond memory, or a hostile string."""
    valid = st.integers(low, high).map(str)
    return st.one_of(valid, valid, valid, st.sampled_from([*HOSTILE_INTEGERS, *huge]))


SIMULATION_OPTIONS = {
    "--alpha": _number(0.0, 1.0),
    "--beta": _number(0.1, 5.0),
    "--n": _integer(0, 300, huge=["1000000000000000"]),
    "--iters": _integer(0, 2),
    "--d": _integer(1, 4, huge=["1000000000"]),
    "--K": _integer(2, 4),
    "--contexts": _integer(1, 4, huge=["100000000"]),
    "--init-dist": _number(0.0, 3.0),
    "--signal": _number(0.0, 3.0),
    "--lam": _number(0.0, 1.0),
    "--seeds": _integer(1, 3),
    "--reference": st.sampled_from(["fixed", "moving", "sideways"]),
    # a seed beyond 64 bits is test_a_seed_beyond_64_bits_is_refused (an expected failure)
    "--seed": st.one_of(st.integers(0, 50).map(str), st.sampled_from(["-1", "abc", "", "2.5"])),
    "--device": st.sampled_from(["cpu", "auto", "tpu"]),
    "--engine": st.sampled_from(["auto", "counts", "samples", "fast"]),
}


def _argv(options: dict, chosen: dict) -> list[str]:
    return [part for name in options if name in chosen for part in (name, chosen[name])]


@st.composite
def option_values(draw, options: dict):
    """A random subset of ``options`` with a value for each; tiny sizes unless overridden."""
    names = draw(st.lists(st.sampled_from(sorted(options)), unique=True, max_size=len(options)))
    chosen = {name: draw(options[name]) for name in names}
    # keep the runs tiny when a size option is not drawn (the defaults run 6 x 1000 x 8)
    defaults = {"--n": "50", "--iters": "1", "--seeds": "2", "--d": "3", "--contexts": "4",
                "--K": "3"}
    return {**{k: v for k, v in defaults.items() if k in options}, **chosen}


def _call(argv: list[str]) -> tuple[int, str, str]:
    """Exit status, stdout and stderr of ``srlm ARGV``; any other exception propagates (a
    traceback the user would see)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as exit_:  # argparse: usage and one error line
            status = exit_.code
    return status, out.getvalue(), err.getvalue()


def _assert_runs_or_names_the_option(command: str, argv: list[str], options) -> str:
    status, out, err = _call([command, *argv])
    assert "Traceback" not in err
    if status == 0:
        return out
    assert status == 2, (argv, err)
    lines = err.strip().splitlines()
    if lines and lines[0].startswith("usage:"):  # argparse: the last line names the argument
        assert re.search(r"error: (argument --[\w-]+|unrecognized arguments)", lines[-1]), err
    else:
        assert len(lines) == 1, err
        match = re.match(rf"srlm {command}: error: (--[\w-]+): ", lines[0])
        assert match and match.group(1) in options, err
    return ""


def _finite_numbers(value) -> bool:
    if isinstance(value, dict):
        return all(_finite_numbers(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite_numbers(v) for v in value)
    return not isinstance(value, float) or math.isfinite(value)


def _options(text: str) -> dict:
    parts = text.split()
    return dict(zip(parts[::2], parts[1::2], strict=True))


#: Inputs that ended in a traceback before this suite (Cholesky of a singular pair covariance in
#: feature_condition_number, sigma' by cosh overflowing, an overflowing ridge), kept as examples.
FOUND_SIMULATE = [
    "--n 0 --iters 1 --d 3 --K 3 --contexts 1 --seeds 2",  # pairs do not span R^d
    "--init-dist 9000 --n 0 --iters 1 --seeds 1",  # a deterministic initial policy
    "--signal 9000 --n 0 --iters 1 --seeds 1",  # a deterministic target
]
FOUND_BOUND = [
    "--n 50 --iters 1 --d 3 --K 3 --contexts 1",  # no estimate without a ridge
    "--signal 5000 --iters 1",
    "--beta 5000 --iters 1",  # cosh(margin / 2) overflowed
    "--n 50 --iters 1 --d 3 --K 3 --contexts 4 --lam 1e308",  # the ridge overflows
]


@CLI
@given(option_values(SIMULATION_OPTIONS))
@example(_options(FOUND_SIMULATE[0]))
@example(_options(FOUND_SIMULATE[1]))
@example(_options(FOUND_SIMULATE[2]))
def test_simulate_runs_or_exits_2_naming_the_option(chosen):
    out = _assert_runs_or_names_the_option(
        "simulate", [*_argv(SIMULATION_OPTIONS, chosen), "--json"], SIMULATION_OPTIONS)
    if out:
        record = json.loads(out)
        assert [row["t"] for row in record["iterations"]] == list(
            range(record["params"]["iters"] + 1))


@CLI
@given(option_values({**SIMULATION_OPTIONS, "--delta": _number(0.0, 1.0)}))
@example(_options(FOUND_BOUND[0]))
@example(_options(FOUND_BOUND[1]))
@example(_options(FOUND_BOUND[2]))
@example(_options(FOUND_BOUND[3]))
def test_bound_runs_or_exits_2_naming_the_option(chosen):
    options = {**SIMULATION_OPTIONS, "--delta": None}
    _assert_runs_or_names_the_option("bound", [*_argv(options, chosen), "--json"], options)


@pytest.mark.parametrize("argv", FOUND_BOUND[:3])
def test_bound_without_an_estimate_suggests_a_ridge(argv):
    """Where the pairs cannot identify theta (too few differences, or margins so large that
    the labels are deterministic) the bound does not exist at lambda = 0: one line naming
    --lam, before any work."""
    status, _, err = _call(["bound", *argv.split()])
    assert status == 2 and err.startswith("srlm bound: error: --lam: 0 leaves the DPO estimate")
    assert "--lam 1e-3" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv", FOUND_SIMULATE)
def test_simulate_with_singular_pair_covariances_reports_infinite_kappa_sigma(argv):
    """The runs that crashed in the Cholesky factor of H_pi now report kappa_Sigma = inf
    (H_pi is singular to working precision) and finite everything else."""
    status, out, err = _call(["simulate", *argv.split(), "--json"])
    assert status == 0, err
    rows = json.loads(out)["iterations"]
    assert math.isinf(rows[0]["kappa_sigma_mean"])
    assert all(math.isfinite(row["dist_mean"]) for row in rows)


@pytest.mark.parametrize("command", ["simulate", "bound"])
def test_a_seed_beyond_64_bits_is_refused(command):
    status, _, err = _call([command, "--n", "10", "--iters", "1", "--seeds", "1", "--seed",
                            "99999999999999999999"])
    assert status == 2 and "--seed" in err


def test_simulate_refuses_an_overflowing_ridge():
    status, _, err = _call(["simulate", "--n", "0", "--iters", "1", "--seeds", "1", "--lam",
                            "1e308"])
    assert status == 2 and "--lam" in err


@pytest.mark.xfail(strict=True, reason=(
    "found by the properties: with a deterministic initial policy (--init-dist 9000) the "
    "population step's informative pairs weigh ~0 and the solver stops at once (absolute "
    "gradient tolerance in fit_logistic), so srlm simulate prints dist 9000 after a round "
    "that should halve it; the stored records were computed with this stopping rule, so "
    "the solver is left as it is"))
def test_population_round_contracts_from_a_deterministic_policy():
    status, out, _ = _call(["simulate", "--init-dist", "9000", "--n", "0", "--iters", "1",
                            "--seeds", "1", "--json"])
    rows = json.loads(out)["iterations"]
    assert status == 0 and rows[1]["dist_mean"] == pytest.approx(4500, rel=1e-3)


@pytest.mark.parametrize("sweep", ["iterative", "effective-dimension"])
def test_sweep_options_parse_and_validate_or_name_the_option(sweep):
    """``srlm run NAME`` options (every field of the sweep's Config): random values either
    parse and validate, or the parser raises a ConfigError naming the option, or validation
    raises one naming a field; nothing else.  The sweep itself is not run (it is heavy)."""
    from srlm_core import experiments
    from srlm_core.cli.run import config_from, parser_for
    from srlm_core.options import option_fields

    module = experiments.load(sweep)
    parser = parser_for(sweep, module)
    known = {o.name: o for o in option_fields(module.Config)}  # nested fields spelled flat
    fields = {a.dest: a for a in parser._actions if a.option_strings and a.dest in known}

    def value_for(action):
        default = known[action.dest].default
        if isinstance(default, bool):
            return st.sampled_from(["true", "false", "maybe"])
        if isinstance(default, int):
            return _integer(0, 3 * max(default, 1))
        if isinstance(default, float):
            return _number(0.0, 2 * max(default, 1.0))
        if isinstance(default, tuple):
            return st.sampled_from([",".join(map(str, default)), "", "0.5,0.5", "1,abc"])
        return st.sampled_from([str(default), "", "cuda", "other"])

    strategy = st.fixed_dictionaries({a.option_strings[0]: value_for(a) for a in fields.values()})

    @CLI
    @given(st.lists(st.sampled_from(sorted(fields)), unique=True), strategy)
    def check(names, values):
        argv = []
        for dest in names:
            flag = fields[dest].option_strings[0]
            argv += [flag, values[flag]]
        try:
            config_from(module, parser.parse_args(argv)).validate()
        except ConfigError as error:
            assert error.field.replace("-", "_") in known

    check()
