"""lm.model_loading: the de-quantized model cache lives under ``SRLM_CACHE_DIR`` (a temporary
folder in the tests), is keyed by the GGUF file and the transformers version, is read without
rebuilding, and is written atomically.  The GGUF reader is replaced by the tiny model, so no
test here needs the packaged weights."""

import re
import sys
import types
from pathlib import Path

import pytest
import transformers

from srlm_core.lm import model_loading
from srlm_core.lm.tiny import tiny_model, tiny_tokenizer


def _gguf(folder: Path, size: int, name: str = model_loading.GGUF_FILE) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(b"\0" * size)
    return path


def test_the_test_session_caches_in_a_temporary_folder(srlm_cache_dir):
    """The autouse session fixture points SRLM_CACHE_DIR away from ~/.cache/srlm (unless the
    developer set it), so a test that builds the model cache writes nowhere else."""
    assert model_loading.cache_dir() == Path(srlm_cache_dir)


def test_cache_key_follows_the_file_and_the_transformers_version(tmp_path, monkeypatch):
    """The key changes when the GGUF file's name or size changes or transformers is upgraded
    (a new de-quantization), and not otherwise: the same file in another folder (a new
    virtual environment) reuses the cache."""
    key = model_loading._cache_key(_gguf(tmp_path / "a", 100))
    assert re.fullmatch(r"[0-9a-f]{12}", key)
    assert model_loading._cache_key(_gguf(tmp_path / "a", 100)) == key
    assert model_loading._cache_key(_gguf(tmp_path / "b", 100)) == key
    assert model_loading._cache_key(_gguf(tmp_path / "c", 101)) != key
    assert model_loading._cache_key(_gguf(tmp_path / "d", 100, "other.gguf")) != key
    upgraded = types.SimpleNamespace(__version__=transformers.__version__ + ".post1")
    monkeypatch.setitem(sys.modules, "transformers", upgraded)  # what _cache_key imports
    assert model_loading._cache_key(_gguf(tmp_path / "a", 100)) != key


@pytest.fixture
def fake_gguf(tmp_path, monkeypatch):
    """A GGUF file that the loader reads as the tiny model; the cache in ``tmp_path/cache``."""
    monkeypatch.setenv("SRLM_CACHE_DIR", str(tmp_path / "cache"))
    source = _gguf(tmp_path / "package", 64)
    monkeypatch.setattr(model_loading, "gguf_path", lambda: source)
    tokenizer = tiny_tokenizer()
    built = []

    def load_model(*args, **kwargs):
        built.append(kwargs.get("gguf_file"))
        return tiny_model(tokenizer, seed=1)

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", lambda *a, **k: tokenizer)
    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", load_model)
    return source, built


def test_a_missing_cache_is_built_once_inside_the_cache_folder(fake_gguf, tmp_path):
    source, built = fake_gguf
    folder = model_loading.dequantized_folder()
    key = model_loading._cache_key(source)
    assert folder == tmp_path / "cache" / f"{model_loading.SMOLLM2}-{key}"
    assert (folder / "model.safetensors").is_file() and built == [source.name]
    assert model_loading.dequantized_folder() == folder and len(built) == 1  # read, not rebuilt
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [folder.name]  # no temporaries


def test_a_cache_built_meanwhile_by_another_process_is_used(fake_gguf, tmp_path, monkeypatch):
    """Two runs started together both build; the second rename finds the folder in place
    (os.replace cannot replace a non-empty folder) and uses it instead of failing."""
    source, _ = fake_gguf
    folder = tmp_path / "cache" / f"{model_loading.SMOLLM2}-{model_loading._cache_key(source)}"
    tokenizer = tiny_tokenizer()

    def load_while_another_finishes(*args, **kwargs):
        other = tiny_model(tokenizer, seed=2)
        other.save_pretrained(folder)  # the other process's finished cache
        return tiny_model(tokenizer, seed=1)

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained",
                        load_while_another_finishes)
    assert model_loading.dequantized_folder() == folder
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [folder.name]
