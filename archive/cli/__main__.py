"""``python -m archive.cli``: the same as ``portal-archive``."""

import sys

from archive.cli import main

sys.exit(main())
