"""``python -m skinapp.share``: see :mod:`skinapp.share.cli`."""

import sys

from skinapp.share.cli import main

sys.exit(main())
