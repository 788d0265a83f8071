"""The package's cache folder: de-quantized model weights and the work folders of resumable
runs live under it."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$SRLM_CACHE_DIR``, else ``~/.cache/srlm``, else (a home that cannot be written, as on
    a bare GPU machine) a folder under the system's temporary directory."""
    if os.environ.get("SRLM_CACHE_DIR"):
        return Path(os.environ["SRLM_CACHE_DIR"])
    home = Path.home() / ".cache" / "srlm"
    try:
        home.mkdir(parents=True, exist_ok=True)
        if os.access(home, os.W_OK):
            return home
    except OSError:
        pass
    import tempfile

    return Path(tempfile.gettempdir()) / "srlm-cache"
