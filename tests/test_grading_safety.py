"""Trustworthy grading: bad submissions graded together with good ones, under bubblewrap.

ONE `gradebox.grade` run grades every assignment.  Its cost is what one notebook costs
(a kernel and a student process) times the number of notebooks, so the catalogue is
split by what an attack depends on:

* attacks on the *mechanism* (the OS view, processes, the record of refusals, crashes,
  floods, tampering with cells) do not depend on the assignment: the full catalogue
  (`badsubmissions.catalogue` and the seven classes of issue 11) runs on FULL only;
* attacks whose effect depends on the assignment run on EVERY assignment: rebinding the
  names its tests use (class 1: each assignment's tests use other tools), loading its
  reference modules (class 2: other modules, other bytecode files) and leaking its
  hidden inputs into feedback (class 7: other hidden tests), next to a correct
  submission and the wrong-answer base the attacks start from.

About 20 notebooks for FULL and 5 for each other assignment: with eight assignments
about 55 notebooks, a few CPU minutes.  Checks: correct answers keep full marks; no
attack scores more than its base (wrong answers, or zero for the reference); every
bad submission is explained in the review; canaries outside the sandbox (a file, a
database, a secret in the grader's environment, the gradebook, a TCP port) are
untouched and unseen; no feedback page shows a hidden test, its inputs or values.
The reference modules' bytecode caches exist while grading (PYTHONDONTWRITEBYTECODE
unset), as on an instructor's machine.
"""

from __future__ import annotations

import ast
import csv
import html as htmllib
import importlib.util
import os
import py_compile
import shutil
import socket
import sqlite3
import threading
from pathlib import Path

import nbformat
import pytest

import gradebox as grading
from badsubmissions import LEAK_MARK, Bad, attack_catalogue, catalogue, with_fixtures, write
from gradebox.batch import HIDDEN_BEGIN, forbidden_modules, instructor_messages
from gradebox.execute import cell_roles, tool_names
from gradinglib import REPO, fixtures, source_notebook

ASSIGNMENTS = grading.find_assignments(REPO)
FULL = "hw01_sequences"
EVERYWHERE = (1, 2, 7)            # attack classes that depend on the assignment
pytestmark = pytest.mark.slow
LIMITS = grading.Limits(memory_mb=2048, call_seconds=8, cpu_seconds=120, output_bytes=20_000,
                        restarts=2)
SECRET = "CANARY-7f3a9c-SECRET"


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


def _round0(assignment: str, kind: str) -> dict[str, str]:
    first: dict[str, str] = {}
    for fx in fixtures(assignment, kind):
        first.setdefault(fx.cell, fx.source)
    return first


def _compile_references(modules: list[str]) -> list[Path]:
    """The bytecode caches Python writes on an instructor's machine once a module ran."""
    out = []
    for name in modules:
        origin = importlib.util.find_spec(name).origin
        cached = Path(importlib.util.cache_from_source(origin))
        if not cached.exists():
            py_compile.compile(origin, cfile=str(cached), doraise=True)
        out.append(cached)
    return out


class Batch:
    def __init__(self, tmp: Path) -> None:
        self.root = root = tmp / "course"
        for hw in ASSIGNMENTS:
            shutil.copytree(REPO / "solutions" / hw, root / "solutions" / hw)
        shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
        self.canary = tmp / "canary.txt"
        self.canary.write_text(f"untouched {SECRET}")
        self.canary_db = tmp / "canary.db"
        with sqlite3.connect(self.canary_db) as con:
            con.execute("CREATE TABLE canary (value TEXT)")
            con.execute("INSERT INTO canary VALUES ('untouched')")
        self.listener = Listener()
        subs = tmp / "submissions"
        self.name, self.source, self.release, self.bad, self.pyc = {}, {}, {}, {}, []
        for hw in ASSIGNMENTS:
            src_path = source_notebook(root, hw)
            self.name[hw] = name = src_path.name
            self.source[hw] = source = nbformat.read(src_path, as_version=4)
            # the committed release (test_grading_roundtrip keeps it in sync): one nbgrader
            # run less per assignment
            self.release[hw] = release = nbformat.read(REPO / "assignments" / hw / name,
                                                       as_version=4)
            forbidden = forbidden_modules(source)
            self.pyc += _compile_references(forbidden)
            wrong = with_fixtures(source, _round0(hw, "wrong"))
            reference = with_fixtures(source, _round0(hw, "reference"))
            # the names the tests use as tools, less those the wrong answers themselves use
            # (a proxy `np` would change what the student's own code computes)
            used = {n.id for src in _round0(hw, "wrong").values() for n in ast.walk(ast.parse(src))
                    if isinstance(n, ast.Name)}
            tools = sorted(set(tool_names(cell_roles(source)) + ["isinstance", "all", "any",
                                                                 "bool"]) - used)
            bads = attack_catalogue(source=source, wrong=wrong, reference=reference, tools=tools,
                                    course=root, repo=REPO, canary=self.canary,
                                    canary_db=self.canary_db, forbidden=forbidden,
                                    classes=(1, 2, 3, 4, 5, 6, 7) if hw == FULL else EVERYWHERE)
            if hw == FULL:
                bads = catalogue(source, release, course=root, repo=REPO, canary=self.canary,
                                 port=self.listener.port, forbidden=forbidden) + bads
            goods = [Bad("good_a", "correct", source, expect="full"),
                     Bad("base_wrong", "the wrong answers the attacks start from", wrong,
                         expect="base")]
            if hw == FULL:
                goods.append(Bad("good_b", "correct", source, expect="full"))
            self.bad[hw] = bads
            for sub in bads + goods:
                write(sub, subs / sub.name / hw, name)
        saved = os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        os.environ["GRADER_SECRET"] = SECRET
        try:
            self.csv = grading.grade(root, subs, tmp / "out" / "grades.csv",
                                     grading.Options(limits=LIMITS, submission_seconds=400,
                                                     jobs=2))
        finally:
            os.environ.pop("GRADER_SECRET", None)
            if saved is not None:
                os.environ["PYTHONDONTWRITEBYTECODE"] = saved
            self.listener.close()
        self.scores = {hw: grading.cell_scores(root, hw) for hw in ASSIGNMENTS}
        self.review = list(csv.DictReader(open(self.csv.parent / "review.csv")))

    def cells(self, hw: str, student: str) -> dict[str, float]:
        return {s.cell: s.score for s in self.scores[hw] if s.student == student and "__" in s.cell}

    def auto(self, hw: str, student: str) -> tuple[float, float]:
        cells = [s for s in self.scores[hw] if s.student == student and "__" in s.cell]
        return sum(c.score for c in cells), sum(c.max_score for c in cells)

    def notes(self, hw: str, student: str) -> str:
        return "\n".join(f"{r['kind']}: {r['detail']}" for r in self.review
                         if r["student"] == student and r["assignment"] == hw)

    def pages(self, hw: str) -> dict[str, str]:
        return {p.parents[1].name: htmllib.unescape(p.read_text())
                for p in (self.root / "feedback").glob(f"*/{hw}/*.html")}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    if not grading.sandbox_available():
        pytest.fail("bubblewrap (bwrap) is needed to check grading safety: apt-get install "
                    "bubblewrap (CI installs it in .ci/run)")
    return Batch(tmp_path_factory.mktemp("safety"))


@pytest.fixture(params=ASSIGNMENTS)
def hw(request):
    return request.param


def test_the_reference_bytecode_existed_while_grading(batch):
    assert batch.pyc and all(p.is_file() for p in batch.pyc), batch.pyc


def test_every_submission_ran_under_bubblewrap(batch):
    unsafe = [r for r in batch.review if r["kind"] == "unsafe"]
    assert not unsafe, unsafe[:3]


def test_correct_submissions_keep_full_marks(batch, hw):
    for good in ("good_a", "good_b") if hw == FULL else ("good_a",):
        got, best = batch.auto(hw, good)
        assert best > 0 and got == pytest.approx(best), \
            f"{hw} {good} got {got}/{best} in a batch with bad submissions:\n{batch.notes(hw, good)}"


def test_natural_answers_are_not_flagged(batch, hw):
    notes = batch.notes(hw, "good_a")
    assert not notes, f"the official solution of {hw} is flagged for review:\n{notes}"


def test_no_bad_submission_earns_a_mark_it_should_not(batch, hw):
    base = batch.cells(hw, "base_wrong")
    assert base and sum(base.values()) < batch.auto(hw, "good_a")[1], "the base must be wrong"
    for bad in batch.bad[hw]:
        got, best = batch.auto(hw, bad.name)
        if bad.expect == "full":
            assert got == pytest.approx(best), f"{bad.name} ({bad.why}) lost marks: {got}/{best}"
        elif bad.expect == "wrong":
            undue = {c: s for c, s in batch.cells(hw, bad.name).items() if s > base.get(c, 0) + 1e-9}
            assert not undue, f"{hw} {bad.name} ({bad.why}) earned more than its base on {undue}"
        else:
            assert got == 0, f"{hw} {bad.name} ({bad.why}) earned {got}/{best}:\n" \
                             f"{batch.notes(hw, bad.name)}"


def test_every_bad_submission_is_explained(batch, hw):
    for bad in batch.bad[hw]:
        if not bad.flags:
            continue
        notes = batch.notes(hw, bad.name)
        assert any(flag in notes for flag in bad.flags), \
            f"{bad.name} ({bad.why}): expected one of {bad.flags} in the review, got:\n{notes}"


def test_tampering_is_refused_one_by_one(batch):
    notes = batch.notes(FULL, "tamper")
    for expected in ("reading", "network access", "starting a process", "sending a signal",
                     "writing", "imports seqcourse.testing", "uses .input_transformers_post"):
        assert expected in notes, f"the tamper submission should be flagged for {expected!r}:\n{notes}"


def test_nothing_outside_the_sandbox_was_reached(batch):
    assert batch.listener.connections == 0, "student code reached the network"
    assert batch.canary.read_text() == f"untouched {SECRET}", "student code wrote a file outside"
    with sqlite3.connect(batch.canary_db) as con:
        assert con.execute("SELECT value FROM canary").fetchall() == [("untouched",)]
        assert not con.execute("SELECT name FROM sqlite_master WHERE name='pwned'").fetchall()
    with sqlite3.connect(batch.root / "gradebook.db") as con:
        assert not con.execute("SELECT name FROM sqlite_master WHERE name='pwned'").fetchall(), \
            "student code changed the gradebook"


def test_no_secret_reached_any_output(batch):
    """Nothing of the grader's machine shows up in what student code printed: not the
    canary file, not the grader's environment, not a solution."""
    solution_lines = {ln.strip() for hw in ASSIGNMENTS for c in batch.source[hw].cells
                      if "BEGIN SOLUTION" in c.source
                      for ln in c.source.split("### BEGIN SOLUTION", 1)[1].splitlines()
                      if len(ln.strip()) > 30}
    for path in (batch.root / "autograded").glob("*/*/*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        printed = "\n".join(str(o.get("text", "")) + str(o.get("evalue", ""))
                            for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
        assert SECRET not in printed, f"{path}: a secret of the grading machine was read"
        if path.parents[1].name.startswith(("attack", "tamper")):
            stolen = [ln for ln in solution_lines if ln in printed]
            assert not stolen, f"{path} printed solution lines: {stolen[:2]}"


def test_crash_reasons_reach_the_feedback(batch):
    pages = batch.pages(FULL)
    for name, words in (("os_exit", "crashed"), ("segfault", "signal 11"),
                        ("endless_loop", "longer than"), ("not_a_notebook", "not a readable")):
        assert words in pages[name], f"the feedback of {name} should say {words!r}"


def _hidden_outputs(path: Path, roles: dict) -> list[str]:
    """What a graded notebook's cells with hidden tests printed or failed with, line by line,
    less the words the instructor wrote and less what other cells showed anyway (the same
    error in an answer cell or a visible test)."""
    nb = nbformat.read(path, as_version=4)
    hidden, visible = [], set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        source = roles.get(gid, {}).get("source", "")
        said = instructor_messages(source)
        lines = []
        for out in cell.get("outputs", []):
            text = str(out.get("text", "")) + "\n" + str(out.get("evalue", ""))
            lines += [ln.strip() for ln in text.splitlines()
                      if len(ln.strip()) > 20 and not any(ln.strip() in m for m in said)]
        if HIDDEN_BEGIN in source:
            hidden += lines
        else:
            visible.update(lines)
    return [ln for ln in hidden if ln not in visible]


def test_feedback_shows_no_hidden_test_nor_its_inputs(batch, hw):
    source, release = batch.source[hw], batch.release[hw]
    hidden_lines = set()
    for cell in source.cells:
        if HIDDEN_BEGIN in cell.source:
            inside = cell.source.split(HIDDEN_BEGIN, 1)[1].split("### END HIDDEN TESTS")[0]
            hidden_lines |= {ln.strip() for ln in inside.splitlines() if len(ln.strip()) > 25}
    visible = "\n".join(c.source for c in release.cells)
    hidden_lines = {ln for ln in hidden_lines if ln not in visible}
    assert hidden_lines, f"{hw} has no hidden tests to check"
    pages = batch.pages(hw)
    assert len(pages) >= len(batch.bad[hw]), "feedback is missing"
    roles = cell_roles(source)
    leaked_outputs = 0
    submitted = {bad.name: "\n".join(c.source for c in bad.notebook.cells)
                 for bad in batch.bad[hw] if bad.notebook is not None}
    for student, text in pages.items():
        assert HIDDEN_BEGIN not in text
        # a line the student wrote themselves (an import the hidden tests also use) is theirs to see
        own = submitted.get(student, "")
        leaked = [ln for ln in hidden_lines if ln in text and ln not in own]
        assert not leaked, f"{hw} {student}'s feedback shows hidden test code: {leaked[:2]}"
        graded = batch.root / "autograded" / student / hw / batch.name[hw]
        if graded.is_file():
            seen = _hidden_outputs(graded, roles)
            leaked_outputs += len(seen)
            shown = [ln for ln in seen if ln in text]
            assert not shown, f"{hw} {student}'s feedback shows what a hidden test printed " \
                              f"or failed with: {shown[:2]}"
    graded = batch.root / "autograded" / "attack7_leak" / hw / batch.name[hw]
    assert LEAK_MARK in graded.read_text(), "the leak attack did not print (nothing was checked)"
    assert leaked_outputs, "no hidden test printed anything: the check checked nothing"


def test_only_the_notebook_is_taken_from_a_submission(batch):
    notes = batch.notes(FULL, "extra_files")
    assert "ignored file: numpy.py" in notes and "ignored file: seqcourse/testing.py" in notes


# --------------------------------------------------------------------------- warm machinery

LEAVE_MARKS = r'''
import builtins as _b, glob as _g, os as _o, sys as _s
import numpy as _np
_MARK = "LEAKMARK-31415"
_b.LEAK_MARK_SEEN = _MARK
for _name, _mod in list(_s.modules.items()):
    try:
        setattr(_mod, "_leak_mark", _MARK)
    except Exception:
        pass
_np.random.seed(31415)
try:
    import torch as _t
    _t.manual_seed(31415)
except Exception:
    pass
_o.environ["LEAK_MARK"] = _MARK
for _path in ("leak_mark.txt", _o.path.expanduser("~/leak_mark.txt"), "/tmp/leak_mark.txt",
              "/dev/shm/leak_mark.txt"):
    try:
        with open(_path, "w") as _fh:
            _fh.write(_MARK)
    except Exception:
        pass
print("TEMPLATE-" + ("VISIBLE" if _g.glob("/tmp/gradebox-warm-*") else "HIDDEN"))
'''

LOOK_FOR_MARKS = r'''
import builtins as _b, os as _o, sys as _s
import numpy as _np
_found, _checked = [], 0
_checked += 1
if hasattr(_b, "LEAK_MARK_SEEN"):
    _found.append("builtins")
for _name, _mod in list(_s.modules.items()):
    _checked += 1
    try:
        if "_leak_mark" in vars(_mod):
            _found.append(_name)
    except Exception:
        pass
_checked += 1
if _np.random.random_sample() == _np.random.RandomState(31415).random_sample():
    _found.append("numpy.random")
try:
    import torch as _t
    _checked += 1
    if _t.initial_seed() == 31415:
        _found.append("torch seed")
except Exception:
    pass
_checked += 1
if "LEAK_MARK" in _o.environ:
    _found.append("environment")
for _path in ("leak_mark.txt", _o.path.expanduser("~/leak_mark.txt"), "/tmp/leak_mark.txt",
              "/dev/shm/leak_mark.txt"):
    _checked += 1
    if _o.path.exists(_path):
        _found.append(_path)
print("LEAK-CHECK", "CLEAN" if not _found else "FOUND " + ",".join(_found), _checked)
'''


def test_no_state_passes_from_one_submission_to_the_next(tmp_path):
    """Submission A leaves marks in every module, builtin, RNG, variable and file it can
    reach; B, graded next (one job, the same warm grading template), looks for each."""
    from gradinglib import grade_ids, make_course, submit, with_answers

    root = make_course(tmp_path, FULL)
    grading.release(root, [FULL])
    src = source_notebook(root, FULL)
    nb = nbformat.read(src, as_version=4)
    first = grade_ids(nb, solution=True)[0]
    answer = next(c.source for c in nb.cells
                  if c.metadata.get("nbgrader", {}).get("grade_id") == first)
    submit(root, "leak_a", FULL, with_answers(nb, {first: LEAVE_MARKS + answer}), src.name)
    submit(root, "leak_b", FULL, with_answers(nb, {first: LOOK_FOR_MARKS + answer}), src.name)
    outcomes = grading.autograde(root, FULL, options=grading.Options(jobs=1, warm=True))
    assert all(o.isolation == "bwrap" for o in outcomes.values()), outcomes
    scores = grading.cell_scores(root, FULL)
    auto = {s: grading.exercise_scores(scores, s) for s in ("leak_a", "leak_b")}
    assert auto["leak_a"] == auto["leak_b"]
    assert all(got == best for got, best in auto["leak_b"].values())

    def printed(student: str) -> str:
        path = root / "autograded" / student / FULL / src.name
        cells = nbformat.read(path, as_version=4).cells
        return "\n".join(o.get("text", "") for c in cells if c.cell_type == "code"
                         for o in c.get("outputs", []))

    assert "TEMPLATE-HIDDEN" in printed("leak_a"), printed("leak_a")[-2000:]
    check = [ln for ln in printed("leak_b").splitlines() if ln.startswith("LEAK-CHECK")]
    assert check and check[0].split()[1] == "CLEAN", check
    assert int(check[0].split()[-1]) > 50         # every module of the process was looked at
