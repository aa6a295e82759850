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
    evil = b'{"$ndarray": "' + base64.b64encode(buf.getvalue()) + b'"}'
    with pytest.raises(ValueError):
        wire.decode(evil)
    with pytest.raises(wire.WireError):
        wire.decode(b'{"$pickle": "x"}')


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
    sandbox.stop()


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
        box.stop()
