"""Grading at scale: warm kernels give the same scores as cold serial grading; a class
graded in concurrent shards against one PostgreSQL gradebook holds every grade exactly
once, a re-run shard changes nothing and a shard killed half-way and re-run loses nothing.

The PostgreSQL test starts a throw-away server (Debian's ``postgresql``, run as
``nobody`` on a free port of 127.0.0.1); without one it is skipped, except under CI
(``CI=true``), where it must run (``.ci/run`` installs the server).
"""

from __future__ import annotations

import collections
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from gradinglib import fixtures, make_course, source_notebook, submit, with_answers
import gradebox as grading
from gradebox import batch

pytestmark = pytest.mark.slow
HW = "hw01_sequences"
NOBODY = 65534


# --------------------------------------------------------------------------- units

def test_shards_are_deterministic_and_cover_the_class():
    students = [f"student{i:03d}" for i in range(60)]
    for n in (1, 2, 3, 7):
        parts = [[s for s in students if batch.shard_of(s, n) == i] for i in range(1, n + 1)]
        assert sorted(sum(parts, [])) == students                     # each exactly once
        assert [batch.shard_of(s, n) for s in students] == \
            [batch.shard_of(s, n) for s in students]
    assert batch.shard_of("ada", 4) == batch.shard_of("ada", 4)
    assert batch.parse_shard("2/5") == (2, 5)
    for bad in ("0/3", "4/3", "2", "a/b", "1/0"):
        with pytest.raises(ValueError, match="i/n"):
            batch.parse_shard(bad)


def test_preloaded_modules_are_the_instructors_imports():
    from gradebox.execute import cell_roles
    from gradebox.warm import BASE_MODULES, preload_modules

    src = nbformat.v4.new_notebook()
    setup = nbformat.v4.new_code_cell("import numpy as np\nimport matplotlib.pyplot as plt\n"
                                      "from collections import Counter")
    setup.metadata["nbgrader"] = {"grade_id": "imports", "locked": True, "solution": False,
                                  "grade": False}
    answer = nbformat.v4.new_code_cell("import secret_student_module")
    answer.metadata["nbgrader"] = {"grade_id": "ans", "solution": True, "grade": False}
    src.cells = [setup, answer]
    mods = preload_modules(cell_roles(src))
    assert mods[:len(BASE_MODULES)] == BASE_MODULES
    assert "collections" in mods and "numpy" in mods
    assert not any(m.startswith("matplotlib") for m in mods)     # chooses a backend on import
    assert "secret_student_module" not in mods                   # answers never preload


# --------------------------------------------------------------------------- classes

def _expected(root: Path, kinds: dict[str, str]) -> dict[tuple[str, str], float]:
    """Every autograded cell's score each student must get, from the fixtures' headers:
    the solution gets full marks, the release zero, a wrong round loses exactly the
    cells its fixtures name."""
    src = nbformat.read(source_notebook(root, HW), as_version=4)
    points = {c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"].get("points", 0))
              for c in src.cells if c.metadata.get("nbgrader", {}).get("grade")
              and not c.metadata["nbgrader"].get("solution")}
    failing = {"wrong": set(sum((fx.expect_fail for fx in _wrong_round()), []))}
    out = {}
    for student, kind in kinds.items():
        for cell, pts in points.items():
            if kind == "solution":
                out[student, cell] = pts
            elif kind == "empty":
                out[student, cell] = 0.0
            else:
                out[student, cell] = 0.0 if cell in failing["wrong"] else pts
    return out


def _wrong_round():
    by_cell: dict[str, list] = {}
    for fx in fixtures(HW, "wrong"):
        by_cell.setdefault(fx.cell, []).append(fx)
    return [v[0] for v in by_cell.values()]


def _make_class(root: Path, kinds: dict[str, str], folder: str = "submitted") -> None:
    src = source_notebook(root, HW)
    solution = nbformat.read(src, as_version=4)
    empty = nbformat.read(root / "assignments" / HW / src.name, as_version=4)
    wrong = with_answers(solution, {fx.cell: fx.source for fx in _wrong_round()})
    for student, kind in kinds.items():
        nb = {"solution": solution, "empty": empty, "wrong": wrong}[kind]
        dest = root / folder / student / HW
        dest.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, dest / src.name)


def _autograded_scores(scores) -> dict[tuple[str, str], float]:
    return {(s.student, s.cell): s.score for s in scores if not s.needs_manual_grade
            and "__" in s.cell}


def test_warm_parallel_scores_equal_cold_serial(tmp_path):
    """The same class graded twice by gradebox: serially with a fresh kernel per
    submission, then on two jobs with kernels forked from the warm template."""
    root = make_course(tmp_path, HW)
    grading.release(root, [HW])
    kinds = {"ada": "solution", "bob": "wrong", "cy": "empty", "dee": "wrong"}
    _make_class(root, kinds)
    cold = grading.autograde(root, HW, options=grading.Options(jobs=1, warm=False))
    cold_scores = _autograded_scores(grading.cell_scores(root, HW))
    warm = grading.autograde(root, HW, options=grading.Options(jobs=2, warm=True))
    warm_scores = _autograded_scores(grading.cell_scores(root, HW))
    assert warm_scores == cold_scores
    assert warm_scores == _expected(root, kinds)
    for student in kinds:
        assert warm[student].reason == cold[student].reason
        assert warm[student].isolation == cold[student].isolation


def test_a_submission_past_the_outer_limit_is_stopped_with_its_student_process(tmp_path):
    """The warm path's outer wall-clock limit: an answer cell that never returns (the
    per-call limit is longer than the outer one here) is stopped, with the grading
    process and its sandboxed student process; every test cell then scores zero with
    the reason, and the next submission is graded as usual."""
    from gradebox.policy import Limits

    root = make_course(tmp_path, HW)
    grading.release(root, [HW])
    _make_class(root, {"ada": "solution", "zed": "solution"})
    nb_path = root / "submitted" / "zed" / HW / source_notebook(root, HW).name
    nb = nbformat.read(nb_path, as_version=4)
    stuck = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))
    stuck.source = "import time\nwhile True:\n    time.sleep(0.05)\n" + stuck.source
    nbformat.write(nb, nb_path)
    opts = grading.Options(jobs=1, warm=True, submission_seconds=8,
                           limits=Limits(call_seconds=120))
    start = time.monotonic()
    outcomes = grading.autograde(root, HW, options=opts)
    assert time.monotonic() - start < 60
    assert "limit of 8 s" in outcomes["zed"].reason, outcomes["zed"]
    assert outcomes["ada"].reason == ""
    scores = _autograded_scores(grading.cell_scores(root, HW))
    assert all(v == 0 for (who, _), v in scores.items() if who == "zed")
    assert sum(v for (who, _), v in scores.items() if who == "ada") > 0
    left = subprocess.run(["pgrep", "-f", str(root / ".grading")], capture_output=True, text=True)
    assert left.stdout.strip() == "", "a grading or student process outlived its limit"


# --------------------------------------------------------------------------- PostgreSQL

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_nobody(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    prefix = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"] \
        if os.geteuid() == 0 else []
    return subprocess.run(prefix + cmd, capture_output=True, text=True, timeout=120, **kw)


def _unavailable(why: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is required under CI: {why}")
    pytest.skip(f"no local PostgreSQL server: {why} (apt-get install postgresql)")


@pytest.fixture(scope="module")
def postgres():
    """A throw-away PostgreSQL server; yields a db_url of an empty database."""
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        _unavailable("psycopg2 is not installed")
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        _unavailable("no /usr/lib/postgresql/*/bin/initdb")
    bindir = Path(bins[-1]).parent
    import tempfile

    # not under pytest's base folder: that one is private to root, and the server
    # runs as nobody (PostgreSQL refuses to run as root)
    base = Path(tempfile.mkdtemp(prefix="gradebox-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    for d in (base, sock):
        os.chmod(d, 0o755)
        if os.geteuid() == 0:
            os.chown(d, NOBODY, NOBODY)
    port = _free_port()
    init = _as_nobody([str(bindir / "initdb"), "-D", str(data), "-U", "grader",
                       "--auth=trust", "-E", "UTF8", "--no-sync"])
    if init.returncode != 0:
        _unavailable(f"initdb failed: {init.stderr[-500:]}")
    start = _as_nobody([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"),
                        "-w", "-t", "60", "-o",
                        f"-h 127.0.0.1 -p {port} -k {sock} -c fsync=off", "start"])
    if start.returncode != 0:
        log = (base / "log").read_text()[-800:] if (base / "log").exists() else ""
        _unavailable(f"pg_ctl start failed: {start.stderr[-500:]} {log}")
    try:
        made = _as_nobody([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port),
                           "-U", "grader", "gradebook"])
        assert made.returncode == 0, made.stderr
        yield f"postgresql://grader@127.0.0.1:{port}/gradebook"
    finally:
        _as_nobody([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"])
        shutil.rmtree(base, ignore_errors=True)


def _students_per_shard(n: int, per: int) -> dict[int, list[str]]:
    """``per`` student names in each of the ``n`` shards (chosen by the hash)."""
    out: dict[int, list[str]] = {i: [] for i in range(1, n + 1)}
    k = 0
    while min(len(v) for v in out.values()) < per:
        name = f"s{k:03d}"
        shard = batch.shard_of(name, n)
        if len(out[shard]) < per:
            out[shard].append(name)
        k += 1
    return out


def _grade_cmd(shard: str, db_url: str) -> list[str]:
    return [sys.executable, "-m", "gradebox", "grade", "inbox", "--shard", shard,
            "--db-url", db_url, "--jobs", "1"]


def _snapshot(root: Path, db_url: str) -> tuple:
    """Every grade row (student, cell, scores, flags) and the counts of submissions."""
    from nbgrader.api import Gradebook

    from gradebox.course import db_url_of

    rows, subs = [], collections.Counter()
    with Gradebook(db_url_of(root, db_url)) as gb:
        for sub in gb.assignment_submissions(HW):
            subs[sub.student_id] += 1
            for nb in sub.notebooks:
                for g in nb.grades:
                    rows.append((sub.student_id, nb.name, g.name, g.auto_score, g.manual_score,
                                 g.needs_manual_grade, g.max_score))
    return sorted(rows, key=repr), dict(subs)


def test_on_a_server_shards_record_together_but_a_release_waits_for_them(tmp_path, postgres):
    """A release may delete and rebuild the assignment's cells (nbgrader does when the
    gradebook holds no submission yet), so it must never run while a shard is recording
    grades that point at those cells: recorders share the lock, a release takes it alone."""
    import threading

    from gradebox.course import gradebook_lock

    released = threading.Event()

    def release() -> None:
        with gradebook_lock(tmp_path, postgres):
            released.set()

    with gradebook_lock(tmp_path, postgres, shared=True):
        with gradebook_lock(tmp_path, postgres, shared=True):    # a second recorder: no wait
            waiter = threading.Thread(target=release, daemon=True)
            waiter.start()
            assert not released.wait(1.5), "a release ran while shards were recording"
    assert released.wait(30), "the release never got the lock once the recorders were done"
    waiter.join(5)


def test_concurrent_shards_share_one_postgresql_gradebook(tmp_path, postgres):
    root = make_course(tmp_path, HW)
    grading.release(root, [HW])
    n = 3
    shards = _students_per_shard(n, 2)
    cycle = ["solution", "wrong", "empty"]
    kinds = {s: cycle[(i + j) % 3] for i, names in shards.items() for j, s in enumerate(names)}
    _make_class(root, kinds, folder="inbox")
    env = dict(os.environ, PYTHONHASHSEED="0")

    # shards 1 and 3 at once; shard 2 is killed half-way through, then run again
    procs = {i: subprocess.Popen(_grade_cmd(f"{i}/{n}", postgres), cwd=root, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 start_new_session=True) for i in (1, 3)}
    log = open(tmp_path / "shard2.log", "w")
    killed = subprocess.Popen(_grade_cmd(f"2/{n}", postgres), cwd=root, env=env,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    executed = batch.work_folder(root, HW, (2, n)) / "executed"
    deadline = time.monotonic() + 400
    while killed.poll() is None and time.monotonic() < deadline and \
            not any(executed.glob(f"*/{HW}/*.ipynb")):
        time.sleep(0.2)
    assert killed.poll() is None, "shard 2 finished before it could be killed half-way:\n" + \
        (tmp_path / "shard2.log").read_text()[-3000:]
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    for i, proc in procs.items():
        out, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, f"shard {i}/{n} failed:\n{out[-3000:]}"
    graded_before = {s.student for s in grading.cell_scores(root, HW, db_url=postgres)}
    assert not graded_before & set(shards[2]), "the killed shard recorded a grade"
    again = subprocess.run(_grade_cmd(f"2/{n}", postgres), cwd=root, env=env,
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]

    # every grade exactly once, and the right one
    rows, subs = _snapshot(root, postgres)
    assert subs == {s: 1 for s in kinds}
    keys = collections.Counter((r[0], r[1], r[2]) for r in rows)
    assert set(keys.values()) == {1}
    scores = grading.cell_scores(root, HW, db_url=postgres)
    assert _autograded_scores(scores) == _expected(root, kinds)
    for student in kinds:
        assert (root / "feedback" / student / HW).is_dir(), f"no feedback for {student}"
        assert (root / "autograded" / student / HW).is_dir()

    # a re-run of a shard changes nothing
    rerun = subprocess.run(_grade_cmd(f"1/{n}", postgres), cwd=root, env=env,
                           capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]
    assert _snapshot(root, postgres) == (rows, subs)

    # the instructor's export, once every shard is done
    export = subprocess.run([sys.executable, "-m", "gradebox", "export", "--db-url", postgres],
                            cwd=root, capture_output=True, text=True, timeout=300)
    assert export.returncode == 0, export.stderr[-2000:]
    exported = (root / "grades.csv").read_text().splitlines()
    assert len(exported) == 1 + len(kinds)
    shutil.rmtree(root / ".grading", ignore_errors=True)
