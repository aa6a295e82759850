"""The grader's side: a sandboxed student process, and proxies to what it defines.

While a notebook is autograded, the Jupyter kernel runs only the instructor's
cells (set-up and tests).  Every answer cell is sent to a separate student
process (:mod:`gradebox.worker`) with :meth:`Grader.student`; the
names it defines come back as data (arrays, numbers, lists...) or as
:class:`Remote` proxies, so a test cell calls ``kalman_step(...)`` as usual
but the call runs in the student process and only the returned *data* reaches
the test.  Code in an answer cell therefore cannot touch the test machinery:
it is never in the same process as the assertions.

A crash, a timeout or a memory blow-up in the student process turns into an
exception in the test that made the call (a failed test with a clear reason);
the process is then restarted and the answer cells replayed, up to
``Limits.restarts`` times.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import types
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Callable

from gradebox import wire
from gradebox.policy import (NOBODY, Limits, Policy, _drop_to_nobody, apply_rlimits,
                             isolation_prefix, stage_library)

__all__ = ["Sandbox", "Remote", "Grader", "StudentCodeError"]


class StudentCodeError(Exception):
    """The student's code failed; the message says how, with its traceback."""


class SandboxCrash(StudentCodeError):
    """The student process died, ran out of time, or cannot be restarted."""


BOOT = ("import sys; sys.path.insert(0, sys.argv[1]); from gradebox.worker import main; "
        "main(int(sys.argv[2]), int(sys.argv[3]))")


def student_packages(policy: Policy) -> list[str]:
    """Packages staged for the student process: gradebox (the worker) and the course's own
    packages that hold reference modules, copied without them.

    A reference module of an *installed* package (``torch.nn.modules.rnn``, to keep an
    exercise in numpy) is not staged: the package is read from site-packages, which the
    sandbox shows read-only, and the module's files are hidden there (``hidden_files``,
    bound to /dev/null by bubblewrap) and refused by the audit hook.  Copying torch
    would cost about 700 MB and several seconds per batch."""
    import importlib.util
    import site

    sites = tuple(os.path.realpath(p) + os.sep for p in site.getsitepackages() if p)

    def installed(name: str) -> bool:
        spec = importlib.util.find_spec(name)
        where = list(spec.submodule_search_locations or []) if spec else []
        return bool(where) and os.path.realpath(where[0]).startswith(sites)

    tops = {m.split(".")[0] for m in policy.forbidden_modules}
    return sorted({"gradebox", *(t for t in tops if not installed(t))})


_BUILTIN_ERRORS = {name: obj for name, obj in vars(builtins).items()
                   if isinstance(obj, type) and issubclass(obj, Exception)}


def _as_exception(error: dict) -> Exception:
    """Rebuild the student's exception: a builtin type keeps its type (so a test can
    expect a ValueError), the traceback text goes into the message."""
    ename, evalue = str(error.get("ename", "Error")), str(error.get("evalue", ""))
    tb = str(error.get("traceback", "")).rstrip()
    message = f"{evalue}\n\n--- in your code ---\n{tb}" if tb else evalue
    cls = _BUILTIN_ERRORS.get(ename)
    if cls is None or cls in (SystemExit, KeyboardInterrupt) or not issubclass(cls, Exception):
        return StudentCodeError(f"{ename}: {message}")
    try:
        return cls(message)
    except Exception:  # noqa: BLE001 - exotic constructors
        return StudentCodeError(f"{ename}: {message}")


class Sandbox:
    """One student process with its limits, and the request/reply protocol."""

    def __init__(self, policy: Policy, limits: Limits) -> None:
        self.policy, self.limits = policy, limits
        self.proc: subprocess.Popen | None = None
        self.conn: Connection | None = None
        self.flags: list[str] = []
        self.callbacks: dict[int, Callable] = {}
        self.history: list[tuple[str, list[str]]] = []
        self.crashes: list[str] = []
        self.isolation = "none"
        self.generation = 0
        self.tripwire: socket.socket | None = None
        self._poller: Any = None
        self._conn_fd = self._trip_fd = -1
        self._own_lib = ""

    # ------------------------------------------------------------ process
    def start(self) -> None:
        if not self.policy.scratch:
            self.policy.scratch = tempfile.mkdtemp(prefix="gradebox-student-")
        os.makedirs(self.policy.scratch, exist_ok=True)
        if not self.policy.lib:
            self.policy.lib = self._own_lib = stage_library(
                tempfile.mkdtemp(prefix="gradebox-lib-"), student_packages(self.policy),
                self.policy.forbidden_modules)
        prefix, self.isolation, drop = isolation_prefix(self.policy)
        if drop:
            os.chown(self.policy.scratch, NOBODY, NOBODY)
        ours, theirs = socket.socketpair()
        trip_ours, trip_theirs = socket.socketpair()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.policy.scratch,
               "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "SEQCOURSE_DEVICE": "cpu", "TMPDIR": self.policy.scratch,
               "MPLCONFIGDIR": self.policy.scratch, "LANG": "C.UTF-8"}
        cmd = [*prefix, sys.executable, "-I", "-B", "-c", BOOT, self.policy.lib,
               str(theirs.fileno()), str(trip_theirs.fileno())]
        limits = self.limits

        def child() -> None:
            apply_rlimits(limits)
            if drop:
                _drop_to_nobody()

        self.proc = subprocess.Popen(cmd, cwd=self.policy.scratch, env=env,
                                     pass_fds=(theirs.fileno(), trip_theirs.fileno()),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, preexec_fn=child)
        theirs.close()
        trip_theirs.close()
        trip_ours.setblocking(False)
        self.tripwire, self._trip_buffer = trip_ours, b""
        self.conn = Connection(ours.detach())
        # one poller for the process's life (not one per message), on both channels
        self._poller, self._conn_fd = select.poll(), self.conn.fileno()
        self._trip_fd = trip_ours.fileno()
        for fd in (self._conn_fd, self._trip_fd):
            self._poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        self.conn.send_bytes(wire.encode({"policy": self.policy.to_dict(),
                                          "output_bytes": self.limits.output_bytes}))
        ready = self._wait(60.0, "starting the student process")
        if ready.get("op") != "ready":
            raise SandboxCrash("the student process did not start")
        self.generation += 1

    def read_tripwire(self) -> None:
        """Move what the student process reported (refusals, floods) into ``flags``:
        the record is the grader's, the student cannot erase what was sent."""
        sock = getattr(self, "tripwire", None)
        while sock is not None:
            try:
                data = sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                data = b""
            if not data:
                if self.alive():
                    self._note("student code closed the grader's record of refusals")
                with contextlib.suppress(KeyError, ValueError, AttributeError):
                    self._poller.unregister(self._trip_fd)
                self._trip_fd = -1
                sock.close()
                self.tripwire = sock = None
                break
            self._trip_buffer += data
            *lines, self._trip_buffer = self._trip_buffer.split(b"\n")
            for line in lines:
                self._note(line.decode("utf-8", "replace")[:300])

    def _note(self, line: str) -> None:
        if line and len(self.flags) < 60 and line not in self.flags:
            self.flags.append(line)

    def stop(self) -> None:
        """Kill the student process and everything it started: bwrap's PID namespace
        dies with its first process; without bwrap, the process group is killed."""
        if self.proc is not None:
            alive = self.proc.poll() is None
            self.read_tripwire()
            if alive:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    self.proc.kill()
            else:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)   # leftovers in its group
                except (ProcessLookupError, PermissionError):
                    pass
            self.proc.wait()
        if self.conn is not None:
            self.conn.close()
        if getattr(self, "tripwire", None) is not None:
            self.tripwire.close()
            self.tripwire = None
        self.proc = self.conn = None

    def close(self) -> None:
        """Stop for good (end of the notebook) and remove what was staged for it."""
        self.stop()
        if self._own_lib:
            shutil.rmtree(self._own_lib, ignore_errors=True)
            self._own_lib = self.policy.lib = ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _death(self) -> str:
        code = self.proc.wait(5) if self.proc is not None else None
        if code is not None and self.isolation == "bwrap" and 128 < code < 160:
            code = 128 - code        # bwrap reports a child killed by signal N as 128 + N
        if code is not None and code < 0:
            sig = -code
            what = {signal.SIGKILL: "it was killed (out of memory?)",
                    signal.SIGSEGV: "segmentation fault", signal.SIGXCPU: "CPU time limit of "
                    f"{self.limits.cpu_seconds} s exceeded", signal.SIGXFSZ: "file size limit of "
                    f"{self.limits.file_mb} MiB exceeded", signal.SIGABRT: "aborted"}
            return f"signal {sig}: {what.get(sig, signal.Signals(sig).name)}"
        return f"exit code {code}"

    # ------------------------------------------------------------ protocol
    def _wait(self, seconds: float, what: str) -> dict:
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.stop()
                raise SandboxCrash(f"{what} took longer than the limit of {seconds:g} s "
                                   "(an endless loop?); the grader stopped your code")
            try:
                ready = {fd for fd, _ in self._poller.poll(min(left, 1.0) * 1000)}
            except (OSError, ValueError, AttributeError):
                ready = {self._conn_fd}
            if self._trip_fd in ready:
                self.read_tripwire()      # before the reply: what was reported came first
            if self._conn_fd not in ready:
                continue
            try:
                data = self.conn.recv_bytes(wire.MAX_MESSAGE_BYTES)
            except (EOFError, OSError):
                reason = self._death()
                self.stop()
                raise SandboxCrash(f"your code crashed the Python process while {what} "
                                   f"({reason})") from None
            message = wire.decode(data, self._resolve)
            message.pop("flags", None)        # the student's own list: not trusted
            if message.get("op") == "callback":
                self._serve_callback(message)
                deadline = time.monotonic() + seconds
                continue
            return message

    def _serve_callback(self, message: dict) -> None:
        func = self.callbacks[int(message["target"])]
        try:
            reply = {"op": "done", "ok": True,
                     "value": func(*message.get("args", []), **message.get("kwargs", {}))}
        except Exception as err:  # noqa: BLE001 - goes back to the student process
            reply = {"op": "done", "ok": False,
                     "error": {"ename": type(err).__name__, "evalue": str(err)}}
        self.conn.send_bytes(wire.encode(reply, self._make_ref))

    def _make_ref(self, obj: Any) -> dict:
        if isinstance(obj, Remote):
            if obj._generation != self.generation:
                raise SandboxCrash("this object belonged to a student process that has "
                                   "since crashed")
            return {"$ref_own": obj._key}
        if callable(obj):
            self.callbacks[id(obj)] = obj
            return {"$ref_cb": id(obj), "name": getattr(obj, "__name__", "callback")}
        raise wire.WireError(f"cannot send a {type(obj).__name__} to the student's code")

    def _resolve(self, node: dict) -> Any:
        if "$ref" in node:
            return Remote(self, int(node["$ref"]), node)
        if "$ref_cb" in node:
            return self.callbacks[int(node["$ref_cb"])]
        raise wire.WireError("bad reference from the student process")

    def request(self, message: dict, what: str) -> dict:
        """Send one request and return its reply; restarts are the caller's business."""
        if not self.alive():
            raise SandboxCrash("the student process is not running")
        try:
            self.conn.send_bytes(wire.encode(message, self._make_ref))
            return self._wait(self.limits.call_seconds, what)
        except SandboxCrash as err:
            self.crashes.append(str(err).split("\n")[0])
            raise
        except BaseException:
            self.stop()   # interrupted mid-request: the protocol state is lost
            raise

    def ensure_running(self) -> None:
        """Start the process, or restart it after a crash and replay the cells run so far."""
        if self.alive():
            return
        if self.generation > self.limits.restarts:
            raise SandboxCrash(f"your code crashed or timed out {len(self.crashes)} times; "
                               "the grader does not run it again. First problem: "
                               f"{self.crashes[0] if self.crashes else 'unknown'}")
        self.start()
        for source, protected in self.history:
            try:
                self.request({"op": "exec", "source": source, "protected": protected},
                             "re-running your earlier cells")
            except SandboxCrash:
                raise
            except Exception:  # noqa: BLE001 - a failing cell failed the first time too
                pass


class Remote:
    """A function or object that lives in the student process."""

    __slots__ = ("_box", "_key", "_info", "_generation")

    def __init__(self, box: Sandbox, key: int, info: dict) -> None:
        object.__setattr__(self, "_box", box)
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_info", info)
        object.__setattr__(self, "_generation", box.generation)

    def _ask(self, op: str, what: str, **fields: Any) -> dict:
        box = self._box
        if box.generation != self._generation or not box.alive():
            raise SandboxCrash("your code is no longer running: the student process crashed "
                               f"earlier ({box.crashes[0] if box.crashes else 'unknown reason'})")
        reply = box.request({"op": op, "target": self._key, **fields}, what)
        if reply.get("stdout"):
            sys.stdout.write(reply["stdout"])
        if not reply.get("ok"):
            raise _as_exception(reply.get("error", {}))
        return reply

    @property
    def __name__(self) -> str:  # type: ignore[override]
        return self._info.get("name") or "student_object"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._ask("call", f"running {self.__name__}", args=list(args),
                         kwargs=kwargs)["value"]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._ask("getattr", f"reading .{name}", name=name)["value"]

    def __getitem__(self, key: Any) -> Any:
        return self._ask("getitem", "indexing", key=key)["value"]

    def __len__(self) -> int:
        return int(self._ask("len", "len()")["value"])

    def __iter__(self):
        it = self._ask("iter", "iterating")["value"]
        while True:
            reply = it._ask("next", "iterating")
            if reply.get("stop"):
                return
            yield reply["value"]

    def __repr__(self) -> str:
        return f"<student's {self._info.get('kind', 'object')} {self._info.get('repr', '')}>"

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("the tests cannot change the student's objects")


class Grader:
    """What the grading kernel calls, one method per kind of cell.

    ``setup(source)`` runs an instructor set-up cell in the student process too
    (the kernel runs it itself right after); ``student(source)`` runs an answer
    cell only in the student process and lets the names it defined into the
    kernel's namespace *after a check made here, in the kernel*: no name an
    instructor cell binds or uses (``reserved``), no name already bound in the
    kernel by anybody but the student, no builtin, no private name.  Whatever
    the student process claims about its names is not trusted.
    """

    def __init__(self, policy: Policy, limits: Limits, report: str | None = None,
                 reserved: list[str] | None = None, tools: list[str] | None = None) -> None:
        self.box = Sandbox(policy, limits)
        self.report = report
        self.reserved = set(reserved or ()) | set(dir(builtins))
        self.tools = set(tools or ()) | set(dir(builtins))
        self.synced: set[str] = set()
        self.clashes: set[str] = set()

    @classmethod
    def from_plan(cls, path: str) -> "Grader":
        plan = json.loads(Path(path).read_text())
        return cls(Policy.from_dict(plan["policy"]), Limits.from_dict(plan["limits"]),
                   plan.get("report"), plan.get("reserved"), plan.get("tools"))

    def _ns(self) -> dict:
        from IPython import get_ipython
        return get_ipython().user_ns

    def _protected(self, ns: dict | None = None) -> set[str]:
        ns = self._ns() if ns is None else ns
        return self.reserved | {k for k in ns if k not in self.synced}

    def admit(self, names: dict[str, Any], ns: dict) -> dict[str, Any]:
        """The names an answer cell may bind in the kernel, decided here.  Refused
        names that the tests use as tools (modules, functions, builtins) are
        recorded for review; a clash on a data name (a loop variable ``t``
        that a test cell also uses) is only ignored: it is natural code."""
        protected = self._protected(ns)
        admitted = {}
        for name, value in names.items():
            if not isinstance(name, str) or not name.isidentifier() or name.startswith("_") \
                    or name in protected:
                current = ns.get(name)
                if isinstance(name, str) and not name.startswith("_") and (
                        name in self.tools or isinstance(current, types.ModuleType)
                        or callable(current)):
                    self.clashes.add(name)
                continue
            admitted[name] = value
        return admitted

    def _run(self, source: str, what: str) -> dict:
        self.box.ensure_running()
        protected = sorted(self._protected())
        message = {"op": "exec", "source": source, "protected": protected}
        reply = self.box.request(message, what)
        self.box.history.append((source, protected))
        return reply

    def setup(self, source: str) -> None:
        try:
            self._run(source, "running a set-up cell")
        except SandboxCrash:
            pass   # the tests that need the student's code will say so
        finally:
            self._save()

    def student(self, source: str) -> None:
        from IPython.display import Image, display

        try:
            reply = self._run(source, "running your cell")
        finally:
            self._save()
        if reply.get("stdout"):
            sys.stdout.write(str(reply["stdout"]))
        for png in reply.get("images", [])[:4]:
            if isinstance(png, bytes):
                display(Image(data=png))
        ns = self._ns()
        names = reply.get("names", {})
        for name, value in self.admit(names if isinstance(names, dict) else {}, ns).items():
            ns[name] = value
            self.synced.add(name)
        for name in reply.get("deleted", []):
            if isinstance(name, str) and name in self.synced:
                ns.pop(name, None)
        self._save()
        if not reply.get("ok"):
            raise _as_exception(reply.get("error", {}))
        if reply.get("display") is not None:
            print(str(reply["display"]))

    def close(self) -> None:
        """The notebook has ended: kill the student process and all it started."""
        self.box.close()
        self._save()

    def _save(self) -> None:
        """Write what the grader saw to the job's report file (read by the batch)."""
        if not self.report:
            return
        self.box.read_tripwire()
        data = {"isolation": self.box.isolation, "refused": self.box.flags,
                "crashes": self.box.crashes, "clashes": sorted(self.clashes)}
        Path(self.report).write_text(json.dumps(data, indent=1))
