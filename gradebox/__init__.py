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
``execute`` (one notebook: in a Jupyter kernel, or in the grading process
itself through ``runner``, IPython without a kernel) -> ``client`` (the grader's side of the
student process) -> ``policy`` (OS sandbox, limits, audit hook) and ``wire``
(data only across the boundary); ``worker`` is the student process itself;
``course`` runs nbgrader and reads the gradebook; ``review`` is the static scan;
``warm`` forks each job's grading process from one template per batch; ``recording`` writes
a notebook's grades in one commit.  ``batch`` also splits a class into shards
graded against one gradebook (``Options.shard``, ``Options.db_url``).

    python -m gradebox release | grade SUBMISSIONS [--shard i/n --db-url URL]
                     | export [--db-url URL] | validate NOTEBOOK
"""

from __future__ import annotations

import importlib
from typing import Any

# Names are imported on first use (PEP 562), so that a process importing one module
# of gradebox (the student process imports gradebox.worker, a grading kernel
# gradebox.client) loads only what that module needs, not nbformat and nbgrader.
_EXPORTS = {
    "Options": "gradebox.batch", "Outcome": "gradebox.batch",
    "CellScore": "gradebox.course", "cell_scores": "gradebox.course",
    "exercise_scores": "gradebox.course", "export_grades": "gradebox.course",
    "find_assignments": "gradebox.course", "nbgrader": "gradebox.course",
    "plain_autograde": "gradebox.course", "release": "gradebox.course",
    "validate": "gradebox.course",
    "Limits": "gradebox.policy", "sandbox_available": "gradebox.policy",
    "autograde": "gradebox.workflow", "generate_feedback": "gradebox.workflow",
    "grade": "gradebox.workflow",
}

__all__ = ["Options", "Outcome", "Limits", "CellScore", "release", "grade", "autograde",
           "generate_feedback", "validate", "cell_scores", "exercise_scores", "export_grades",
           "find_assignments", "nbgrader", "plain_autograde", "sandbox_available"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'gradebox' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
