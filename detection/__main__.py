"""``python -m detection``."""

import sys

from .cli import main

sys.exit(main())
