"""Recording a batch in the gradebook in this process (gradebox.recording.record_batch)
leaves the gradebook and the autograded folder exactly as nbgrader's own ``autograde``
run without Execute did (the old subprocess path, _record_with_nbgrader): same grades,
comments, submissions, late penalties, autograded notebooks and file modes; a manual
score given before re-recording stays; recording twice changes nothing; and a notebook
that fails half-way leaves none of its grades.

The class (a solution, a wrong answer per exercise, the untouched release, and a late
solution with a timestamp.txt) is graded once per module; every comparison records
that same executed folder into fresh copies of the course.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest

from gradinglib import fixtures, make_course, source_notebook, submit, with_answers
import gradebox as grading
from gradebox import batch, recording

pytestmark = pytest.mark.slow
HW = "hw01_sequences"
DUE = datetime.datetime(2026, 1, 10, 12, 0, 0)
LATE = "2026-01-11 12:00:00.000000 UTC"      # a day after DUE
EARLY = "2026-01-09 12:00:00.000000 UTC"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A course graded once: its root, the gradebook as released (with a due date), and
    the executed notebooks of the class (copied out of the batch's work folder)."""
    from nbgrader.api import Gradebook

    tmp = tmp_path_factory.mktemp("recording")
    root = make_course(tmp, HW)
    with open(root / "nbgrader_config.py", "a") as fh:     # late work scores zero
        fh.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    grading.release(root, [HW])
    with Gradebook("sqlite:///" + str(root / "gradebook.db")) as gb:
        gb.update_or_create_assignment(HW, duedate=DUE)
    fresh = (root / "gradebook.db").read_bytes()
    src = source_notebook(root, HW)
    solution = nbformat.read(src, as_version=4)
    empty = nbformat.read(root / "assignments" / HW / src.name, as_version=4)
    wrong = {fx.cell: fx.source for fx in fixtures(HW, "wrong")}
    for student, nb in {"ada": solution, "bob": with_answers(solution, wrong),
                        "cy": empty, "dee": solution, "eve": solution}.items():
        submit(root, student, HW, nb, src.name)
    (root / "submitted" / "dee" / HW / "timestamp.txt").write_text(LATE + "\n")
    (root / "submitted" / "eve" / HW / "timestamp.txt").write_text(EARLY + "\n")
    grading.autograde(root, HW, options=grading.Options(jobs=2, allow_unsafe=True))
    executed = tmp / "executed"
    shutil.copytree(batch.work_folder(root, HW, (1, 1)) / "executed", executed)
    assert (executed / "dee" / HW / "timestamp.txt").is_file()
    assert len(list(executed.glob(f"*/{HW}/*.ipynb"))) == 5
    return root, fresh, executed


def _course(graded, where: Path) -> Path:
    """A copy of the graded course with the gradebook as released and no autograded/."""
    root, fresh, _ = graded
    shutil.rmtree(where, ignore_errors=True)
    shutil.copytree(root, where, ignore=shutil.ignore_patterns(".grading", "autograded",
                                                                "feedback", "gradebook.db*"))
    (where / "gradebook.db").write_bytes(fresh)
    return where


def _gradebook(root: Path) -> dict[str, list]:
    """Every row that recording writes, by names (ids are random), sorted."""
    import sqlalchemy as sa

    engine = sa.create_engine("sqlite:///" + str(root / "gradebook.db"))
    queries = {
        "course": "select id from course",
        "student": "select id, first_name, last_name, email, lms_user_id from student",
        "submission": "select s.student_id, a.name, s.timestamp, s.extension "
                      "from submitted_assignment s join assignment a on a.id = s.assignment_id",
        "notebook": "select sa.student_id, n.name, sn.late_submission_penalty, sn.flagged "
                    "from submitted_notebook sn join notebook n on n.id = sn.notebook_id "
                    "join submitted_assignment sa on sa.id = sn.assignment_id",
    }
    for table, fields in (("grade", "auto_score, x.manual_score, x.extra_credit, "
                                    "x.needs_manual_grade"),
                          ("comment", "auto_comment, x.manual_comment")):
        queries[table] = (f"select sa.student_id, n.name, c.name, x.{fields} from {table} x "
                          "join base_cell c on c.id = x.cell_id "
                          "join submitted_notebook sn on sn.id = x.notebook_id "
                          "join notebook n on n.id = sn.notebook_id "
                          "join submitted_assignment sa on sa.id = sn.assignment_id")
    try:
        with engine.connect() as conn:
            return {k: sorted((tuple(r) for r in conn.execute(sa.text(q))), key=repr)
                    for k, q in queries.items()}
    finally:
        engine.dispose()


def _files(folder: Path) -> dict[str, tuple]:
    """Every file and folder under ``folder``: its mode, and a notebook's JSON content or
    another file's bytes."""
    out: dict[str, tuple] = {}
    for dirpath, dirs, names in os.walk(folder):
        for name in dirs + names:
            path = Path(dirpath, name)
            rel = str(path.relative_to(folder))
            if path.is_dir():
                out[rel + "/"] = (oct(path.stat().st_mode),)
            else:
                data = path.read_bytes()
                out[rel] = (oct(path.stat().st_mode),
                            json.loads(data) if name.endswith(".ipynb") else data)
    return out


def _give_manual_score(root: Path, student: str) -> None:
    from nbgrader.api import Gradebook

    with Gradebook("sqlite:///" + str(root / "gradebook.db")) as gb:
        grade = next(g for g in gb.find_submission_notebook(HW, HW, student).grades
                     if g.max_score > 0)
        grade.manual_score = grade.max_score / 2
        gb.db.commit()


def test_record_batch_leaves_what_nbgrader_leaves(graded, tmp_path):
    _, _, executed = graded
    states = {}
    for label, record in (("nbgrader", recording._record_with_nbgrader),
                          ("batch", recording.record_batch)):
        root = _course(graded, tmp_path / label)
        runs = []
        record(root, HW, executed, "autograded")
        runs.append((_gradebook(root), _files(root / "autograded")))
        record(root, HW, executed, "autograded")             # a re-run changes nothing
        runs.append((_gradebook(root), _files(root / "autograded")))
        _give_manual_score(root, "ada")
        record(root, HW, executed, "autograded")             # the manual score stays
        runs.append((_gradebook(root), _files(root / "autograded")))
        states[label] = runs
    old, new = states["nbgrader"], states["batch"]
    for i, ((old_db, old_files), (new_db, new_files)) in enumerate(zip(old, new)):
        for table in old_db:
            assert new_db[table] == old_db[table], (i, table)
        assert new_files == old_files, i
    first_db, first_files = new[0]
    assert new[1] == new[0]
    assert len(first_db["submission"]) == 5
    assert sum(key.endswith(".ipynb") for key in first_files) == 5
    assert f"dee/{HW}/timestamp.txt" in first_files
    assert all(mode == "0o100444" for key, (mode, *_) in first_files.items()
               if not key.endswith("/"))
    manual = [(m, needs) for s, _, _, _, m, _, needs in new[2][0]["grade"]
              if s == "ada" and m is not None]
    assert manual and all(needs for _, needs in manual)      # as nbgrader marks them
    penalties = {s: p for s, _, p, _ in first_db["notebook"]}
    assert penalties["dee"] and penalties["dee"] > 0                 # late: scores zero
    assert penalties["eve"] is None and penalties["ada"] is None
    comments = {(s, a) for s, _, _, a, _ in first_db["comment"]}
    assert ("cy", "No response.") in comments and ("ada", "No response.") not in comments


@pytest.mark.parametrize("where", ["grades", "write"])
def test_a_notebook_failing_half_way_leaves_none_of_its_grades(graded, tmp_path,
                                                               monkeypatch, where):
    from nbgrader.preprocessors import SaveAutoGrades

    _, _, executed = graded
    reference = _course(graded, tmp_path / "reference")
    recording.record_batch(reference, HW, executed, "autograded")
    expected = _gradebook(reference)["grade"]
    root = _course(graded, tmp_path / "course")
    if where == "grades":          # bob's third grade cannot be saved
        real, seen = SaveAutoGrades._add_score, []

        def add_score(self, cell, resources):
            if self.student_id == "bob":
                seen.append(cell)
                if len(seen) == 3:
                    raise OSError("disk gone")
            return real(self, cell, resources)

        monkeypatch.setattr(SaveAutoGrades, "_add_score", add_score)
    else:                          # bob's autograded notebook cannot be written
        real_writes, calls = nbformat.v4.nbjson.writes, []

        def writes(nb, **kw):
            calls.append(1)
            if len(calls) == 4:    # ada: two writes (sanitized, final); bob's final
                raise OSError("disk full")
            return real_writes(nb, **kw)

        monkeypatch.setattr(nbformat.v4.nbjson, "writes", writes)
    with pytest.raises(RuntimeError, match="bob"):
        recording.record_batch(root, HW, executed, "autograded")
    grades = _gradebook(root)["grade"]
    bob = [g for g in grades if g[0] == "bob"]
    assert bob and all(auto is None for _, _, _, auto, _, _, _ in bob)    # as released
    assert [g for g in grades if g[0] != "bob"] == [g for g in expected if g[0] != "bob"]
    assert not (root / "autograded" / "bob").exists()
    assert (root / "autograded" / "eve" / HW / f"{HW}.ipynb").is_file()
    monkeypatch.undo()
    recording.record_batch(root, HW, executed, "autograded")  # a re-run records bob
    assert _gradebook(root)["grade"] == expected
