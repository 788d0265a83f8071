"""``python -m srlm_core.cli``: the ``srlm`` command, e.g. under ``torchrun -m``."""

import sys

from srlm_core.cli import main

sys.exit(main())
