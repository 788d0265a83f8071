"""``srlm run --help | head -1``: a reader that closes stdout early ends the command quietly
(status 1, no BrokenPipeError traceback on stderr)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def test_a_pipe_closed_before_any_output_ends_quietly():
    # The read end is closed before the command writes, so every write hits a broken pipe.
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run([sys.executable, "-m", "srlm_core.cli", "run", "--help"],
                              stdout=write, stderr=subprocess.PIPE, text=True, env=_env(),
                              timeout=60)
    finally:
        os.close(write)
    assert "Traceback" not in done.stderr
    assert "BrokenPipeError" not in done.stderr
    assert done.returncode == 1


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX shell pipeline")
def test_a_reader_that_closes_after_one_line_sees_no_traceback():
    command = f"{sys.executable} -m srlm_core.cli run --help | head -1"
    done = subprocess.run(command, shell=True, capture_output=True, text=True, env=_env(),
                          timeout=60)
    assert done.stdout.startswith("usage: srlm run")
    assert done.stdout.count("\n") == 1
    assert "Traceback" not in done.stderr
