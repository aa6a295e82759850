"""The nbgrader side of a course: where its assignments are, running ``nbgrader``,
releasing assignments, reading scores from the gradebook, a student's check.

Nothing here runs student code; :mod:`gradebox.batch` does, in the sandbox.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["find_assignments", "nbgrader", "release", "plain_autograde", "CellScore",
           "cell_scores", "exercise_scores", "export_grades", "validate"]


def find_assignments(root: Path) -> list[str]:
    """Names of the assignments in ``root/solutions`` (folders holding a notebook)."""
    src = Path(root) / "solutions"
    return sorted(p.name for p in src.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def nbgrader(root: Path, *args: str, timeout: float | None = None,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGS`` with ``root`` as the course root (``env`` added to the
    environment); raise with its log on failure."""
    cmd = [sys.executable, "-m", "nbgrader", *args]
    env = dict(os.environ, **(env or {}))
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(
            f"`nbgrader {' '.join(args)}` failed with exit code {proc.returncode}:\n"
            f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )
    return proc


def release(root: Path, assignments: list[str] | None = None, release_dir: str | None = None) -> Path:
    """Generate the student release of each assignment (default: all).

    ``release_dir`` (relative to ``root``) writes somewhere other than
    ``assignments/``; the sync test uses it to compare with what is committed.
    Returns the release folder.
    """
    root = Path(root)
    extra = [f"--CourseDirectory.release_directory={release_dir}"] if release_dir else []
    for name in assignments or find_assignments(root):
        nbgrader(root, "generate_assignment", name, "--force", *extra)
    return root / (release_dir or "assignments")


def plain_autograde(root: Path, assignment: str, submitted_dir: str = "submitted") -> None:
    """nbgrader's own ``autograde``: serial, unsandboxed (kept for comparison in the bench)."""
    nbgrader(root, "autograde", assignment, "--force",
             f"--CourseDirectory.submitted_directory={submitted_dir}")


@dataclass(frozen=True)
class CellScore:
    """The score of one graded cell of one student's notebook."""

    student: str
    notebook: str
    cell: str
    score: float
    max_score: float
    needs_manual_grade: bool

    @property
    def exercise(self) -> str:
        return self.cell.split("__")[0]


def _db_url(root: Path) -> str:
    return "sqlite:///" + str((Path(root) / "gradebook.db").resolve())


def cell_scores(root: Path, assignment: str, db_url: str | None = None) -> list[CellScore]:
    """Every graded cell's score for every student, read from the gradebook."""
    from nbgrader.api import Gradebook

    out = []
    with Gradebook(db_url or _db_url(root)) as gb:
        for sub in gb.assignment_submissions(assignment):
            for nb in sub.notebooks:
                for g in nb.grades:
                    out.append(CellScore(sub.student_id, nb.name, g.name, float(g.score or 0.0),
                                         float(g.max_score), bool(g.needs_manual_grade)))
    return out


def exercise_scores(scores: list[CellScore], student: str) -> dict[str, tuple[float, float]]:
    """``{exercise: (score, max_score)}`` of one student, autograded cells only."""
    out: dict[str, tuple[float, float]] = {}
    for s in scores:
        if s.student == student and "__" in s.cell:
            got, best = out.get(s.exercise, (0.0, 0.0))
            out[s.exercise] = (got + s.score, best + s.max_score)
    return out


def export_grades(root: Path, path: Path) -> Path:
    """Write one row per (student, assignment) with nbgrader's totals to ``path``."""
    nbgrader(root, "export", f"--to={Path(path).resolve()}")
    return Path(path)


def validate(notebook: Path) -> bool:
    """Run nbgrader's validator on a student's notebook; True if every test passes.

    ``nbgrader validate`` exits 0 even when tests fail; this returns the verdict.
    """
    from nbgrader import utils
    from nbgrader.validator import Validator

    class VerdictValidator(Validator):
        """nbgrader reads a test cell's value as partial credit; a test cell passes or
        fails by its verdict only, as in grading (see execute.py)."""

        def _preprocess(self, nb):
            nb = super()._preprocess(nb)
            for cell in nb.cells:
                if cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell):
                    cell.outputs = [o for o in cell.outputs if o.get("output_type") != "execute_result"]
            return nb

    validator = VerdictValidator()
    results = validator.validate(str(notebook))
    validator.validate = lambda _filename: results  # print these results, do not run it again
    validator.validate_and_print(str(notebook))
    return not any(results.get(key) for key in ("failed", "changed", "type_changed"))
