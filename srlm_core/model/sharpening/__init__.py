r"""The paper's own setting (Fu et al. 2026): the model rewards its own answers by their
log-probability, :math:`r_t(x,y)=\log\pi_t(y\mid x)` (Eq. 1), takes :math:`\pi_t` itself as the
KL reference (Eq. 2), draws pairs :math:`y,y'\sim\pi_t` with the exact label
:math:`r_t(y)-r_t(y')` and minimises the squared loss of Eq. 3.  In the population this is
Huang et al.'s sharpening, iterated: :math:`\pi_{t+1}\propto\pi_t^{1+1/\beta}`.

Policies here are tables: an array ``probs`` of shape ``(prompts, responses)`` whose rows are
:math:`\pi(\cdot\mid x)` (prompts equally likely unless weights are given)."""
