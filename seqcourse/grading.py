"""The instructor's nbgrader workflow, as small functions and a command line.

    python -m seqcourse.grading release [ASSIGNMENT ...]   # solutions/ -> assignments/
    python -m seqcourse.grading grade SUBMISSIONS          # autograde, feedback, grades.csv
    python -m seqcourse.grading validate NOTEBOOK          # a student's check, exit 1 on failure

An nbgrader *course root* holds ``nbgrader_config.py``, ``solutions/`` (the
source notebooks) and ``assignments/`` (the release).  Grading works on
``<submissions>/<student>/<assignment>/<notebook>.ipynb``.

Test cells are named ``<exercise>__<property>`` where ``<exercise>`` is the
grade id of the solution cell they test, so scores can be summed per exercise.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from seqcourse.sandbox import batch
from seqcourse.sandbox.batch import Options, Outcome, grade_batch
from seqcourse.sandbox.policy import Limits

__all__ = [
    "Options",
    "Limits",
    "plain_autograde",
    "find_assignments",
    "nbgrader",
    "release",
    "autograde",
    "generate_feedback",
    "cell_scores",
    "exercise_scores",
    "export_grades",
    "grade",
    "validate",
]


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


def autograde(root: Path, assignment: str, submitted_dir: str = "submitted",
              options: Options | None = None) -> dict[str, Outcome]:
    """Autograde every student's submission of ``assignment``, safely and in parallel
    (see :mod:`seqcourse.sandbox.batch`); returns what happened to each one."""
    return grade_batch(root, assignment, Path(root) / submitted_dir, options)


def plain_autograde(root: Path, assignment: str, submitted_dir: str = "submitted") -> None:
    """nbgrader's own ``autograde``: serial, unsandboxed (kept for comparison in the bench)."""
    nbgrader(root, "autograde", assignment, "--force",
             f"--CourseDirectory.submitted_directory={submitted_dir}")


def generate_feedback(root: Path, assignment: str, outcomes: dict[str, Outcome] | None = None
                      ) -> None:
    """Write feedback HTML into ``root/feedback/<student>/<assignment>/``, without the
    hidden tests (their code and their tracebacks)."""
    batch.generate_feedback(root, assignment, outcomes or {})


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


def grade(root: Path, submissions: Path, out_csv: Path | None = None,
          options: Options | None = None) -> Path:
    """Autograde, write feedback and export grades for every assignment found in
    ``submissions`` (laid out as ``<student>/<assignment>/*.ipynb``).

    Next to the grades CSV, ``review.csv`` lists for the instructor what needs a
    look: ignored files, crashes and time-outs, sandbox refusals and suspicious
    constructs in answer cells.  Returns the path of the grades CSV.
    """
    root, submissions = Path(root).resolve(), Path(submissions).resolve()
    if not submissions.is_dir():
        raise ValueError(f"submissions must be a folder <student>/<assignment>/*.ipynb, got {submissions}")
    known = set(find_assignments(root))
    found = sorted({p.parent.name for p in submissions.glob("*/*/*.ipynb")} & known)
    if not found:
        raise ValueError(f"no submission of a known assignment {sorted(known)} under {submissions}")
    out_csv = Path(out_csv or root / "grades.csv").resolve()
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    review = out_csv.parent / "review.csv"
    review.unlink(missing_ok=True)
    for name in found:
        release(root, [name], release_dir=".release-check")  # records the tests in the gradebook
        outcomes = grade_batch(root, name, submissions, options)
        generate_feedback(root, name, outcomes)
        batch.write_review(review, name, outcomes)
        flagged = sorted(s for s, o in outcomes.items() if o.reason or o.review)
        print(f"{name}: {len(outcomes)} submissions graded; {len(flagged)} to review "
              f"({', '.join(flagged) if flagged else 'none'}): see {review}")
    shutil.rmtree(root / ".release-check", ignore_errors=True)
    return export_grades(root, out_csv)


def validate(notebook: Path) -> bool:
    """Run nbgrader's validator on a student's notebook; True if every test passes.

    ``nbgrader validate`` exits 0 even when tests fail; this returns the verdict.
    """
    from nbgrader.validator import Validator

    validator = Validator()
    results = validator.validate(str(notebook))
    validator.validate = lambda _filename: results  # print these results, do not run it again
    validator.validate_and_print(str(notebook))
    return not any(results.get(key) for key in ("failed", "changed", "type_changed"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seqcourse.grading", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_rel = sub.add_parser("release", help="regenerate assignments/ from solutions/")
    p_rel.add_argument("assignments", nargs="*")
    p_grade = sub.add_parser("grade", help="autograde a folder of submissions")
    p_grade.add_argument("submissions", type=Path)
    p_grade.add_argument("--csv", type=Path, default=None)
    p_grade.add_argument("--jobs", type=int, default=0,
                         help="submissions graded at once (default: one per CPU core)")
    p_val = sub.add_parser("validate", help="check a notebook before submitting it")
    p_val.add_argument("notebook", type=Path)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="course root (default: .)")
    args = parser.parse_args(argv)
    try:
        return _dispatch(args)
    except (ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "release":
        print(release(args.root, args.assignments or None))
    elif args.command == "grade":
        csv_path = grade(args.root, args.submissions, args.csv, Options(jobs=args.jobs))
        print(f"grades written to {csv_path}")
    else:
        return 0 if validate(args.notebook) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
