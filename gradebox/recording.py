"""Recording grades in nbgrader's gradebook: one database commit per notebook.

nbgrader's ``SaveAutoGrades`` commits after every graded cell and every
comment, so recording a class costs one database round trip (and, for SQLite,
one ``fsync``) per cell.  :class:`SaveAutoGradesOnce` computes exactly the same
scores with nbgrader's own code (``utils.determine_grade``) and the same rules
for ``needs_manual_grade`` and the "No response." comment, but commits once,
after the last cell of the notebook: a notebook's grades are then written all
together or not at all, which is also what a shard killed half-way needs (its
re-run finds either the old grades or the new ones, never a mixture).

Used by :func:`gradebox.batch._record` through nbgrader's configuration, in the
``nbgrader autograde`` run that records a batch without executing anything.
"""

from __future__ import annotations

from typing import Any

from nbgrader.preprocessors import SaveAutoGrades

__all__ = ["SaveAutoGradesOnce"]


class _NoCommit:
    """The gradebook's session with ``commit`` deferred (everything else passes through)."""

    def __init__(self, session: Any) -> None:
        self._session = session

    def commit(self) -> None:
        self._session.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


class SaveAutoGradesOnce(SaveAutoGrades):
    """``SaveAutoGrades`` with one commit per notebook instead of one per cell."""

    def preprocess(self, nb, resources):  # noqa: ANN001, ANN201 - nbconvert's signature
        from nbgrader.api import Gradebook

        self.notebook_id = resources["nbgrader"]["notebook"]
        self.assignment_id = resources["nbgrader"]["assignment"]
        self.student_id = resources["nbgrader"]["student"]
        self.db_url = resources["nbgrader"]["db_url"]
        self.gradebook = Gradebook(self.db_url)
        with self.gradebook:
            session = self.gradebook.db
            self.gradebook.db = _NoCommit(session)
            try:
                nb, resources = super(SaveAutoGrades, self).preprocess(nb, resources)
            except BaseException:
                session.rollback()
                raise
            finally:
                self.gradebook.db = session
            session.commit()
        return nb, resources
