import torch

from srlm_core.model.policy import initial_parameters, make_problem


def test_features_have_unit_norm_and_policies_normalise():
    p = make_problem(d=5, K=4, contexts=6, seed=1)
    assert torch.allclose(p.features.norm(dim=-1), torch.ones(6, 4, dtype=p.features.dtype))
    theta = torch.randn(3, 5, dtype=torch.float64)
    probs = p.log_probs(theta).exp()
    assert probs.shape == (3, 6, 4)
    assert torch.allclose(probs.sum(-1), torch.ones(3, 6, dtype=probs.dtype))


def test_target_is_gibbs_tilt_of_reference():
    p = make_problem(d=4, K=3, contexts=2, beta=0.7, seed=2)
    tilted = torch.log_softmax(p.log_probs(p.theta_ref) + p.true_reward() / p.beta, dim=-1)
    assert torch.allclose(p.log_probs(p.theta_star), tilted)


def test_tabular_case_is_one_hot():
    p = make_problem(d=0, K=3, contexts=2, tabular=True)
    assert p.dim == 6
    assert torch.equal(p.features.reshape(6, 6), torch.eye(6, dtype=p.features.dtype))


def test_initial_parameters_at_requested_distance():
    p = make_problem(d=6, K=4, contexts=8, seed=3)
    theta0 = initial_parameters(p, 1.5, seed=3)
    assert torch.isclose((theta0 - p.theta_star).norm(), torch.tensor(1.5, dtype=theta0.dtype))
