"""The language-model library: self-rewarding a real language model (SmolLM2-135M-Instruct)
with TRL's DPOTrainer.

One concept per module: ``model_loading`` (offline GGUF -> cached de-quantized weights),
``tiny`` (a tiny random model of the same architecture, for tests), ``checkers`` and
``prompts`` (instructions with a program-checkable ground truth), ``judge`` (the additive
5-point LLM-as-a-Judge rubric of Yuan et al. 2024), ``pairs``, ``training`` (one DPO round),
``diagnostics`` (alpha-hat, consistency, KL, condition-number proxy), ``evaluation`` and
``checkpoints`` (held-out measurement and the resumable work folder of a run) and ``pool``
(the stored response pool, read back).  The experiments that run these pieces and write
records live in :mod:`srlm_core.experiments`.  Wherever a model name is taken, a local
Hugging Face checkpoint folder works too (``model_loading``).  Heavy dependencies (torch,
transformers, trl) are imported by the modules that need them.
"""
