"""What a student's code may do while it is graded, and how that is enforced.

Three layers, each enough to stop the common cases on its own:

1. An OS sandbox around the student process, with the best tool the machine
   has: ``bwrap`` (bubblewrap: read-only view of the system, the course
   folders replaced by empty ones, no network), else ``unshare`` (a network
   namespace with no interfaces), else none.
2. Resource limits (``setrlimit``): address space, CPU seconds, size of any
   file written, no core dumps.  Wall-clock limits are kept by the grader.
3. A Python audit hook (PEP 578) inside the student process, which Python
   code cannot remove: no reading under the course root, the submissions or
   the grading work folders; writing only in the process's own scratch
   folder; no sockets, subprocesses or signals to other processes; and no
   import of the course's reference implementation of the assignment.
   Every refusal is recorded and reported as a review flag.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Limits", "Policy", "isolation_prefix", "apply_rlimits", "install_audit_hook"]


@dataclass
class Limits:
    """Resource limits of one student process (see README, "Grading safely")."""

    memory_mb: int = 4096          # address space (RLIMIT_AS)
    cpu_seconds: int = 600         # CPU time of the whole process (RLIMIT_CPU)
    call_seconds: float = 60.0     # wall clock of one cell or one call from a test
    output_bytes: int = 100_000    # printed text kept per cell or call
    file_mb: int = 64              # largest file the process may write (RLIMIT_FSIZE)
    restarts: int = 3              # fresh processes after crashes/timeouts, per notebook

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Limits":
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass
class Policy:
    """Where the student process may read and write, and what it may not import."""

    deny_read: list[str] = field(default_factory=list)   # folders (and files) hidden from it
    allow_read: list[str] = field(default_factory=list)  # exceptions inside those folders
    scratch: str = ""                                    # its working folder, the only writable one
    forbidden_modules: list[str] = field(default_factory=list)
    isolation: str = "auto"                              # auto | bwrap | unshare | none

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Policy":
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


# --------------------------------------------------------------------------- OS layer

_WORKS: dict[tuple[str, ...], bool] = {}


def _works(cmd: list[str]) -> bool:
    """Whether ``cmd true`` succeeds here (remembered: a restart must not pay twice)."""
    key = tuple(cmd)
    if key not in _WORKS:
        try:
            _WORKS[key] = subprocess.run(cmd + ["true"], capture_output=True,
                                         timeout=20).returncode == 0
        except (OSError, subprocess.SubprocessError):
            _WORKS[key] = False
    return _WORKS[key]


def isolation_prefix(policy: Policy) -> tuple[list[str], str]:
    """The command prefix that sandboxes the student process, and its name."""
    want = policy.isolation
    if want in ("auto", "bwrap") and shutil.which("bwrap"):
        cmd = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
               "--unshare-net", "--unshare-ipc", "--die-with-parent", "--new-session"]
        for path in sorted(policy.deny_read, key=len):
            if os.path.isdir(path):
                cmd += ["--tmpfs", path]
        for path in sorted(policy.allow_read, key=len):
            if os.path.exists(path) and any(_inside(path, d) for d in policy.deny_read):
                cmd += ["--ro-bind", path, path]
        if policy.scratch:
            cmd += ["--bind", policy.scratch, policy.scratch]
        if _works(cmd):
            return cmd, "bwrap"
    if want in ("auto", "unshare") and shutil.which("unshare"):
        for cmd in (["unshare", "--net"], ["unshare", "--net", "--map-root-user"]):
            if _works(cmd):
                return cmd, "unshare"
    return [], "none"


def apply_rlimits(limits: Limits) -> None:
    """Set the limits in the current process (called in the child before exec)."""
    mem = int(limits.memory_mb) << 20
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    cpu = int(limits.cpu_seconds)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    size = int(limits.file_mb) << 20
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.setsid()  # its own process group, so the grader can kill everything it starts


# --------------------------------------------------------------------------- audit hook

def _inside(path: str, folder: str) -> bool:
    folder = folder.rstrip(os.sep) or os.sep
    return path == folder or path.startswith(folder + os.sep)


_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_NO_PROCESS = {"subprocess.Popen", "os.system", "os.exec", "os.spawn", "os.posix_spawn",
               "os.fork", "os.forkpty", "pty.spawn", "os.startfile"}
_NO_NETWORK = {"socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg",
               "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex",
               "socket.gethostbyaddr", "urllib.Request", "http.client.connect"}
_PATH_CHANGES = {"os.remove", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.symlink",
                 "os.link", "os.truncate", "os.utime", "os.rename", "shutil.rmtree",
                 "shutil.copyfile", "shutil.move", "os.chflags", "os.lchflags", "os.setxattr",
                 "os.removexattr"}


class SandboxViolation(PermissionError):
    """Raised inside the student process for an operation grading does not allow."""


def install_audit_hook(policy: Policy, flags: list[str]) -> None:
    """Enforce ``policy`` in this process from now on; refusals are appended to ``flags``."""
    deny = [os.path.realpath(p) for p in policy.deny_read]
    allow = [os.path.realpath(p) for p in policy.allow_read]
    scratch = os.path.realpath(policy.scratch) if policy.scratch else None
    # Pure-Python imports raise no "import" audit event, so a reference module is
    # refused where its source file is opened (plain import, importlib, exec of the text).
    forbidden_files = set()
    for name in policy.forbidden_modules:
        spec_path = _module_file(name)
        if spec_path:
            forbidden_files.add(os.path.realpath(spec_path))
    local = threading.local()
    me = os.getpid()

    def refuse(what: str) -> None:
        message = f"[grading sandbox] {what} is not allowed while your notebook is graded"
        if len(flags) < 50:
            flags.append(f"refused {what}")
        raise SandboxViolation(message)

    def no_reference(path: str) -> None:
        if len(flags) < 50:
            flags.append(f"refused importing the reference module {os.path.basename(path)}")
        raise ImportError(f"[grading sandbox] {path} holds the course's reference implementation "
                          f"of this assignment; write the algorithm yourself")

    def real(path: Any) -> str | None:
        if isinstance(path, int):
            return None
        try:
            return os.path.realpath(os.fsdecode(path))
        except (TypeError, ValueError):
            return None

    def readable(path: str) -> bool:
        if path in forbidden_files:
            return False
        best_deny = max((len(d) for d in deny if _inside(path, d)), default=-1)
        best_allow = max((len(a) for a in allow if _inside(path, a)), default=-1)
        if scratch and _inside(path, scratch):
            best_allow = max(best_allow, len(scratch))
        return best_deny < 0 or best_allow >= best_deny

    def writable(path: str) -> bool:
        return path == os.devnull or bool(scratch and _inside(path, scratch))

    def hook(event: str, args: tuple) -> None:
        if getattr(local, "busy", False):
            return
        local.busy = True
        try:
            _check(event, args)
        finally:
            local.busy = False

    def _check(event: str, args: tuple) -> None:
        if event == "open":
            path = real(args[0])
            if path is None:
                return
            mode, oflags = args[1] or "r", args[2] or 0
            if isinstance(mode, str) and any(c in mode for c in "wax+") or oflags & _WRITE_FLAGS:
                if not writable(path):
                    refuse(f"writing {path}")
            elif path in forbidden_files:
                no_reference(path)
            elif not readable(path):
                refuse(f"reading {path}")
        elif event in ("os.listdir", "os.scandir", "os.chdir", "glob.glob"):
            path = real(args[0] if args and args[0] is not None else ".")
            if path and not readable(path):
                refuse(f"listing {path}")
        elif event in _PATH_CHANGES:
            for arg in args[:2]:
                path = real(arg) if isinstance(arg, (str, bytes, os.PathLike)) else None
                if path and not writable(path):
                    refuse(f"{event} on {path}")
        elif event in _NO_PROCESS:
            refuse(f"starting a process ({event})")
        elif event in _NO_NETWORK:
            refuse(f"network access ({event})")
        elif event in ("os.kill", "os.killpg", "signal.pthread_kill"):
            if args and args[0] not in (me, 0):
                refuse(f"sending a signal ({event})")

    sys.addaudithook(hook)


def _module_file(name: str) -> str | None:
    import importlib.util

    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    return spec.origin if spec and spec.origin and os.path.exists(spec.origin) else None


def default_allow_read() -> list[str]:
    """Folders the student process must read even inside a denied folder: Python itself
    and the seqcourse package (its non-reference modules are the course's helpers)."""
    import seqcourse

    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(seqcourse.__file__).parent)}
    paths.update(p for p in sys.path if p and os.path.isdir(p) and "site-packages" in p)
    return sorted(os.path.realpath(p) for p in paths)
