"""``python -m ast_lab ...`` is the ``ast-lab`` command."""

import sys

from .cli import main

sys.exit(main())
