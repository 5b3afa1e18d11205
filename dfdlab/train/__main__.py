"""``python -m dfdlab.train ...`` and ``torchrun --nproc_per_node N -m dfdlab.train ...``: exactly ``dfdlab train ...``."""

import sys

from ..cli import main

raise SystemExit(main(["train", *sys.argv[1:]]))
