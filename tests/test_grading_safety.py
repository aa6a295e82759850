"""Trustworthy grading: a batch of bad submissions graded together with good ones.

For every assignment, one `grading.grade` run takes two correct submissions and
the catalogue in `badsubmissions.py` (tampering, stolen solutions, crashes,
endless loops, memory and output floods, broken files).  The batch must finish;
correct answers keep full marks; no bad submission earns a point; each bad one
is explained in its grading reason or review lines; the feedback shows no hidden
test; nothing outside the sandbox was touched.
"""

from __future__ import annotations

import csv
import socket
import threading
from pathlib import Path

import nbformat
import pytest

from badsubmissions import catalogue, write
from gradinglib import REPO, make_course, source_notebook
import gradebox as grading
from gradebox.batch import HIDDEN_BEGIN, forbidden_modules

ASSIGNMENTS = grading.find_assignments(REPO)
pytestmark = pytest.mark.slow
LIMITS = grading.Limits(memory_mb=2048, call_seconds=8, cpu_seconds=120, output_bytes=20_000,
                        restarts=2)


class Listener:
    """A TCP server on loopback that records whether anybody connected."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                conn, _ = self.sock.accept()
                self.connections += 1
                conn.close()
            except OSError:
                continue

    def close(self) -> None:
        self.running = False
        self.thread.join()
        self.sock.close()


class Batch:
    def __init__(self, tmp: Path, assignment: str) -> None:
        self.assignment = assignment
        self.root = make_course(tmp, assignment)
        grading.release(self.root, [assignment])
        src_path = source_notebook(self.root, assignment)
        self.name = src_path.name
        self.source = nbformat.read(src_path, as_version=4)
        self.release = release = nbformat.read(self.root / "assignments" / assignment / self.name,
                                               as_version=4)
        self.canary = tmp / "canary.txt"
        self.canary.write_text("untouched")
        self.listener = Listener()
        subs = tmp / "submissions"
        self.bad = catalogue(self.source, release, course=self.root, repo=REPO,
                             canary=self.canary, port=self.listener.port,
                             forbidden=forbidden_modules(self.source))
        for bad in self.bad:
            write(bad, subs / bad.name / assignment, self.name)
        for good in ("good_a", "good_b"):
            (subs / good / assignment).mkdir(parents=True)
            nbformat.write(self.source, subs / good / assignment / self.name)
        self.csv = grading.grade(self.root, subs, tmp / "out" / "grades.csv",
                                 grading.Options(limits=LIMITS, submission_seconds=400))
        self.listener.close()
        self.scores = grading.cell_scores(self.root, assignment)
        self.review = list(csv.DictReader(open(self.csv.parent / "review.csv")))

    def auto(self, student: str) -> tuple[float, float]:
        cells = [s for s in self.scores if s.student == student and "__" in s.cell]
        return sum(c.score for c in cells), sum(c.max_score for c in cells)

    def notes(self, student: str) -> str:
        return "\n".join(f"{r['kind']}: {r['detail']}" for r in self.review
                         if r["student"] == student)


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def batch(request, tmp_path_factory):
    return Batch(tmp_path_factory.mktemp(f"safety-{request.param}"), request.param)


def test_correct_submissions_keep_full_marks(batch):
    for good in ("good_a", "good_b"):
        got, best = batch.auto(good)
        assert best > 0 and got == pytest.approx(best), \
            f"{good} got {got}/{best} in a batch with bad submissions:\n{batch.notes(good)}"


def test_no_bad_submission_earns_a_mark_it_should_not(batch):
    for bad in batch.bad:
        got, best = batch.auto(bad.name)
        if bad.expect == "full":
            assert got == pytest.approx(best), f"{bad.name} ({bad.why}) lost marks: {got}/{best}"
        else:
            assert got == 0, f"{bad.name} ({bad.why}) earned {got}/{best}:\n{batch.notes(bad.name)}"


def test_every_bad_submission_is_explained(batch):
    for bad in batch.bad:
        notes = batch.notes(bad.name)
        assert any(flag in notes for flag in bad.flags), \
            f"{bad.name} ({bad.why}): expected one of {bad.flags} in the review, got:\n{notes}"


def test_good_submissions_are_not_flagged_for_crashes(batch):
    for good in ("good_a", "good_b"):
        notes = batch.notes(good)
        assert "crash" not in notes and "not fully graded" not in notes, notes


def test_tampering_is_refused_one_by_one(batch):
    notes = batch.notes("tamper")
    for expected in ("reading", "network access", "starting a process", "sending a signal",
                     "writing", "imports seqcourse.testing", "uses .input_transformers_post"):
        assert expected in notes, f"the tamper submission should be flagged for {expected!r}:\n{notes}"
    assert batch.listener.connections == 0, "student code reached the network"
    assert batch.canary.read_text() == "untouched", "student code wrote outside its sandbox"


def test_crash_reasons_reach_the_feedback(batch):
    for name, words in (("os_exit", "crashed"), ("segfault", "signal 11"),
                        ("endless_loop", "longer than"), ("not_a_notebook", "not a readable")):
        html = next((batch.root / "feedback" / name / batch.assignment).glob("*.html")).read_text()
        assert words in html, f"the feedback of {name} should say {words!r}"


def test_feedback_shows_no_hidden_test(batch):
    hidden_lines = set()
    for cell in batch.source.cells:
        if HIDDEN_BEGIN in cell.source:
            inside = cell.source.split(HIDDEN_BEGIN, 1)[1].split("### END HIDDEN TESTS")[0]
            hidden_lines |= {ln.strip() for ln in inside.splitlines() if len(ln.strip()) > 25}
    visible = "\n".join(c.source for c in batch.release.cells)
    hidden_lines = {ln for ln in hidden_lines if ln not in visible}
    assert hidden_lines, "the assignment has no hidden tests to check"
    pages = list((batch.root / "feedback").glob(f"*/{batch.assignment}/*.html"))
    assert len(pages) >= len(batch.bad), "feedback is missing"
    import html as htmllib
    for page in pages:
        text = htmllib.unescape(page.read_text())
        assert HIDDEN_BEGIN not in text
        leaked = [ln for ln in hidden_lines if ln in text]
        assert not leaked, f"{page} shows hidden test code: {leaked[:2]}"


def test_only_the_notebook_is_taken_from_a_submission(batch):
    notes = batch.notes("extra_files")
    assert "ignored file: numpy.py" in notes and "ignored file: seqcourse/testing.py" in notes
