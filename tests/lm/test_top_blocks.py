"""The fast training path computes the same sequence log-probabilities as the full model, trains
only the top blocks and the final norm, and exports a real network."""

import torch

from srlm_core.lm import diagnostics as diag
from srlm_core.lm.tiny import tiny_model
from srlm_core.lm.top_blocks import PoolSequences, TopBlocksPolicy

INSTRUCTIONS = ["Say yes.", "Say yes.", "Count to six, slowly please."]
TEXTS = ["Yes!", "No way at all", "1 2 3 4 5 6"]


def _setup(tokenizer, layers=3):
    model = tiny_model(tokenizer, seed=1, layers=layers)
    ids = [tokenizer(t, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
           for t in TEXTS]
    return model, ids, PoolSequences.build(tokenizer, INSTRUCTIONS, ids)


def _full_logprobs(model, tokenizer, ids):
    return diag.sequence_logprobs(model, tokenizer, INSTRUCTIONS,
                                  [diag.response("", True, i) for i in ids]).total


def test_cached_path_equals_the_full_model(tokenizer):
    model, ids, sequences = _setup(tokenizer)
    policy = TopBlocksPolicy(model, sequences, trainable_blocks=1, batch_size=2)
    fast = policy.all_logprobs()
    assert torch.allclose(fast, torch.tensor(_full_logprobs(model, tokenizer, ids),
                                             dtype=fast.dtype), atol=1e-4)


def test_only_top_blocks_and_norm_train_and_export_is_exact(tokenizer):
    model, ids, sequences = _setup(tokenizer)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    policy = TopBlocksPolicy(model, sequences, trainable_blocks=1, batch_size=2)
    names = {k.split(".")[1] + "." + k.split(".")[2] if k.startswith("model.layers") else k
             for k in policy.state()}
    assert names == {"layers.2", "model.norm.weight"}
    optimizer = torch.optim.SGD(policy.parameters(), lr=0.5)
    policy.logprobs([0, 1, 2]).sum().backward()
    optimizer.step()
    trained = policy.all_logprobs()
    full = policy.export(model)
    assert torch.allclose(trained, torch.tensor(_full_logprobs(full, tokenizer, ids),
                                                dtype=trained.dtype), atol=1e-4)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())  # untouched
    changed = [k for k, v in full.state_dict().items() if not torch.equal(v, before[k])]
    assert changed and all(k.startswith(("model.layers.2.", "model.norm.")) for k in changed)
    policy.reset()
    assert torch.allclose(policy.all_logprobs(), torch.tensor(
        _full_logprobs(model, tokenizer, ids), dtype=trained.dtype), atol=1e-4)
