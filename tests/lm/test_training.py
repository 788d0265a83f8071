"""One DPO round moves the policy in the expected direction: the chosen answer's likelihood
rises relative to the rejected one, measured against the frozen reference."""

from srlm_core.lm.diagnostics import sequence_logprobs
from srlm_core.lm.training import DPOSettings, dpo_round, frozen_copy, parameter_distance


def test_dpo_round_raises_the_chosen_margin(model, tokenizer):
    prompt = {"instruction": "Say a colour."}
    pairs = [{"prompt": prompt, "chosen": "blue sky", "rejected": "xq zz"}] * 4
    reference = frozen_copy(model)

    def margin(m):
        lp = sequence_logprobs(m, tokenizer, [prompt["instruction"]] * 2, ["blue sky", "xq zz"])
        return lp.total[0] - lp.total[1]

    before = margin(model)
    log = dpo_round(model, reference, tokenizer, pairs,
                    DPOSettings(beta=0.5, learning_rate=5e-3, epochs=3, batch_size=2))
    after = margin(model)
    assert log["pairs"] == 4 and log["steps"] == 6
    assert after > before + 0.1
    assert parameter_distance(model, reference) > 0
    assert margin(reference) == before  # the reference is untouched


def test_no_pairs_is_a_no_op(model, tokenizer):
    reference = frozen_copy(model)
    assert dpo_round(model, reference, tokenizer, [], DPOSettings())["steps"] == 0
    assert parameter_distance(model, reference) == 0


def test_reference_stays_usable_for_later_copies(model, tokenizer):
    """Regression: TRL patches the models it trains with; a policy copied from the reference
    after a round must still train its own weights."""
    prompt = {"instruction": "Say a colour."}
    pairs = [{"prompt": prompt, "chosen": "blue sky", "rejected": "xq zz"}] * 2
    settings = DPOSettings(beta=0.5, learning_rate=5e-3, epochs=1, batch_size=2)
    m0 = frozen_copy(model)
    dpo_round(model, m0, tokenizer, pairs, settings)
    assert "forward" not in vars(m0)  # not patched
    second = frozen_copy(m0)
    for p in second.parameters():
        p.requires_grad_(True)
    dpo_round(second, m0, tokenizer, pairs, settings)
    assert parameter_distance(second, m0) > 0
