"""Warm grading processes: start-up paid once per batch, not once per submission.

Every submission is graded by a *fresh* process that runs only the instructor's
cells (set-up and tests) and writes the executed notebook; student code runs
in its own sandboxed process (see :mod:`gradebox.client`).  Started from
scratch, such a process would cost more CPU than most test cells: Python,
nbformat and IPython, then numpy, torch and the course's helpers imported by
the set-up and test cells.

A :class:`GradingTemplate` is one process, started once per batch, that imports
all of that and then waits.  For each submission the batch asks it, over a
Unix socket in a folder only the grader can open, to *fork*: the child is that
submission's grading process.  It runs ``gradebox.execute.main`` on the job's
plan with the cells executed in the process itself by IPython
(:mod:`gradebox.runner`: no Jupyter kernel, no client process, no ZeroMQ),
writes its log into the job's folder, reports its exit code on the socket and
exits.  Each grading process is a copy-on-write copy of the template as it was
before any grading: the template never runs a cell, never receives anything
from a student process, and forks before any grading process exists, so
nothing one submission's grading did can reach another's.

If the batch closes the socket (the submission ran past its wall-clock limit),
the grading process notices at once and kills its process group, its student
process included (bubblewrap's ``--die-with-parent`` too).

    python -c BOOT SOCKET MODULE [MODULE ...]     # the template (see start())
"""

from __future__ import annotations

import ast
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from gradebox.course import tool_env

__all__ = ["GradingTemplate", "preload_modules", "serve"]

#: Modules imported from the start whether the assignment uses them or not.
BASE_MODULES = ["nbformat", "IPython", "numpy", "torch", "gradebox.execute",
                "gradebox.runner", "gradebox.client", "gradebox.wire", "gradebox.policy"]

BOOT = ("import sys; sys.modules.setdefault('rfc3987_syntax', None); "
        "from gradebox.warm import serve; serve(sys.argv[1], sys.argv[2:])")

#: The template's environment as the batch started it (set by serve(); every grading
#: process gets it back, whatever the imported modules did to os.environ).
_ENVIRONMENT: dict[str, str] = {}


def preload_modules(roles: dict[str, dict]) -> list[str]:
    """The modules the instructor's set-up and test cells import (top-level
    ``import``/``from ... import`` statements), to be imported by the template.
    Plotting back-ends are left out: they choose their output when imported."""
    names: list[str] = []
    for info in roles.values():
        if info["role"] not in ("test", "setup"):
            continue
        try:
            tree = ast.parse(info["source"])
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found = [node.module]
            else:
                continue
            names += [n for n in found if not n.startswith(("matplotlib", "pylab"))]
    return list(dict.fromkeys(BASE_MODULES + names))


# --------------------------------------------------------------------------- template side

def _die_with_parent() -> None:
    """PR_SET_PDEATHSIG: the template (and so no grading process can be forked any more) dies
    with the batch that started it."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def serve(path: str, modules: list[str]) -> None:
    """Import ``modules``, then fork one grading process per connection on ``path``."""
    import importlib

    global _ENVIRONMENT
    _die_with_parent()
    _ENVIRONMENT = dict(os.environ)     # the batch's (tool_env), before any import changes it
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the grading process will import (and fail) as usual
            pass
    _prepare()
    if threading.active_count() != 1:
        raise RuntimeError("the grading template started threads; it cannot fork safely")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    signal.signal(signal.SIGCHLD, lambda *_: _reap())
    print("ready", flush=True)
    while True:
        try:
            conn, _ = listener.accept()
        except InterruptedError:
            continue
        pid = os.fork()
        if pid == 0:
            listener.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            try:
                _grade(conn)
            finally:
                os._exit(1)
        conn.close()


def _prepare() -> None:
    """What every grading process would otherwise build first: nbformat's compiled
    schema validator and the IPython shell (before any cell runs: nothing in it
    belongs to a submission)."""
    import nbformat

    nbformat.validate(nbformat.v4.new_notebook())
    from gradebox.runner import shell

    shell()


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _grade(conn: socket.socket) -> None:
    """In the forked child: grade the submission the batch asked for, then report
    ``exit CODE`` on the socket."""
    os.setsid()
    stream = conn.makefile("rb")
    request = json.loads(stream.readline())
    os.environ.clear()
    os.environ.update(_ENVIRONMENT)
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.chdir(request["cwd"])
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)

    def watch() -> None:
        if not stream.readline():      # the batch is gone or gave up: so is this grading
            try:
                os.killpg(0, signal.SIGKILL)
            finally:
                os._exit(1)

    threading.Thread(target=watch, daemon=True, name="gradebox-batch-watch").start()
    code = 1
    try:
        from gradebox.execute import main

        code = main(list(request["argv"]), in_process=True)
    except BaseException:  # noqa: BLE001 - the log says what, the batch sees the code
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        conn.sendall(b"exit %d\n" % code)
        os._exit(0)


class GradingTemplate:
    """The template process of one batch: ``with GradingTemplate(modules) as t:``;
    ``t.grade(argv, cwd, log, seconds)`` grades one submission in a process forked
    from it.  ``t.socket`` is ``""`` when the template could not start (jobs then
    start ordinary Jupyter kernels)."""

    def __init__(self, modules: list[str], start_seconds: float = 120.0) -> None:
        self.modules, self.start_seconds = modules, start_seconds
        self.folder = ""
        self.socket = ""
        self.proc: subprocess.Popen | None = None
        self.error = ""

    def __enter__(self) -> "GradingTemplate":
        self.folder = tempfile.mkdtemp(prefix="gradebox-warm-")
        os.chmod(self.folder, 0o700)     # only the grader's user can reach the socket
        path = os.path.join(self.folder, "graders.sock")
        self.proc = subprocess.Popen([sys.executable, "-c", BOOT, path, *self.modules],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=tool_env(),
                                     start_new_session=True)
        deadline = time.monotonic() + self.start_seconds
        line = ""
        while time.monotonic() < deadline and self.proc.poll() is None:
            line = self.proc.stdout.readline().strip()
            if line == "ready":
                break
        if line == "ready" and os.path.exists(path):
            self.socket = path
        else:
            self.error = (self.proc.stderr.read() if self.proc.poll() is not None else
                          "the grading template did not start in time")[-2000:]
            self.close()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def grade(self, argv: list[str], cwd: str, log: str, seconds: float) -> int:
        """Run ``gradebox.execute.main(argv)`` in a fresh fork of the template, in
        ``cwd``, its output in ``log``; its exit code, or -9 if it ran longer than
        ``seconds`` (it is then killed) and -1 if it died without a word."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(self.socket)
            conn.sendall(json.dumps({"argv": argv, "cwd": cwd, "log": log}).encode() + b"\n")
            conn.settimeout(seconds)
            reply = b""
            try:
                while not reply.endswith(b"\n"):
                    part = conn.recv(64)
                    if not part:
                        break
                    reply += part
            except (socket.timeout, TimeoutError):
                return -9              # closing the socket kills the grading process
        try:
            word, code = reply.split()
            return int(code) if word == b"exit" else -1
        except ValueError:
            return -1

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
        if self.proc is not None:
            self.proc.wait()
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream:
                    stream.close()
        if self.folder:
            import shutil

            shutil.rmtree(self.folder, ignore_errors=True)
        self.proc, self.socket = None, ""
