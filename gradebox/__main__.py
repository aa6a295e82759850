"""``python -m gradebox release | grade | validate``: see :mod:`gradebox.workflow`."""

import sys

from gradebox.workflow import main

sys.exit(main())
