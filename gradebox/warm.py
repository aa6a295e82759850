"""Warm grading kernels: start-up paid once per batch, not once per submission.

Every submission is graded in a *fresh* Jupyter kernel that runs only the
instructor's cells (set-up and tests; student code runs in its own sandboxed
process, see :mod:`gradebox.client`).  Starting such a kernel costs more CPU
than most test cells: Python, IPython and ipykernel, then numpy, torch and the
course's helpers imported by the set-up and test cells.

A :class:`KernelTemplate` is one process, started once per batch, that imports
all of that and then waits.  For each submission it *forks*: the child
becomes that submission's kernel (``IPKernelApp`` on the connection file the
job's kernel manager wrote).  Each kernel is a copy-on-write copy of the
template as it was before any grading: the template never runs a cell, never
receives anything from a student process, and forks before any kernel exists,
so nothing one submission's grading did can reach another's kernel.

The job's kernel manager (:class:`WarmKernelManager`) does not start the
kernel itself but a small stand-in process (:data:`PROXY`, standard library
only) that asks the template for a kernel over a Unix socket in a folder only
the grader can open, forwards the signals it receives (interrupt, terminate)
to the kernel, and exits when the kernel does.  If the stand-in dies (the job
is killed after its wall-clock limit), the kernel notices the closed socket
and exits at once, taking its student process with it (bubblewrap's
``--die-with-parent``).

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
from pathlib import Path

__all__ = ["KernelTemplate", "WarmKernelManager", "preload_modules", "serve"]

#: Modules imported from the start whether the assignment uses them or not.
BASE_MODULES = ["ipykernel.kernelapp", "ipykernel.ipkernel", "IPython", "numpy", "torch",
                "gradebox.client", "gradebox.wire", "gradebox.policy"]

#: The stand-in started by the kernel manager in place of ``python -m ipykernel_launcher``.
PROXY = r"""
import json, os, signal, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(json.dumps({"connection_file": sys.argv[2], "cwd": os.getcwd(),
                      "env": dict(os.environ)}).encode() + b"\n")
def forward(signum, frame):
    try:
        s.sendall(b"%d\n" % signum)
    except OSError:
        pass
for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
    signal.signal(sig, forward)
while True:
    try:
        if not s.recv(4096):
            break
    except InterruptedError:
        continue
    except OSError:
        break
os._exit(0)
"""

BOOT = ("import sys; sys.modules.setdefault('rfc3987_syntax', None); "
        "from gradebox.warm import serve; serve(sys.argv[1], sys.argv[2:])")


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
    """PR_SET_PDEATHSIG: the template (and so no kernel can be forked any more) dies
    with the batch that started it."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def serve(path: str, modules: list[str]) -> None:
    """Import ``modules``, then fork one kernel per connection on the socket ``path``."""
    import importlib

    _die_with_parent()
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the kernel will import (and fail) as usual
            pass
    if threading.active_count() != 1:
        raise RuntimeError("the kernel template started threads; it cannot fork safely")
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
                _kernel(conn)
            finally:
                os._exit(1)
        conn.close()


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _kernel(conn: socket.socket) -> None:
    """In the forked child: become the kernel the stand-in asked for."""
    os.setsid()
    stream = conn.makefile("rb")
    request = json.loads(stream.readline())
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in request["env"].items()})
    os.chdir(request["cwd"])

    def watch() -> None:
        while True:
            line = stream.readline()
            if not line:           # the stand-in is gone: so is this kernel's job
                try:
                    os.killpg(0, signal.SIGKILL)
                finally:
                    os._exit(1)
            try:
                os.kill(os.getpid(), int(line))
            except (ValueError, OSError):
                pass

    threading.Thread(target=watch, daemon=True, name="gradebox-proxy-watch").start()
    from ipykernel.kernelapp import IPKernelApp

    sys.argv = ["ipykernel_launcher", "-f", request["connection_file"]]
    try:
        IPKernelApp.launch_instance(argv=sys.argv[1:])
    finally:
        os._exit(0)


class KernelTemplate:
    """The template process of one batch: ``with KernelTemplate(modules) as t:``;
    ``t.socket`` is what a job's :class:`WarmKernelManager` connects to, or ``""``
    when the template could not start (jobs then start ordinary kernels)."""

    def __init__(self, modules: list[str], start_seconds: float = 120.0) -> None:
        self.modules, self.start_seconds = modules, start_seconds
        self.folder = ""
        self.socket = ""
        self.proc: subprocess.Popen | None = None
        self.error = ""

    def __enter__(self) -> "KernelTemplate":
        self.folder = tempfile.mkdtemp(prefix="gradebox-warm-")
        os.chmod(self.folder, 0o700)     # only the grader's user can reach the socket
        path = os.path.join(self.folder, "kernels.sock")
        env = dict(os.environ)
        env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
        self.proc = subprocess.Popen([sys.executable, "-c", BOOT, path, *self.modules],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env,
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
                          "the kernel template did not start in time")[-2000:]
            self.close()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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


# --------------------------------------------------------------------------- job side

def WarmKernelManager(socket_path: str) -> type:
    """A kernel manager class (for ``NotebookClient(kernel_manager_class=...)``) whose
    kernels are forked by the template listening on ``socket_path``."""
    from jupyter_client.manager import AsyncKernelManager

    class _Warm(AsyncKernelManager):
        def format_kernel_cmd(self, extra_arguments=None):  # noqa: ANN001, ANN202
            return [sys.executable, "-I", "-S", "-c", PROXY, socket_path,
                    self.connection_file]

    return _Warm
