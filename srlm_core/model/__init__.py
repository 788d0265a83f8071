"""The model world of the book: linear-softmax policies, the self-judge, Bradley-Terry pairs,
the DPO update and its solvers, the self-rewarding loop, the quantities the book measures
(metrics, one-step predictions, bounds) and the problem designs of the chapters."""
