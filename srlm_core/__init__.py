"""srlm_core: the code of the compendium on *Why Self-Rewarding Works* (arXiv:2601.22513).

The package implements what the book's model chapter states: the paper's own loop (the
self-reward log pi_t, the reference pi_t, the squared loss of its Eq. 3, the condition number
kappa and the failure events; ``model.sharpening`` and ``theory.sharpening``), the book's
extension (linear-softmax policies, a self-judge with signal share alpha, Bradley-Terry
preferences and the DPO update with a fixed or moving reference, with the SymPy derivations
of S1-S5), the experiments behind every figure, the real language model (``lm``) and the
records and glue of the book (``publishing``).
"""

__version__ = "0.1.0"

from srlm_core.errors import ConfigError  # noqa: E402

__all__ = ["ConfigError", "__version__"]
