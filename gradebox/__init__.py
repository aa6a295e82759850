"""gradebox: autograde nbgrader notebooks without trusting the code in them.

Instructor-side software, independent of any one course.  The public API:

==============================  ==================================================
``release(root, [names])``      nbgrader's student release of each assignment
``grade(root, submissions)``    autograde every submission, write feedback,
                                ``grades.csv`` and ``review.csv``
``autograde(root, name)``       only the autograding of one assignment
``validate(notebook)``          a student's check before submitting
``cell_scores`` /               scores read back from the gradebook
``exercise_scores``
``Options``, ``Limits``         how a batch is graded; limits of a student process
``sandbox_available()``         whether this machine can grade safely (bubblewrap)
==============================  ==================================================

Modules, from the outside in (each imports only those below it):
``workflow`` (grade, command line) -> ``batch`` (one job per submission) ->
``execute`` (one notebook in a kernel) -> ``client`` (the kernel's side of the
student process) -> ``policy`` (OS sandbox, limits, audit hook) and ``wire``
(data only across the boundary); ``worker`` is the student process itself;
``course`` runs nbgrader and reads the gradebook; ``review`` is the static scan.

    python -m gradebox release | grade SUBMISSIONS | validate NOTEBOOK
"""

from __future__ import annotations

from gradebox.batch import Options, Outcome
from gradebox.course import (CellScore, cell_scores, exercise_scores, export_grades,
                             find_assignments, nbgrader, plain_autograde, release, validate)
from gradebox.policy import Limits, sandbox_available
from gradebox.workflow import autograde, generate_feedback, grade

__all__ = ["Options", "Outcome", "Limits", "CellScore", "release", "grade", "autograde",
           "generate_feedback", "validate", "cell_scores", "exercise_scores", "export_grades",
           "find_assignments", "nbgrader", "plain_autograde", "sandbox_available"]
