"""The training benchmark runs both paths on the same pairs and reports consistent counts."""

from srlm_core.experiments.lm_train_bench import Config, run


def test_benchmark_on_a_tiny_model(tiny_pool):
    out = run(Config(model="tiny-random", prompts=2, trainable_blocks=1,
                     batch_size=2, full_pool_prompts=4), pool=tiny_pool)
    assert out["answers"] == 8 and out["pairs"] == 2 * 6  # K = 4: 6 pairs per prompt
    timings = out["timings"]
    assert timings["fast_epoch_seconds"] > 0 and timings["trl_epoch_seconds"] > 0
    assert out["full_pool"]["pairs"] == 4 * 6
    assert timings["speedup"] == timings["trl_epoch_seconds"] / timings["fast_epoch_seconds"]
    assert timings["full_pool_trl_epoch_seconds"] == 2 * timings["trl_epoch_seconds"]
