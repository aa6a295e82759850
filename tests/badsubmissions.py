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
