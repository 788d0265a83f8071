"""The paper's loop on the tiny random model: Eq. 3's loss and gradient by hand, the arms,
the config's one-line errors, and resume of an interrupted round."""

import dataclasses
import math

import pytest
import torch

from srlm_core.cli import main
from srlm_core.errors import ConfigError
from srlm_core.experiments.sharpening import likelihood_self_reward as exp
from srlm_core.experiments.sharpening import likelihood_self_reward_analysis as analysis

TINY = exp.Config(model="tiny-random", train_prompts=2, heldout_prompts=1, rounds=2, pairs=1,
                  max_new_tokens=3, beams=2, beam_prompts=1, samples=1, epochs=1,
                  pairs_per_step=1)


def test_pair_loss_and_gradient_by_hand():
    """beta = 1/2, log pi = (-1, -2), log pi_t = (-1.5, -1): the log-ratio difference is
    0.5 - (-1) = 1.5, the label -1.5 - (-1) = -0.5, the residual 0.5 * 1.5 + 0.5 = 1.25."""
    logp = torch.tensor([[-1.0, -2.0]], requires_grad=True)
    reference = torch.tensor([[-1.5, -1.0]])
    loss = exp.pair_loss(logp, reference, beta=0.5)
    assert float(loss.detach()) == pytest.approx(1.5625)
    loss.sum().backward()
    assert logp.grad[0].tolist() == pytest.approx([1.25, -1.25])  # +-2 beta residual


def test_pair_loss_is_zero_at_the_population_step():
    """log pi = (1 + 1/beta) log pi_t + const (pi_t^{1+1/beta} / Z) fits every pair."""
    reference = torch.tensor([[-1.0, -3.0], [-0.2, -5.0]])
    beta = 0.25
    exact = (1 + 1 / beta) * reference - 7.0
    assert exp.pair_loss(exact, reference, beta).abs().max() < 1e-5
    assert exp.pair_loss(reference, reference, beta).min() > 0  # pi_t itself does not


def test_matched_beta_and_arms():
    assert 1 + 1 / exp.matched_beta(1.0, 3) == pytest.approx(2.0 ** 3)
    config = dataclasses.replace(TINY, seeds=(0, 4), single_step=True, taus=(1.0, 0.7),
                                 pair_counts=(1, 3))
    names = [a.name for a in exp.arms(config)]
    assert names == ["iterate-s0", "iterate-s4", "one-step", "matched", "tau-0.7", "pairs-3"]
    one = {a.name: a for a in exp.arms(config)}
    assert one["one-step"].pairs == TINY.pairs * TINY.rounds and one["one-step"].rounds == 1
    assert [a.name for a in exp.arms(dataclasses.replace(config, main=False))][:1] == [
        "one-step"]


@pytest.mark.parametrize("option, value", [("--beta", "0"), ("--rounds", "0"),
                                           ("--seeds", "1,1"), ("--taus", "-1"),
                                           ("--beam-prompts", "99")])
def test_bad_config_value_exits_with_one_line(option, value, capsys):
    assert main(["lm", "likelihood", option, value]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and option in err[0] and "Traceback" not in err[0]


def test_config_errors_name_the_field():
    with pytest.raises(ConfigError, match="^pairs_per_step"):
        dataclasses.replace(TINY, pairs_per_step=0).validate()


@pytest.mark.slow
def test_interrupted_round_resumes_to_the_same_values(tmp_path, monkeypatch):
    whole = exp.run(TINY, tmp_path / "whole")
    calls = []
    original = exp.LikelihoodLoop.train_round

    def interrupted(self, state, arm, t):
        if t == 1:
            raise KeyboardInterrupt  # killed during round 2
        calls.append(t)
        return original(self, state, arm, t)

    monkeypatch.setattr(exp.LikelihoodLoop, "train_round", interrupted)
    with pytest.raises(KeyboardInterrupt):
        exp.run(TINY, tmp_path / "cut")
    assert (tmp_path / "cut" / "iterate-s0" / "round_1.pt").exists()
    assert not (tmp_path / "cut" / "iterate-s0" / "round_2.pt").exists()
    monkeypatch.setattr(exp.LikelihoodLoop, "train_round", original)
    resumed = exp.run(TINY, tmp_path / "cut")
    assert resumed == whole
    # the analysis reads it: a round per evaluation, shares in [0, 1]
    rows = analysis.round_rows(resumed, "iterate-s0", "train")
    assert [r["t"] for r in rows] == [0, 1, 2]
    assert all(0 <= r["share"] <= 1 and r["kappa"] >= 1 for r in rows)
    assert rows[0]["agree"] == 1.0 and math.isfinite(rows[0]["log_kappa"])


def test_workdir_of_another_config_is_refused(tmp_path):
    from srlm_core.lm.checkpoints import CheckpointStore

    CheckpointStore(tmp_path).claim({"other": 1})
    with pytest.raises(ConfigError, match="^workdir"):
        exp.run(TINY, tmp_path)
