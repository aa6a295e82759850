"""The instructor's and the student's commands: `make grade` and `make validate`."""

from __future__ import annotations

import csv
import subprocess
import sys

import nbformat
import pytest

from gradinglib import REPO, make_course, source_notebook
import gradebox as grading

pytestmark = pytest.mark.slow
HW = "hw01_sequences"


def _run(*args, cwd):
    return subprocess.run([sys.executable, "-m", "gradebox", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def test_grade_writes_feedback_and_csv(tmp_path):
    root = make_course(tmp_path, HW)
    src = source_notebook(root, HW)
    inbox = root / "inbox"
    for student, path in (("ada", src), ("bob", REPO / "assignments" / HW / src.name)):
        (inbox / student / HW).mkdir(parents=True)
        nbformat.write(nbformat.read(path, as_version=4), inbox / student / HW / src.name)
    proc = _run("grade", "inbox", cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {r["student_id"]: r for r in csv.DictReader((root / "grades.csv").open())}
    assert set(rows) == {"ada", "bob"}
    auto, manual = _points(src)
    assert float(rows["ada"]["score"]) == pytest.approx(auto)   # all autograded points
    assert float(rows["bob"]["score"]) == pytest.approx(0.0)
    assert float(rows["ada"]["max_score"]) == pytest.approx(auto + manual)  # + the written answer
    for student in ("ada", "bob"):
        html = root / "feedback" / student / HW / src.with_suffix(".html").name
        assert html.exists(), f"no feedback for {student}"
    review = (root / "review.csv").read_text()
    assert review.startswith("student,assignment,kind,detail"), review[:200]


def _points(path):
    """(autograded, manually graded) points of a source notebook."""
    auto = manual = 0.0
    for cell in nbformat.read(path, as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            if meta.get("solution"):
                manual += float(meta.get("points", 0))
            else:
                auto += float(meta.get("points", 0))
    return auto, manual


def _manual_cell(root):
    return next(s for s in grading.cell_scores(root, HW) if s.needs_manual_grade)


def test_regrading_in_parallel_keeps_scores_and_manual_grades(tmp_path):
    """Grade serially, give a manual grade, re-grade on two jobs: every autograded score is
    the same and the manual grade is still there."""
    from nbgrader.api import Gradebook

    root = make_course(tmp_path, HW)
    src = source_notebook(root, HW)
    inbox = root / "inbox"
    wrong = nbformat.read(src, as_version=4)
    for cell in wrong.cells:   # one wrong exercise: partial marks
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "cross_entropy":
            cell.source = "def cross_entropy(logits, targets):\n    return 0.0\n"
    for student, nb in (("ada", nbformat.read(src, as_version=4)), ("cy", wrong),
                        ("bob", nbformat.read(REPO / "assignments" / HW / src.name, as_version=4))):
        (inbox / student / HW).mkdir(parents=True)
        nbformat.write(nb, inbox / student / HW / src.name)
    proc = _run("grade", "inbox", "--jobs", "1", cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    serial = {(s.student, s.cell): s.score for s in grading.cell_scores(root, HW)}
    auto_points, _ = _points(src)
    assert 0 < sum(v for (st, c), v in serial.items() if st == "cy") < auto_points
    cell = _manual_cell(root)
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        grade = gb.find_grade(cell.cell, cell.notebook, HW, "ada")
        grade.manual_score = 3.0
        gb.db.commit()
    proc = _run("grade", "inbox", "--jobs", "2", cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    parallel = {(s.student, s.cell): s.score for s in grading.cell_scores(root, HW)}
    auto_cells = {k for k in serial if "__" in k[1]}
    assert {k: serial[k] for k in auto_cells} == {k: parallel[k] for k in auto_cells}
    assert parallel[("ada", cell.cell)] == pytest.approx(3.0), "re-grading lost a manual grade"
    rows = {r["student_id"]: r for r in csv.DictReader((root / "grades.csv").open())}
    assert float(rows["ada"]["score"]) == pytest.approx(auto_points + 3.0)


def test_grade_rejects_an_empty_folder(tmp_path):
    root = make_course(tmp_path, HW)
    (root / "empty").mkdir()
    proc = _run("grade", "empty", cwd=root)
    assert proc.returncode != 0 and "no submission of a known assignment" in proc.stderr


def test_validate_fails_on_untouched_release_and_passes_on_solution():
    untouched = _run("validate", str(REPO / "assignments" / HW / f"{HW}.ipynb"), cwd=REPO)
    assert untouched.returncode == 1, "validating an untouched release must fail (exit 1)"
    assert "VALIDATION FAILED" in untouched.stdout
    solved = _run("validate", str(REPO / "solutions" / HW / f"{HW}.ipynb"), cwd=REPO)
    assert solved.returncode == 0, solved.stdout[-2000:]
