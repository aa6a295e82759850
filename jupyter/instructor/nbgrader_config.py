"""Instructor's nbgrader settings for `make formgrader` (added to the course's nbgrader_config.py).

The exchange is a local folder of the repository (git-ignored), created by `make formgrader`,
so Formgrader does not warn that the exchange directory is missing.
"""

import os

c = get_config()  # noqa: F821
# relative to where the server runs (the course root; the tests use a copy of the course)
c.Exchange.root = os.path.abspath("nbgrader_exchange")
c.Exchange.path_includes_course = True
