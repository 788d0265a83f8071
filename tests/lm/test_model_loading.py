"""lm.model_loading: the de-quantized model cache lives under ``SRLM_CACHE_DIR`` (a temporary
folder in the tests), is keyed by the GGUF file and the transformers version, is read without
rebuilding, and is written atomically.  The GGUF reader is replaced by the tiny model, so no
test here needs the packaged weights.  A brought model (a local checkpoint folder) loads, has
an identity for the provenance, and a folder lacking a piece is one error naming it."""

import hashlib
import json
import re
import sys
import types
from pathlib import Path

import pytest
import transformers

from srlm_core.cache import cache_dir
from srlm_core.errors import ConfigError
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
    assert cache_dir() == Path(srlm_cache_dir)


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


def test_the_smollm2_identity_names_the_file_inside_its_package(fake_gguf):
    """No path of this machine's environment goes into a record's provenance."""
    source, _ = fake_gguf
    identity = model_loading.model_identity(model_loading.SMOLLM2)
    assert identity["source"] == f"{model_loading.GGUF_PACKAGE}/{source.name}"
    assert identity["weights_sha256"] == {
        source.name: hashlib.sha256(source.read_bytes()).hexdigest()}


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


# -- bring your own model: a local Hugging Face checkpoint folder ----------------------------

@pytest.fixture
def tiny_folder(tmp_path):
    """The tiny random model (seed 0) saved as a Hugging Face checkpoint folder."""
    folder = tmp_path / "my-model"
    tokenizer = tiny_tokenizer()
    tiny_model(tokenizer, seed=0).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_a_checkpoint_folder_loads_as_the_model_and_has_an_identity(tiny_folder):

    import torch

    model_loading.check_model(str(tiny_folder))
    brought, tokenizer = model_loading.load_model(str(tiny_folder))
    tiny, _ = model_loading.load_model(model_loading.TINY, seed=0)
    ids = torch.tensor([[5, 6, 7, 8]])
    assert torch.equal(brought(input_ids=ids).logits, tiny(input_ids=ids).logits)
    assert tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False)
    identity = model_loading.model_identity(str(tiny_folder))
    weights = tiny_folder / "model.safetensors"
    assert identity["source"] == str(tiny_folder.resolve())
    assert identity["weights_sha256"] == {
        "model.safetensors": hashlib.sha256(weights.read_bytes()).hexdigest()}
    assert identity["parameters"] == sum(p.numel() for p in brought.parameters())
    assert model_loading.model_identity(model_loading.TINY)["parameters"] == identity["parameters"]


def _drop_chat_template(folder: Path) -> None:
    (folder / "chat_template.jinja").unlink(missing_ok=True)
    config = folder / "tokenizer_config.json"
    data = json.loads(config.read_text())
    data.pop("chat_template", None)
    config.write_text(json.dumps(data))


BROKEN = {
    "config.json": (lambda f: (f / "config.json").unlink(), "no config.json"),
    "weights": (lambda f: (f / "model.safetensors").unlink(), "no *.safetensors weights"),
    "tokenizer": (lambda f: (f / "tokenizer.json").unlink(), "no tokenizer"),
    "chat template": (_drop_chat_template, "no chat template"),
}


@pytest.mark.parametrize("piece", list(BROKEN))
def test_a_folder_lacking_a_piece_is_one_config_error_naming_it(tiny_folder, piece):
    breaking, message = BROKEN[piece]
    breaking(tiny_folder)
    with pytest.raises(ConfigError, match=re.escape(message)) as err:
        model_loading.check_model(str(tiny_folder))
    assert err.value.field == "model" and "\n" not in str(err.value)
    with pytest.raises(ConfigError, match=re.escape(message)):
        model_loading.load_model(str(tiny_folder))


def test_an_unknown_name_that_is_no_folder_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="must be one of .* or a local Hugging Face") as err:
        model_loading.check_model(str(tmp_path / "nowhere"))
    assert err.value.field == "model"


@pytest.mark.parametrize("action", ["run", "alpha"])
def test_the_cli_reports_a_broken_model_folder_in_one_line(tiny_folder, action, capsys):
    from srlm_core.cli import main
    from srlm_core.publishing.provenance import REPO_ROOT

    (tiny_folder / "config.json").unlink()
    config = REPO_ROOT / "data" / "lm" / "configs" / (
        "smoke.toml" if action == "run" else "alpha-small.toml")
    assert main(["lm", action, "--config", str(config), "--model", str(tiny_folder)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("srlm lm: error: --model: ") and "no config.json" in err
    assert "\n" not in err and "Traceback" not in err
