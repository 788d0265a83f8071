"""A figure's PNG bytes do not depend on numpy's global random state: seaborn's bootstrap bands
are seeded (``seed=0``) and ``stripplot``'s jitter runs under a fixed global seed."""

import io

import matplotlib.pyplot as plt
import numpy as np
import pytest

from srlm_core.experiments import seeded_global_random
from srlm_core.experiments.sharpening import sharpening_budget as budget
from srlm_core.experiments.sharpening import sharpening_margins as margins

CASES = {
    # stripplot jitter
    "budget": (budget, budget.Config(prompts=20, responses=8, temperatures=(0.5,),
                                     betas=(0.5,), rounds=3, instances=4)),
    # lineplot bootstrap bands (enough instances that the 95% percentiles vary with the draws)
    "margins": (margins, margins.Config(gaps=(0.0, 0.5), prompts=12, responses=6, rounds=2,
                                        instances=12)),
}


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


@pytest.mark.parametrize("name", sorted(CASES))
def test_figure_bytes_do_not_depend_on_the_global_seed(name):
    module, config = CASES[name]
    values = module.run(config)
    drawn = []
    for seed in (1, 2):
        np.random.seed(seed)  # noqa: NPY002 - a changed global state is what is tested
        drawn.append(_png(module.plot(values)))
    assert drawn[0] == drawn[1]


def test_seeded_global_random_restores_the_global_state():
    np.random.seed(7)  # noqa: NPY002
    expected = np.random.random(3)  # noqa: NPY002
    np.random.seed(7)  # noqa: NPY002
    with seeded_global_random(0):
        inside = np.random.random(3)  # noqa: NPY002
    assert np.array_equal(np.random.random(3), expected)  # noqa: NPY002
    np.random.seed(0)  # noqa: NPY002
    assert np.array_equal(inside, np.random.random(3))  # noqa: NPY002
