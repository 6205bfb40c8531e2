"""``python -m core.cli ...``: the ``seld`` program (also what ``torchrun -m core.cli`` starts)."""

import sys

from core.cli.seld import main

sys.exit(main())
