import math
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
# Under pytest-xdist (nox -s tests runs one worker per core) each worker's torch gets its share
# of the cores: N workers of N threads each would oversubscribe them.
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _WORKERS > 1:
    from srlm_core.threads import worker_environment

    os.environ.update(worker_environment(_WORKERS))

try:  # the property tests: no example database, no per-example deadline (the first example
    # pays torch's warm-up), and Hypothesis's own files in a temporary folder, not in a
    # .hypothesis folder of the working directory
    from hypothesis import configuration as _hypothesis_configuration
    from hypothesis import settings as _hypothesis_settings
except ImportError:  # the property tests skip themselves
    _hypothesis_configuration = None
else:
    _hypothesis_settings.register_profile("srlm", database=None, deadline=None)
    _hypothesis_settings.load_profile("srlm")


def pytest_configure(config):
    if _hypothesis_configuration is not None and not os.environ.get(
            "HYPOTHESIS_STORAGE_DIRECTORY"):
        config._srlm_hypothesis_home = tempfile.mkdtemp(prefix="srlm-hypothesis-")
        _hypothesis_configuration.set_hypothesis_home_dir(config._srlm_hypothesis_home)


def pytest_unconfigure(config):
    home = getattr(config, "_srlm_hypothesis_home", None)
    if home:
        shutil.rmtree(home, ignore_errors=True)

#: The de-quantized model folders of srlm_core.lm.model_loading that a test session may reuse
#: (read only) from the developer's default cache instead of rebuilding them (about 30 s).
_MODEL_CACHE_GLOB = "smollm2-135m-instruct-*"


@pytest.fixture(scope="session", autouse=True)
def srlm_cache_dir(tmp_path_factory):
    """Every cache the package writes goes to a temporary folder: ``SRLM_CACHE_DIR`` points at
    a session folder unless the developer set it.  Finished de-quantized model folders of the
    default cache (``~/.cache/srlm``) are linked in, so the slow model tests stay fast and
    offline without writing there; a missing one is built inside the session folder, which
    the pytest-xdist workers share (the build is atomic; a worker finding it built reuses
    it)."""
    if os.environ.get("SRLM_CACHE_DIR"):
        yield Path(os.environ["SRLM_CACHE_DIR"])
        return
    if os.environ.get("PYTEST_XDIST_WORKER"):  # the workers' temporary folders share a parent
        folder = tmp_path_factory.getbasetemp().parent / "srlm-cache"
        folder.mkdir(exist_ok=True)
    else:
        folder = tmp_path_factory.mktemp("srlm-cache")
    default = Path.home() / ".cache" / "srlm"
    for built in sorted(default.glob(_MODEL_CACHE_GLOB)) if default.is_dir() else []:
        if (built / "model.safetensors").is_file() and not (folder / built.name).exists():
            try:
                (folder / built.name).symlink_to(built, target_is_directory=True)
            except FileExistsError:  # another worker linked it meanwhile
                pass
    os.environ["SRLM_CACHE_DIR"] = str(folder)
    try:
        yield folder
    finally:
        os.environ.pop("SRLM_CACHE_DIR", None)


@pytest.fixture(autouse=True)
def restore_srlm_environment():
    """Undo every change a test makes to the ``SRLM_*`` environment variables, also those made
    by the code under test (``srlm results execute`` and the book's cache extension set
    ``SRLM_LIVE_RESULTS_DIR`` and ``SRLM_NOTEBOOK`` in ``os.environ``), which
    ``monkeypatch.delenv(..., raising=False)`` on an absent variable does not restore."""
    before = {k: v for k, v in os.environ.items() if k.startswith("SRLM_")}
    yield
    for key in [k for k in os.environ if k.startswith("SRLM_") and k not in before]:
        del os.environ[key]
    os.environ.update(before)


@pytest.fixture(autouse=True)
def no_figure_left_open():
    """A test that leaves a matplotlib figure open fails itself (its figures are closed), so
    that a later test checking that its own figures were closed is not blamed."""
    yield
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None and plt.get_fignums():
        left = plt.get_fignums()
        plt.close("all")
        pytest.fail(f"figures left open: {left} (close them with plt.close(fig))")


def _pool_answers(tokenizer, texts, verdicts):
    """Pool answers (ids as stored) for ``texts``; some failing ones marked edited."""
    out = []
    for text, g in zip(texts, verdicts, strict=True):
        ids = tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        out.append({"text": text, "ids": " ".join(map(str, ids)), "g": g, "logp0": 0.0,
                    "source": "sampled" if g or len(text) % 2 else "edited", "edit": None})
    return out


@pytest.fixture(scope="session")
def tiny_pool():
    """A pool for the tiny random model: 3 training prompts and 2 held-out ones, K = 4."""
    from srlm_core.lm.pool import pool_from_values
    from srlm_core.lm.tiny import tiny_tokenizer

    tokenizer = tiny_tokenizer()
    lower = [{"kind": "lowercase", "value": None}]
    prompts = []
    for i, (split, topic) in enumerate([("train", "rain"), ("train", "tea"), ("train", "owls"),
                                        ("heldout", "maps"), ("heldout", "salt")]):
        texts = [f"{topic} is nice.", f"{topic.title()} Is Nice.", f"i like {topic}.",
                 f"I Like {topic.title()}!"]
        prompts.append({"split": split, "id": i, "instruction": f"Describe {topic}.",
                        "constraints": lower,
                        "answers": _pool_answers(tokenizer, texts, [1, 0, 1, 0])})
    scan = [{"id": i, "sampled_pass_rate": 0.25 * i} for i in range(5)]
    return pool_from_values({"prompts": prompts, "scan": scan, "summary": {}})


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium for the browser tests: skipped where it is missing, except in CI
    (.ci/run installs it, so there a missing browser fails the test)."""
    from srlm_core.publishing.browser import BrowserMissing, find_chromium

    try:
        return find_chromium()
    except BrowserMissing as err:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(err))


def _ols_slope_interval(x, y, confidence: float = 0.95) -> tuple[float, float, float]:
    """(slope, lo, hi) of the least-squares line of y on x from the normal equations and the
    textbook standard error sqrt(SSR / (m - 2) / Sxx) with a Student-t quantile: an
    independent derivation for tests of srlm_core.stats.fit_slope's callers."""
    from scipy import stats

    x, y = np.asarray(x, float), np.asarray(y, float)
    dx, dy = x - x.mean(), y - y.mean()
    sxx = float(dx @ dx)
    slope = float(dx @ dy) / sxx
    residual = dy - slope * dx
    se = math.sqrt(float(residual @ residual) / (len(x) - 2) / sxx)
    half = stats.t.ppf(0.5 + confidence / 2, len(x) - 2) * se
    return slope, slope - half, slope + half


@pytest.fixture(scope="session")
def ols_slope_interval():
    """The least-squares slope and its t interval, derived independently of fit_slope."""
    return _ols_slope_interval
