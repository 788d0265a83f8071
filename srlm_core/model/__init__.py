"""The model world of the book: linear-softmax policies, the self-judge, Bradley-Terry pairs,
the DPO update and its solvers, the self-rewarding loop, the quantities the book measures
(metrics, one-step predictions, bounds) and the problem designs of the chapters.

Where each model's code sits: the paper's own setting (log-likelihood self-reward, each round's
reference the current policy, the squared-loss sharpening update iterated) in the subpackage
:mod:`srlm_core.model.sharpening`; the book's extension (a judge with a signal share alpha) and
the shared machinery here, at the top of the package.  The derivations and the experiments
follow the same layout (:mod:`srlm_core.theory.sharpening`,
:mod:`srlm_core.experiments.sharpening`)."""
