"""A tiny randomly initialised causal LM of the SmolLM2 architecture (Llama) and a byte-level
tokenizer with the same ChatML chat template: no weights, no download.  Used by the fast tests
and by smoke configurations (``model = "tiny-random"``)."""

from __future__ import annotations

import torch

#: ChatML template of SmolLM2-135M-Instruct (as stored in its GGUF file).
CHAT_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
    "Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")


def tiny_tokenizer():
    """Byte-level BPE without merges: every byte is one token (digits "1".."5" included)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}
    for char in sorted(alphabet):
        vocab[char] = len(vocab)
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    backend.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<|im_end|>",
        unk_token="<|endoftext|>",
    )
    tokenizer.add_special_tokens({"additional_special_tokens": list(SPECIAL_TOKENS)})
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def tiny_model(tokenizer, seed: int = 0, hidden_size: int = 16, layers: int = 2):
    """A LlamaForCausalLM with SmolLM2's layout (tied embeddings, GQA) at toy size.  Its
    generation config forces the end-of-turn token at the length limit, so that its sampled
    answers finish (a random model almost never ends a turn by itself)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.forced_eos_token_id = tokenizer.eos_token_id
    return model.eval()


def tiny_pool(tokenizer=None, train: int = 3, heldout: int = 2):
    """A controlled-alpha response pool for the tiny model (its byte tokens): ``train`` training
    and ``heldout`` held-out prompts, K = 4 answers each, two passing the lowercase checker and
    two failing.  Used by the dry mode of :mod:`srlm_core.experiments.gpu_check` and by tests."""
    from srlm_core.lm.pool import pool_from_values

    tokenizer = tokenizer or tiny_tokenizer()
    topics = ("rain", "tea", "owls", "maps", "salt", "moss", "figs", "kites")
    if train < 1 or heldout < 0 or train + heldout > len(topics):
        raise ValueError(f"train + heldout must be at most {len(topics)} (train at least 1)")
    lower = [{"kind": "lowercase", "value": None}]
    prompts = []
    for i, topic in enumerate(topics[:train + heldout]):
        texts = [f"{topic} is nice.", f"{topic.title()} Is Nice.", f"i like {topic}.",
                 f"I Like {topic.title()}!"]
        answers = []
        for text, g in zip(texts, (1, 0, 1, 0), strict=True):
            ids = tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
            answers.append({"text": text, "ids": " ".join(map(str, ids)), "g": g, "logp0": 0.0,
                            "source": "sampled", "edit": None})
        prompts.append({"split": "train" if i < train else "heldout", "id": i,
                        "instruction": f"Describe {topic}.", "constraints": lower,
                        "answers": answers})
    scan = [{"id": i, "sampled_pass_rate": 0.5} for i in range(train + heldout)]
    return pool_from_values({"prompts": prompts, "scan": scan, "summary": {}})
