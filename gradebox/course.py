"""The nbgrader side of a course: where its assignments are, running ``nbgrader``,
releasing assignments, reading scores from the gradebook, a student's check.

Nothing here runs student code; :mod:`gradebox.batch` does, in the sandbox.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

__all__ = ["find_assignments", "tool_env", "nbgrader", "gradebook_lock", "db_url_of",
           "normalize_db_url", "release",
           "plain_autograde", "CellScore",
           "cell_scores", "exercise_scores", "export_grades", "validate"]


def find_assignments(root: Path) -> list[str]:
    """Names of the assignments in ``root/solutions`` (folders holding a notebook)."""
    src = Path(root) / "solutions"
    return sorted(p.name for p in src.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


#: ``python -m nbgrader``, without ``rfc3987_syntax`` (see :data:`gradebox.execute.BOOT`).
NBGRADER = ("import sys; sys.modules.setdefault('rfc3987_syntax', None); sys.argv[0] = 'nbgrader'; "
            "from nbgrader.apps.nbgraderapp import main; main()")


def tool_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment plus ``extra``, with this Python's folder first on
    PATH: the environment of every process the grader starts (nbgrader, the grading
    template, a cold job), so that each finds the same ``jupyter`` and Python."""
    env = dict(os.environ, **(extra or {}))
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def nbgrader(root: Path, *args: str, timeout: float | None = None,
             env: dict[str, str] | None = None, db_url: str = "") -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGS`` with ``root`` as the course root (``env`` added to the
    environment, ``db_url`` the gradebook if not the course's own); raise with its log
    on failure."""
    extra = [f"--CourseDirectory.db_url={normalize_db_url(db_url)}"] if db_url else []
    cmd = [sys.executable, "-c", NBGRADER, *args, *extra]
    proc = subprocess.run(cmd, cwd=root, env=tool_env(env), capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(
            f"`nbgrader {' '.join(args)}` failed with exit code {proc.returncode}:\n"
            f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )
    return proc


def release(root: Path, assignments: list[str] | None = None, release_dir: str | None = None,
            db_url: str = "") -> Path:
    """Generate the student release of each assignment (default: all).

    ``release_dir`` (relative to ``root``) writes somewhere other than
    ``assignments/``; the sync test uses it to compare with what is committed.
    Returns the release folder.
    """
    root = Path(root)
    extra = [f"--CourseDirectory.release_directory={release_dir}"] if release_dir else []
    for name in assignments or find_assignments(root):
        with gradebook_lock(root, db_url):
            nbgrader(root, "generate_assignment", name, "--force", *extra, db_url=db_url)
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


def db_url_of(root: Path, db_url: str = "") -> str:
    """The gradebook's URL: ``db_url`` if given (:func:`normalize_db_url`), else the
    course root's ``gradebook.db``."""
    return normalize_db_url(db_url) or _db_url(root)


def normalize_db_url(db_url: str) -> str:
    """``postgresql://...`` names SQLAlchemy 2.1's default driver, psycopg 3; where
    only psycopg2 (``psycopg2-binary``, the test extra) is installed, say so in the URL
    (``postgresql+psycopg2://...``).  Other URLs are returned as they are."""
    import importlib.util

    if db_url.startswith("postgresql://") and importlib.util.find_spec("psycopg") is None \
            and importlib.util.find_spec("psycopg2") is not None:
        return "postgresql+psycopg2://" + db_url[len("postgresql://"):]
    return db_url


@contextlib.contextmanager
def gradebook_lock(root: Path, db_url: str = "", shared: bool = False) -> Iterator[None]:
    """Hold the gradebook's writer lock: a PostgreSQL advisory lock for a server
    gradebook (shards on other machines wait for it), a file lock next to a SQLite one.
    Either is released by the operating system or the server if the holder dies.

    ``shared`` (a server only): shards recording grades hold it together, and a
    release, which may delete and rebuild the assignment's cells, waits until none
    does (and they wait for it).  SQLite takes one writer at a time whatever is asked."""
    url = db_url_of(root, db_url)
    if url.startswith("sqlite"):
        import fcntl

        path = url.split(":///", 1)[-1]
        lock = Path(path + ".lock") if path and path != ":memory:" else Path(root) / ".gradebook.lock"
        with open(lock, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        return
    import sqlalchemy

    key = int(hashlib.sha256(b"gradebox-gradebook-writer").hexdigest()[:15], 16)
    kind = "_shared" if shared else ""
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text(f"SELECT pg_advisory_lock{kind}(:k)"), {"k": key})
            try:
                yield
            finally:
                conn.execute(sqlalchemy.text(f"SELECT pg_advisory_unlock{kind}(:k)"), {"k": key})
    finally:
        engine.dispose()


def cell_scores(root: Path, assignment: str, db_url: str | None = None) -> list[CellScore]:
    """Every graded cell's score for every student, read from the gradebook."""
    from nbgrader.api import Gradebook

    out = []
    with Gradebook(db_url_of(root, db_url or "")) as gb:
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


def export_grades(root: Path, path: Path, db_url: str = "") -> Path:
    """Write one row per (student, assignment) with nbgrader's totals to ``path``."""
    nbgrader(root, "export", f"--to={Path(path).resolve()}", db_url=db_url)
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
