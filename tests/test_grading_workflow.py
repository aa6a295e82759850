"""The instructor's and the student's commands: `make grade` and `make validate`."""

from __future__ import annotations

import csv
import subprocess
import sys

import nbformat
import pytest

from gradinglib import REPO, make_course, source_notebook

pytestmark = pytest.mark.slow
HW = "hw01_sequences"


def _run(*args, cwd):
    return subprocess.run([sys.executable, "-m", "seqcourse.grading", *args], cwd=cwd,
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
    assert float(rows["ada"]["score"]) == pytest.approx(23.0)   # all autograded points
    assert float(rows["bob"]["score"]) == pytest.approx(0.0)
    assert float(rows["ada"]["max_score"]) == pytest.approx(27.0)  # + 4 for the written answer
    for student in ("ada", "bob"):
        html = root / "feedback" / student / HW / src.with_suffix(".html").name
        assert html.exists(), f"no feedback for {student}"
    # re-grading keeps working (and keeps the same scores)
    assert _run("grade", "inbox", cwd=root).returncode == 0


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
