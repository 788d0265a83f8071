"""srlm_core.model.separation: existence of the unpenalised DPO estimate."""

import torch

from srlm_core.model.separation import mle_exists

DPHI = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [-1.0, 0.5], [0.3, -1.0]]], dtype=torch.float64)


def test_separated_data_has_no_mle():
    # y wins both pairs: u = (1, 1) scores every pair correctly, the likelihood has no maximum
    assert not mle_exists(DPHI[:, :2], torch.ones(1, 2, dtype=torch.float64))[0]


def test_overlapping_data_has_an_mle():
    # every direction is seen winning and losing: no separating u
    both = torch.cat([DPHI, -DPHI], dim=1)
    assert mle_exists(both, torch.ones(1, 8, dtype=torch.float64))[0]


def test_rank_deficient_data_has_no_unique_mle():
    dphi = torch.tensor([[[1.0, 0.0], [-1.0, 0.0]]], dtype=torch.float64)
    assert not mle_exists(dphi, torch.tensor([[1.0, 1.0]], dtype=torch.float64))[0]
