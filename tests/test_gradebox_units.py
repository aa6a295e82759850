"""The grading sandbox piece by piece: the data format, the student process and its
limits, the rebuilt notebook, the static review."""

from __future__ import annotations

import base64
import io
import math
import socket

import nbformat
import numpy as np
import pytest
import torch

from gradebox import wire
from gradebox.client import Remote, Sandbox, SandboxCrash, StudentCodeError
from gradebox.execute import canonical, cell_roles, reserved_names, role_of
from gradebox.policy import Limits, Policy
from gradebox.review import scan_source


# --------------------------------------------------------------------------- wire

@pytest.mark.parametrize("value", [
    None, True, 3, -2**70, 1.5, "plain", "$looks-like-a-tag", b"\x00\x01", 2 + 3j,
    [1, [2, (3, "x")]], (), {"a": 1, (2, 3): [4.0]}, {1, 2}, frozenset({"a"}),
])
def test_wire_round_trips_python_data(value):
    assert wire.decode(wire.encode(value)) == value


def test_wire_keeps_non_finite_floats_and_types():
    out = wire.decode(wire.encode([math.inf, -math.inf, (1,)]))
    assert out[0] == math.inf and out[1] == -math.inf and isinstance(out[2], tuple)
    assert math.isnan(wire.decode(wire.encode(float("nan"))))


@pytest.mark.parametrize("arr", [np.arange(6, dtype=np.int32).reshape(2, 3),
                                 np.linspace(0, 1, 5), np.array([True, False]),
                                 np.array(["ab", "c"]), np.zeros((0, 4))])
def test_wire_round_trips_arrays_exactly(arr):
    out = wire.decode(wire.encode(arr))
    assert out.dtype == arr.dtype and out.shape == arr.shape and np.array_equal(out, arr)


def test_wire_round_trips_tensors_and_numpy_scalars():
    t = torch.arange(6, dtype=torch.float64).reshape(3, 2)
    out = wire.decode(wire.encode({"t": t, "s": np.float32(2.5)}))
    assert torch.equal(out["t"], t) and out["t"].dtype == torch.float64
    assert out["s"] == np.float32(2.5) and out["s"].dtype == np.float32
    assert type(out["s"]) is np.float32 and np.shape(out["s"]) == ()   # a scalar, not shape (1,)
    zero_d = wire.decode(wire.encode(np.array(3.0)))
    assert isinstance(zero_d, np.ndarray) and zero_d.shape == ()


def test_wire_sends_other_objects_as_references_only():
    refs = []
    data = wire.encode([len, object()], lambda obj: refs.append(obj) or {"$ref": len(refs)})
    assert len(refs) == 2
    assert wire.decode(data, lambda node: f"ref{node['$ref']}") == ["ref1", "ref2"]
    with pytest.raises(wire.WireError):
        wire.encode(object())


def test_wire_never_unpickles():
    buf = io.BytesIO()
    np.save(buf, np.array([object()], dtype=object), allow_pickle=True)
    evil = wire.TREE + b'{"$ndarray": "' + base64.b64encode(buf.getvalue()) + b'"}'
    with pytest.raises(ValueError, match="pickle"):
        wire.decode(evil)
    with pytest.raises(wire.WireError, match="unknown tag"):
        wire.decode(wire.TREE + b'{"$pickle": "x"}')


@pytest.mark.parametrize("message", [
    {"op": "callback", "target": 7, "args": ["u", "$v"], "kwargs": {}},
    {"op": "done", "ok": True, "value": 0.25, "stdout": ""},
    {"op": "call", "args": [[["a", "b"], ["c"]], 2, None, True, -2**70], "kwargs": {"k": 1.5}},
])
def test_wire_sends_flat_messages_as_plain_json_with_the_same_value(message):
    data = wire.encode(message)
    assert data[:1] == wire.PLAIN
    out = wire.decode(data, lambda node: pytest.fail("a plain message resolved a reference"))
    assert out == message and type(out["args" if "args" in out else "value"]) is \
        type(message["args" if "args" in message else "value"])


@pytest.mark.parametrize("message", [
    {"value": (1, 2)}, {"value": math.inf}, {"value": np.float64(0.5)}, {"value": {1: "a"}},
    {"value": [[[[[1]]]]]}, {"value": b"x"}, {"value": {"a", "b"}},
])
def test_wire_sends_what_json_would_change_as_the_tagged_tree(message):
    data = wire.encode(message)
    assert data[:1] == wire.TREE
    out = wire.decode(data)
    assert out == message and type(out["value"]) is type(message["value"])


def test_wire_plain_messages_cannot_carry_references_or_bombs():
    seen = []
    out = wire.decode(wire.PLAIN + b'{"value": {"$ref": 3}}', lambda node: seen.append(node))
    assert out == {"value": {"$ref": 3}} and not seen     # data, never a reference
    with pytest.raises(wire.WireError, match="plain"):
        wire.decode(wire.PLAIN + b'[1, 2]')
    with pytest.raises(wire.WireError, match="plain"):
        wire.decode(wire.PLAIN + b'{"v": ' + b"[" * 10 + b"]" * 10 + b"}")
    with pytest.raises(wire.WireError):
        wire.decode(wire.TREE + b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(wire.WireError, match="marker"):
        wire.decode(b'X{"op": "done"}')


# --------------------------------------------------------------------------- in-process cells

def test_cells_run_in_process_give_the_outputs_a_kernel_would():
    """gradebox.runner: stream, display, last value and errors as notebook outputs, the
    execution counts set, a failing cell not stopping the next, a cell past its limit
    ended with nbclient's CellTimeoutError (checked against nbformat's schema)."""
    from gradebox.runner import run_cells

    sources = ["x = 41\nprint('a'); print('b')\nx + 1",
               "import sys\nsys.stderr.write('careful\\n')\n"
               "from IPython.display import display, Markdown\ndisplay(Markdown('**m**'))",
               "assert x == 0, 'x should be 0'",
               "def broken(:",
               "while True:\n    pass",
               "x = x + 1\nx"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    run_cells(nb, 1.5)
    nbformat.validate(nb)
    out = [c.outputs for c in nb.cells]
    counts = [c.execution_count for c in nb.cells]
    assert counts == sorted(counts) and len(set(counts)) == len(counts) and None not in counts
    assert out[0][0].name == "stdout" and out[0][0].text == "a\nb\n"
    assert out[0][1].output_type == "execute_result" and out[0][1].data["text/plain"] == "42"
    assert out[1][0].name == "stderr" and out[1][1].data["text/markdown"] == "**m**"
    assert (out[2][0].ename, out[2][0].evalue) == ("AssertionError", "x should be 0")
    assert any("x == 0" in line for line in out[2][0].traceback)
    assert out[3][0].ename == "SyntaxError"
    assert [o.ename for o in out[4]] == ["CellTimeoutError"]
    assert out[5][0].data["text/plain"] == "42"       # the loop was interrupted, x kept
    assert nb.metadata["language_info"]["name"] == "python"


# --------------------------------------------------------------------------- student process

@pytest.fixture()
def box(tmp_path):
    secret = tmp_path / "course"
    secret.mkdir()
    (secret / "answers.txt").write_text("42")
    sandbox = Sandbox(Policy(deny_read=[str(secret)], scratch=str(tmp_path / "scratch"),
                             forbidden_modules=["seqcourse.kalman"]),
                      Limits(call_seconds=5, memory_mb=2048, output_bytes=1000, restarts=1))
    sandbox.secret = secret
    sandbox.start()
    yield sandbox
    sandbox.close()     # close, not stop: also removes the library it staged


def run(box, source):
    reply = box.request({"op": "exec", "source": source, "protected": ["np"]}, "test")
    box.history.append((source, ["np"]))
    return reply


def test_functions_come_back_as_proxies_returning_data(box):
    reply = run(box, "import numpy as np\ndef f(x, k=1):\n    return np.asarray(x) * k\n"
                     "table = {'a': [1, 2]}\n")
    f = reply["names"]["f"]
    assert isinstance(f, Remote) and reply["names"]["table"] == {"a": [1, 2]}
    assert "np" not in reply["names"]      # modules are not sent
    np.testing.assert_array_equal(f(np.eye(2), k=3), 3 * np.eye(2))


def test_student_objects_and_callbacks(box):
    reply = run(box, "class Model:\n    def __init__(self):\n        self.w = [1.0, 2.0]\n"
                     "    def predict(self, x):\n        return sum(self.w) * x\n"
                     "def apply(g, xs):\n    return [g(x) for x in xs]\n")
    model = reply["names"]["Model"]()
    assert model.w == [1.0, 2.0] and model.predict(2.0) == 6.0
    assert reply["names"]["apply"](lambda x: x * 10, [1, 2]) == [10, 20]


def test_errors_keep_their_builtin_type_and_the_students_traceback(box):
    f = run(box, "def f(x):\n    raise ValueError('bad shape ' + str(x))\n")["names"]["f"]
    with pytest.raises(ValueError, match="bad shape 3") as err:
        f(3)
    assert "your cell" in str(err.value)
    g = run(box, "class Oops(Exception):\n    pass\ndef g():\n    raise Oops('x')\n")["names"]["g"]
    with pytest.raises(StudentCodeError, match="Oops"):
        g()


def test_a_name_the_tests_own_is_not_sent_back(box):
    reply = run(box, "np = 'fake'\ndef h():\n    return 1\n")
    assert "np" not in reply["names"] and reply["clashes"] == ["np"]


def test_output_is_capped_and_flagged(box):
    reply = run(box, "for i in range(1000):\n    print('spam', i)\n")
    assert len(reply["stdout"]) < 1200 and "dropped" in reply["stdout"]
    assert any("printed" in f for f in box.flags)


@pytest.mark.parametrize("code, refused", [
    ("open({secret!r} + '/answers.txt').read()", "refused reading"),
    ("import os; os.listdir({secret!r})", "refused listing"),
    ("open('/tmp/seqcourse-sandbox-test.txt', 'w')", "refused writing"),
    ("import socket; socket.create_connection(('127.0.0.1', 9))", "refused network access"),
    ("import subprocess; subprocess.run(['true'])", "refused starting a process"),
    ("import os, signal; os.kill(os.getppid(), signal.SIGTERM)", "refused sending a signal"),
])
def test_the_audit_hook_refuses(box, code, refused):
    reply = run(box, code.format(secret=str(box.secret)))
    assert not reply["ok"]
    assert any(f.startswith(refused) for f in box.flags), box.flags


def test_the_scratch_folder_is_writable(box):
    reply = run(box, "open('notes.txt', 'w').write('ok')\nopen('notes.txt').read()")
    assert reply["ok"] and reply["display"] == "'ok'"


def test_the_reference_module_cannot_be_imported(box):
    reply = run(box, "from seqcourse.kalman import kalman_update")
    assert not reply["ok"] and reply["error"]["ename"] in ("ImportError", "ModuleNotFoundError")
    assert "reference implementation" in reply["error"]["evalue"]


def test_a_crash_is_reported_and_the_process_restarted_with_earlier_cells(box):
    f = run(box, "def f():\n    return 7\ndef die():\n    import os\n    os._exit(3)\n")["names"]
    with pytest.raises(SandboxCrash, match="exit code 3"):
        f["die"]()
    with pytest.raises(SandboxCrash, match="no longer running"):
        f["f"]()
    box.ensure_running()                     # restart: the cells are replayed
    again = run(box, "g = f()\n")
    assert again["names"]["g"] == 7


def test_an_endless_loop_times_out_and_restarts_are_limited(box):
    loop = run(box, "def spin():\n    while True:\n        pass\n")["names"]["spin"]
    with pytest.raises(SandboxCrash, match="longer than the limit of 5 s"):
        loop()
    box.ensure_running()
    with pytest.raises(SandboxCrash):
        run(box, "import ctypes\nctypes.string_at(0)\n")
    assert "signal 11" in box.crashes[-1]
    with pytest.raises(SandboxCrash, match="does not run it again"):
        box.ensure_running()


def test_memory_is_limited(box):
    reply = run(box, "x = bytearray(3 * 2**30)\n")
    assert not reply["ok"] and reply["error"]["ename"] == "MemoryError"


# --------------------------------------------------------------------------- the rebuilt notebook

def _nb():
    def cell(kind, gid, source, **meta):
        c = nbformat.v4.new_code_cell(source) if kind == "code" else \
            nbformat.v4.new_markdown_cell(source)
        c.metadata["nbgrader"] = {"grade_id": gid, "schema_version": 3, **meta}
        return c
    nb = nbformat.v4.new_notebook()
    nb.cells = [cell("markdown", "intro", "# Hi", locked=True, grade=False, solution=False),
                cell("code", "imports", "import numpy as np", locked=True, grade=False,
                     solution=False),
                cell("code", "f", "def f(x):\n    return 2 * x", solution=True, grade=False,
                     locked=False),
                cell("code", "f__double", "y = 1\nassert f(2) == 4", grade=True, locked=True,
                     solution=False, points=1)]
    return nb


def test_roles_come_from_the_source_and_edits_make_a_cell_the_students():
    roles = cell_roles(_nb())
    assert {k: v["role"] for k, v in roles.items()} == {
        "intro": "locked", "imports": "setup", "f": "answer", "f__double": "test"}
    edited = nbformat.from_dict(_nb().cells[3])
    edited.source = "pass"
    assert role_of(_nb().cells[3], roles) == "test" and role_of(edited, roles) == "student"
    assert {"np", "y", "print"} <= set(reserved_names(roles)) and "f" not in reserved_names(roles)


def test_canonical_restores_deleted_and_edited_instructor_cells_and_keeps_added_ones():
    roles = cell_roles(_nb())
    sub = _nb()
    sub.cells[2].source = "def f(x):\n    return x + x"
    sub.cells[1].source = "np = None"                   # edited set-up cell
    del sub.cells[3]                                    # deleted test
    sub.cells.insert(3, nbformat.v4.new_code_cell("helper = 1"))
    out = canonical(sub, roles, {"f": "raise NotImplementedError()"})
    sources = [c.source for c in out.cells]
    assert sources == ["# Hi", "import numpy as np", "def f(x):\n    return x + x",
                       "helper = 1", "y = 1\nassert f(2) == 4"]
    del sub.cells[2]                                    # deleted answer: the release stub
    again = canonical(sub, roles, {"f": "raise NotImplementedError()"})
    stub = [c.source for c in again.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "f"]
    assert stub == ["raise NotImplementedError()"]


# --------------------------------------------------------------------------- static review

def test_review_flags_tampering_and_not_ordinary_code():
    assert scan_source("import numpy as np\ndef f(x):\n    return np.sum(x)\n", "f") == []
    found = " | ".join(str(f) for f in scan_source(
        "import sys, seqcourse.testing as t\nt.assert_close = None\n"
        "get_ipython().input_transformers_post.append(1)\ndef abs(x):\n    return 0\n", "f"))
    for what in ("imports sys", "imports seqcourse.testing", "uses .assert_close",
                 "calls get_ipython()", "uses .input_transformers_post", "defines abs"):
        assert what in found, found


@pytest.mark.parametrize("isolation", ["none", "unshare", "bwrap"])
def test_every_isolation_level_refuses_the_course_files(tmp_path, isolation):
    """The audit hook works alone ("none"); unshare adds an empty network namespace; bwrap
    also hides the course folder at the OS level (os.stat bypasses the audit hook)."""
    import shutil

    if isolation != "none" and not shutil.which(isolation):
        pytest.skip(f"{isolation} is not installed here")
    secret = tmp_path / "course"
    secret.mkdir()
    (secret / "answers.txt").write_text("42")
    box = Sandbox(Policy(deny_read=[str(secret)], scratch=str(tmp_path / "scratch"),
                         isolation=isolation), Limits(call_seconds=10))
    box.start()
    try:
        if box.isolation != isolation:
            pytest.skip(f"{isolation} is installed but cannot create a sandbox here")
        reply = box.request({"op": "exec", "protected": [], "source":
                             f"import os\nvisible = os.path.exists({str(secret)!r} + '/answers.txt')\n"
                             f"open({str(secret)!r} + '/answers.txt').read()"}, "test")
        assert not reply["ok"] and any(f.startswith("refused reading") for f in box.flags)
        seen = box.request({"op": "exec", "protected": [], "source": "visible"}, "test")["display"]
        assert seen == ("False" if isolation == "bwrap" else "True")
    finally:
        box.close()


# --------------------------------------------------------------------------- issue 11: one test per mechanism

def _bwrap_box(tmp_path, **policy):
    import gradebox

    if not gradebox.sandbox_available():
        pytest.fail("bubblewrap (bwrap) is needed: apt-get install bubblewrap")
    box = Sandbox(Policy(scratch=str(tmp_path / "scratch"), isolation="bwrap", **policy),
                  Limits(call_seconds=10, memory_mb=2048))
    box.start()
    assert box.isolation == "bwrap"
    return box


def _value(box, source):
    reply = box.request({"op": "exec", "protected": [], "source": source}, "test")
    assert reply["ok"], reply.get("error")
    return reply["display"]


FRAME_CLEAR = """
try:
    raise ZeroDivisionError
except ZeroDivisionError as caught:
    frame = caught.__traceback__.tb_frame
while frame is not None:
    for value in list(frame.f_locals.values()):
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            value.clear()
    frame = frame.f_back
class Proxy:
    def __getattr__(self, name):
        return lambda *a, **k: True
locals().update(math=Proxy(), assert_close=Proxy(), t=3, fc=lambda x: x)
"""


def test_the_kernel_decides_which_names_an_answer_binds(box):
    """The student process can clear its own list of protected names (through the frames)
    and send `math` back; the kernel's check refuses it anyway, and records the attempt
    on a tool, not on a data name that a test cell also happens to use."""
    import math

    from gradebox.client import Grader

    reply = box.request({"op": "exec", "source": FRAME_CLEAR,
                         "protected": ["math", "assert_close", "t"]}, "test")
    assert reply["ok"] and {"math", "assert_close", "t"} <= set(reply["names"]), \
        "the attack should get its names past the student-side check (else this tests nothing)"
    grader = Grader(Policy(), Limits(), reserved=["math", "assert_close", "t", "np"],
                    tools=["math", "assert_close", "np"])
    ns = {"math": math, "t": 5, "assert_close": print}
    admitted = grader.admit(reply["names"], ns)
    assert "fc" in admitted and not {"math", "assert_close", "t"} & set(admitted)
    assert grader.clashes == {"math", "assert_close"}


def test_reserved_names_cover_what_instructor_cells_bind_and_the_modules_they_use():
    from gradebox.execute import reserved_names, tool_names

    roles = {"setup": {"role": "setup", "source": "import numpy as np\nfrom x import y as z\n"},
             "t__1": {"role": "test", "source": "for t in range(3):\n    assert math.isclose(1, 1)\n"
                                                "def helper():\n    pass\n"}}
    tools = set(tool_names(roles))
    assert {"np", "z", "math", "helper"} <= tools and "t" not in tools
    assert {"np", "z", "math", "helper", "t", "abs"} <= set(reserved_names(roles))


def test_student_code_runs_in_its_own_pid_namespace_as_uid_65534(tmp_path):
    box = _bwrap_box(tmp_path)
    try:
        seen = _value(box, "import os\n"
                           "pids = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())\n"
                           "caps = [l for l in open('/proc/self/status') if l.startswith('CapEff')]\n"
                           "(os.getuid(), os.getgid(), pids, caps[0].split()[1], os.uname().nodename)")
        uid, gid, pids, caps, host = eval(seen)
        assert (uid, gid) == (65534, 65534) and int(caps, 16) == 0, seen
        assert len(pids) <= 3 and max(pids) < 10, f"the student process sees other processes: {pids}"
        assert host == "grading"
    finally:
        box.close()


def test_the_course_the_grader_and_tmp_are_absent_from_its_view(tmp_path):
    from pathlib import Path

    import gradebox
    import seqcourse

    repo = Path(gradebox.__file__).resolve().parents[1]
    (tmp_path / "secret.txt").write_text("42")
    box = _bwrap_box(tmp_path, forbidden_modules=["seqcourse.kalman"])
    try:
        paths = [str(repo / "solutions"), str(Path(seqcourse.__file__).parent / "kalman.py"),
                 str(tmp_path / "secret.txt"), str(Path.home() / ".local" / "share" / "jupyter"),
                 str(repo / ".git")]
        seen = eval(_value(box, f"import os\n[os.path.exists(p) for p in {paths!r}]"))
        assert not any(seen), dict(zip(paths, seen))
        assert eval(_value(box, "import os\nos.access('/usr', os.W_OK)")) is False
    finally:
        box.close()


def test_the_reference_is_not_reachable_through_its_bytecode(tmp_path):
    import importlib.util
    import py_compile

    origin = importlib.util.find_spec("seqcourse.kalman").origin
    cached = importlib.util.cache_from_source(origin)
    py_compile.compile(origin, cfile=cached, doraise=True)
    box = _bwrap_box(tmp_path, forbidden_modules=["seqcourse.kalman"])
    try:
        reply = box.request({"op": "exec", "protected": [], "source":
                             f"import runpy\nns = runpy.run_path({cached!r})"}, "test")
        assert not reply["ok"]
        reply = box.request({"op": "exec", "protected": [], "source":
                             "import seqcourse.kalman"}, "test")
        assert not reply["ok"] and "reference implementation" in reply["error"]["evalue"]
    finally:
        box.close()


def test_everything_a_submission_starts_dies_with_its_notebook(tmp_path):
    """A detached shell (new session, started through _posixsubprocess so no audit event)
    keeps writing a heartbeat; closing the sandbox kills it."""
    import os
    import time

    marker = f"gradebox-linger-{os.getpid()}"
    box = _bwrap_box(tmp_path)
    beat = tmp_path / "scratch" / "beat"
    try:
        reply = box.request({"op": "exec", "protected": [], "source": f"""
import _posixsubprocess, posix
r, w = posix.pipe()
script = "while :; do echo x >> beat; sleep 0.1; done # {marker}"
for extra in ((), (True,)):
    try:
        _posixsubprocess.fork_exec(["/bin/sh", "-c", script], [b"/bin/sh"], True, (w,), None,
            None, -1, -1, -1, -1, -1, -1, r, w, False, True, -1, None, None, None, -1,
            None, *extra)
        break
    except TypeError:
        continue
"""}, "test")
        assert reply["ok"], reply.get("error")
        for _ in range(50):
            if beat.exists():
                break
            time.sleep(0.1)
        assert beat.exists(), "the detached shell did not start (this test checks nothing)"
    finally:
        box.close()
    time.sleep(0.5)
    size = beat.stat().st_size
    time.sleep(1.0)
    assert beat.stat().st_size == size, "a process started by student code outlived it"
    alive = []
    for proc in os.listdir("/proc"):
        try:
            if marker.encode() in open(f"/proc/{proc}/cmdline", "rb").read():
                alive.append(proc)
        except OSError:
            continue
    assert not alive, f"processes of the submission still run: {alive}"
    box.close()


def test_refusals_are_recorded_by_the_grader_not_in_student_memory(box):
    reply = run(box, "try:\n    open(" + repr(str(box.secret / "answers.txt")) + ").read()\n"
                     "except Exception:\n    pass\n" + """
try:
    raise ZeroDivisionError
except ZeroDivisionError as caught:
    frame = caught.__traceback__.tb_frame
while frame is not None:
    for value in list(frame.f_locals.values()):
        if hasattr(value, "flags"):
            value.flags = []
    frame = frame.f_back
""")
    assert reply["ok"], reply.get("error")
    assert any(f.startswith("refused reading") for f in box.flags), box.flags


def test_hidden_test_feedback_shows_only_the_verdict_and_the_instructors_words():
    from gradebox.batch import feedback_copy

    source = ("assert_close(f(x), g(x), 'f of x')\n### BEGIN HIDDEN TESTS\nxs = secret_inputs()\n"
              "assert ok(xs), 'f is wrong on fresh random inputs'\n### END HIDDEN TESTS\n")
    cell = nbformat.v4.new_code_cell(source, metadata={"nbgrader": {
        "grade": True, "grade_id": "f__fresh", "locked": True, "points": 1, "solution": False}})
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="LEAK [0.123, 0.456]\n"),
                    nbformat.v4.new_output("error", ename="AssertionError",
                                           evalue="f is wrong on fresh random inputs: expected "
                                                  "0.9876, got 0.1", traceback=["..."])]
    nb = nbformat.v4.new_notebook(cells=[cell])
    roles = cell_roles(nb)
    shown = feedback_copy(nb, roles).cells[0]
    text = nbformat.writes(nbformat.v4.new_notebook(cells=[shown]))
    assert "A hidden test failed. f is wrong on fresh random inputs" in text
    for leak in ("LEAK", "0.9876", "0.123", "secret_inputs", "expected"):
        assert leak not in text, leak
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="LEAK\n")]
    assert feedback_copy(nb, roles).cells[0].outputs == []


def test_grading_refuses_without_an_os_sandbox_unless_told_grades_are_unsafe(tmp_path):
    import shutil
    from pathlib import Path

    import gradebox
    from gradebox.batch import NoSandbox, grade_batch

    repo = Path(gradebox.__file__).resolve().parents[1]
    hw = gradebox.find_assignments(repo)[0]
    root = tmp_path / "course"
    shutil.copytree(repo / "solutions" / hw, root / "solutions" / hw)
    (tmp_path / "subs").mkdir()
    with pytest.raises(NoSandbox, match="unsafe-no-sandbox"):
        grade_batch(root, hw, tmp_path / "subs", gradebox.Options(isolation="none"))


def test_the_official_solutions_are_not_flagged_by_the_review():
    from pathlib import Path

    import gradebox
    from gradebox.review import scan_notebook

    repo = Path(gradebox.__file__).resolve().parents[1]
    for path in sorted(repo.glob("solutions/*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        roles = cell_roles(nb)
        answers = [i for i, c in enumerate(nb.cells)
                   if c.cell_type == "code" and role_of(c, roles) == "student"]
        assert not scan_notebook(nb, answers), f"{path.name}: {scan_notebook(nb, answers)}"
