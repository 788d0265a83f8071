"""``srlm lab``: JupyterLab on the repository, the chapters opening as notebooks (jupytext)."""

import json
import socket
import subprocess
import sys
import time
import urllib.request
from argparse import Namespace
from pathlib import Path

import pytest

from srlm_core.cli import lab, main
from srlm_core.publishing.chapter import CHAPTERS_DIR
from srlm_core.publishing.provenance import REPO_ROOT


def args(**kw):
    return Namespace(**{"chapter": None, "port": None, "no_browser": False, "token": None, **kw})


def test_command_opens_the_chapters_with_jupytext_as_default_viewer(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", "/etc/mine")
    config = lab.write_config(tmp_path)
    overrides = json.loads((config / "labconfig" / "default_setting_overrides.json").read_text())
    viewers = overrides["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]
    assert viewers == {"markdown": "Jupytext Notebook", "myst": "Jupytext Notebook"}

    argv, env = lab.command(args(no_browser=True, port=8899), config)
    assert argv[:3] == [sys.executable, "-m", "jupyterlab"]
    assert f"--ServerApp.root_dir={REPO_ROOT}" in argv
    assert "--LabApp.default_url=/lab/tree/book/chapters" in argv
    assert "--no-browser" in argv and "--ServerApp.port=8899" in argv
    assert env["JUPYTER_CONFIG_PATH"].split(":") == [str(config), "/etc/mine"]
    assert env["HF_HUB_OFFLINE"] == "1"


def test_command_opens_a_named_chapter(tmp_path):
    first = sorted(CHAPTERS_DIR.glob("*.md"))[0]
    argv, _ = lab.command(args(chapter=first.stem), tmp_path)
    assert f"--LabApp.default_url=/lab/tree/book/chapters/{first.name}" in argv


def test_help(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["lab", "--help"])
    assert exit_.value.code == 0 and "notebooks" in capsys.readouterr().out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:  # loopback only
        return json.loads(response.read())


@pytest.mark.slow
def test_lab_serves_a_chapter_as_a_notebook(tmp_path):
    """Start `srlm lab` on loopback, ask its contents API for a chapter as a notebook (the
    jupytext server extension converts it) and its settings API for the default viewer."""
    port, token = _free_port(), "srlm-test-token"
    chapter = sorted(CHAPTERS_DIR.glob("*.md"))[0]
    log = (tmp_path / "lab.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from srlm_core.cli import main; sys.exit(main())",
         "lab", chapter.stem, "--no-browser", "--port", str(port), "--token", token],
        stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                _get(f"{base}/api/status?token={token}")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(Path(log.name).read_text()[-3000:]) from None
                time.sleep(0.5)
        relative = chapter.relative_to(REPO_ROOT).as_posix()
        model = _get(f"{base}/api/contents/{relative}?type=notebook&content=1&token={token}")
        assert model["type"] == "notebook"
        assert any(cell["cell_type"] == "code" for cell in model["content"]["cells"])
        settings = _get(f"{base}/lab/api/settings/@jupyterlab/docmanager-extension:plugin"
                        f"?token={token}")
        viewers = settings["schema"]["properties"]["defaultViewers"]["default"]
        assert viewers["markdown"] == "Jupytext Notebook"
    finally:
        proc.terminate()  # JupyterLab replaced `srlm lab`: the server itself stops
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        finally:
            log.close()
