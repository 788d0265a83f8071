"""The judge-failures figures and closing table
(:mod:`srlm_core.experiments.judge_failures_figures`) on hand-made values."""

import copy

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from srlm_core.experiments.judge_failures_figures import plot, plot_vanishing, table
from tests.experiments.test_judge_failures import hand_made


def test_table_has_a_row_per_arm_and_vanishing_share():
    values = hand_made(0.5, 0.5)
    rows = table(values)
    assert len(rows) == len(values["arms"]) + len(values["vanishing"]["alphas"]) - 1
    assert rows.iloc[0]["iteration"] == "contracts" and rows.iloc[0]["rate is"] == "matches"


def test_plots_are_figures():
    values = hand_made(0.5, 0.5)
    for draw in (plot, plot_vanishing):
        fig = draw(copy.deepcopy(values))
        assert isinstance(fig, Figure)
        plt.close(fig)
