"""``srlm lab [CHAPTER]``: JupyterLab on the compendium, with the chapters opening as notebooks.

The chapters are MyST-markdown files (``book/chapters/*.md``).  jupytext's JupyterLab
extension, installed with the pinned ``jupytext``, can open them as notebooks; this command
makes that the default for Markdown and MyST files (a JupyterLab setting override,
:data:`DEFAULT_VIEWERS`, in a configuration folder of its own, :func:`config_folder`, that is
put first on ``JUPYTER_CONFIG_PATH``: the reader's own Jupyter configuration is not touched)
and starts JupyterLab at the repository root on ``book/chapters`` or on the chapter named.
Saving writes the ``.md`` file itself (JupyterLab keeps its checkpoints in
``.ipynb_checkpoints/``, which git ignores).

The kernels inherit the offline settings of the build (no model or data hub is contacted).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

#: JupyterLab setting overrides: Markdown and MyST files open with jupytext's notebook view;
#: no news or update check (JupyterLab would ask to fetch them from the internet).
DEFAULT_VIEWERS = {
    "@jupyterlab/docmanager-extension:plugin": {
        "defaultViewers": {"markdown": "Jupytext Notebook", "myst": "Jupytext Notebook"}
    },
    "@jupyterlab/apputils-extension:notification": {
        "checkForUpdates": False, "fetchNews": "false"
    },
}
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def register(sub) -> None:
    parser = sub.add_parser(
        "lab",
        help="open JupyterLab on the chapters (they open as notebooks)",
        description="Start JupyterLab at the repository root with the chapters (MyST "
        "markdown) opening as notebooks through jupytext.",
    )
    parser.add_argument(
        "chapter", nargs="?", default=None, metavar="CHAPTER",
        help="open this chapter (a .md path, or a name such as 01_operator); "
        "default: the book/chapters folder",
    )
    parser.add_argument("--port", type=int, default=None, help="port (default: JupyterLab's)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    parser.add_argument(
        "--token", default=None,
        help="access token (default: a random one, printed in the log)",
    )
    parser.set_defaults(handler=run_lab)


def write_config(folder: Path) -> Path:
    """Write the setting override under ``folder`` (a Jupyter configuration folder)."""
    labconfig = Path(folder) / "labconfig"
    labconfig.mkdir(parents=True, exist_ok=True)
    (labconfig / "default_setting_overrides.json").write_text(json.dumps(DEFAULT_VIEWERS))
    return Path(folder)


def command(args, config_dir: Path) -> tuple[list[str], dict[str, str]]:
    """The JupyterLab command line and environment for ``args``."""
    from srlm_core.publishing.chapter import CHAPTERS_DIR, resolve
    from srlm_core.publishing.provenance import REPO_ROOT

    target = resolve(args.chapter) if args.chapter else CHAPTERS_DIR
    try:
        relative = target.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        from srlm_core.errors import ConfigError

        raise ConfigError("chapter", f"{args.chapter} is not inside {REPO_ROOT}") from None
    argv = [
        sys.executable, "-m", "jupyterlab",
        f"--ServerApp.root_dir={REPO_ROOT}",
        f"--LabApp.default_url=/lab/tree/{relative}",
    ]
    if args.port is not None:
        argv.append(f"--ServerApp.port={args.port}")
    if args.no_browser:
        argv.append("--no-browser")
    if args.token is not None:
        argv.append(f"--IdentityProvider.token={args.token}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")
    paths = [str(config_dir), os.environ.get("JUPYTER_CONFIG_PATH", "")]
    env = {**os.environ, **OFFLINE,
           "JUPYTER_CONFIG_PATH": os.pathsep.join(p for p in paths if p)}
    return argv, env


def config_folder() -> Path:
    """The configuration folder of :func:`write_config` (rewritten at every start)."""
    user = os.getuid() if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"srlm-lab-config-{user}"


def run_lab(args) -> int:
    argv, env = command(args, write_config(config_folder()))
    # JupyterLab replaces this process: a signal to it (Ctrl-C, a terminate) reaches the
    # server itself, which shuts its kernels down.
    os.execve(argv[0], argv, env)
    return 0  # not reached
