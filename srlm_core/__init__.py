"""srlm_core: the model world of *Why Self-Rewarding Works* (arXiv:2601.22513).

The package implements the reconstruction stated in the book's model chapter: linear-softmax
policies, a self-judge with signal share alpha, Bradley-Terry preference sampling, the DPO
update with a fixed or moving reference, the metrics the book reports, and SymPy
derivations of the statements S1-S5.
"""

__version__ = "0.1.0"

from srlm_core.errors import ConfigError  # noqa: E402

__all__ = ["ConfigError", "__version__"]
