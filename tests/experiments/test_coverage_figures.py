"""The coverage sweep's figures (:mod:`srlm_core.experiments.coverage_figures`), drawn from
hand-made values."""

import matplotlib

from srlm_core.experiments.coverage_figures import plot_iterative, plot_single_step
from tests.experiments.test_coverage import floor_rule, hand_made

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def test_plots_are_figures():
    values = hand_made(lambda b: b, lambda x0, xphi: xphi >= 0.25, floor_rule)
    for figure in (plot_single_step(values), plot_iterative(values)):
        assert isinstance(figure, plt.Figure)
        plt.close(figure)
