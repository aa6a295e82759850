"""What a student's code may do while it is graded, and how that is enforced.

1. The boundary: an OS sandbox, bubblewrap (:func:`bwrap_command`).  The student
   process gets new PID, IPC, network, UTS, cgroup and user namespaces, runs as
   uid 65534 without capabilities, dies with its parent, and sees only the
   operating system and Python read-only, a staged copy of the importable
   packages without the reference modules (:func:`stage_library`) and its own
   scratch folder.  The course, the submissions, the gradebook, other jobs, the
   grader's processes and /tmp are absent from its view.  Without bubblewrap
   ("unshare": network only, or "none") grades are not safe, and
   ``gradebox.grade`` refuses unless told so explicitly.
2. Resource limits (``setrlimit``): address space, CPU seconds, size of any
   file written, no core dumps.  Wall-clock limits are kept by the grader.
3. A tripwire, not a boundary: a Python audit hook (PEP 578) in the student
   process refuses reading the course, writing outside scratch, sockets,
   processes, signals and the reference modules, and reports each refusal at
   once on a channel the grader reads (C code raises no audit event, hence 1).
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Limits", "Policy", "isolation_prefix", "bwrap_command", "sandbox_available",
           "stage_library", "reference_files", "apply_rlimits", "install_audit_hook"]


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
    lib: str = ""                                        # staged library (see stage_library)
    hidden_files: list[str] = field(default_factory=list)  # reference files, incl. bytecode

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Policy":
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


# --------------------------------------------------------------------------- OS layer

NOBODY = 65534
REFERENCE_REFUSED = ("{} is the course's reference implementation of this assignment and "
                     "is not available while your notebook is graded: write the algorithm "
                     "yourself")
_WORKS: dict[tuple, bool] = {}


def _works(cmd: list[str], drop: bool) -> bool:
    """Whether ``cmd`` succeeds here (remembered: a restart must not pay twice)."""
    key = (tuple(cmd), drop)
    if key not in _WORKS:
        try:
            _WORKS[key] = subprocess.run(cmd, capture_output=True, timeout=30,
                                         preexec_fn=_drop_to_nobody if drop else None
                                         ).returncode == 0
        except (OSError, subprocess.SubprocessError):
            _WORKS[key] = False
    return _WORKS[key]


def _drop_to_nobody() -> None:
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def system_paths() -> list[str]:
    """What the student process sees, read-only: the operating system and Python
    (interpreter and site-packages), nothing else of the machine."""
    import site

    paths = {"/usr", "/bin", "/lib", "/lib32", "/lib64", "/sbin", "/etc", sys.prefix,
             sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    paths.update(site.getsitepackages())
    return sorted(p for p in paths if os.path.lexists(p))


def bwrap_command(policy: Policy, uid_inside: int = NOBODY) -> list[str]:
    """bubblewrap's command line for ``policy``: new PID, IPC, network, UTS, cgroup
    and user namespaces, uid ``uid_inside`` without capabilities, a view made only
    of :func:`system_paths` (read-only), the student library (read-only, without
    the reference modules) and the scratch folder; death with its parent."""
    cmd = ["bwrap", "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-net",
           "--unshare-uts", "--unshare-cgroup-try", "--hostname", "grading",
           "--uid", str(uid_inside), "--gid", str(uid_inside), "--cap-drop", "ALL",
           "--die-with-parent", "--new-session", "--proc", "/proc", "--dev", "/dev",
           "--tmpfs", "/tmp"]
    for path in system_paths():
        if os.path.islink(path) and not os.path.isabs(os.readlink(path)):
            cmd += ["--symlink", os.readlink(path), path]
        else:
            cmd += ["--ro-bind", path, path]
    seen = [p for p in system_paths() if not os.path.islink(p)]
    hidden = list(policy.deny_read) + list(policy.hidden_files)
    for path in sorted(hidden, key=len):   # anything secret inside what is shown
        if not any(_inside(os.path.realpath(path), d) for d in seen):
            continue
        if os.path.isdir(path):
            cmd += ["--tmpfs", path]
        elif os.path.isfile(path):
            cmd += ["--ro-bind", "/dev/null", path]
    if policy.lib:
        cmd += ["--ro-bind", policy.lib, policy.lib]
    if policy.scratch:
        cmd += ["--bind", policy.scratch, policy.scratch, "--chdir", policy.scratch]
    return cmd


def isolation_prefix(policy: Policy) -> tuple[list[str], str, bool]:
    """``(command prefix, name, drop)``: how the student process is sandboxed.

    "bwrap" is the only OS boundary.  As root, bwrap itself is started as
    ``nobody`` (uid 65534 on the machine too) when Python is readable by that
    user; otherwise the student is uid 65534 in its user namespace, without any
    capability.  "unshare" (network only) and "none" leave the audit hook alone:
    they are not safe for real grades.
    """
    want = policy.isolation
    if want in ("auto", "bwrap") and shutil.which("bwrap"):
        cmd = bwrap_command(policy)
        probe = cmd + [sys.executable, "-I", "-S", "-c", "pass"]
        if os.geteuid() == 0 and _works(probe, drop=True):
            return cmd, "bwrap", True
        if _works(probe, drop=False):
            return cmd, "bwrap", False
    if want in ("auto", "unshare") and shutil.which("unshare"):
        for cmd in (["unshare", "--net"], ["unshare", "--net", "--map-root-user"]):
            if _works(cmd + ["true"], drop=False):
                return cmd, "unshare", False
    return [], "none", False


def sandbox_available() -> bool:
    """Whether bubblewrap can sandbox a student process on this machine."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        return isolation_prefix(Policy(scratch=tmp, isolation="bwrap"))[1] == "bwrap"


def stage_library(dest: str, packages: list[str], forbidden_modules: list[str]) -> str:
    """Copy the importable ``packages`` (gradebox for the worker, the course's helper
    package) into ``dest`` without any reference module (``.py`` nor bytecode), world
    readable; the student process imports from there and nowhere else of the course."""
    import importlib.util

    forbidden = set(forbidden_modules)
    for name in packages:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            continue
        src = list(spec.submodule_search_locations)[0]
        for base, dirs, files in os.walk(src):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            rel = os.path.relpath(base, src)
            pkg = name if rel == "." else name + "." + rel.replace(os.sep, ".")
            out = os.path.join(dest, name, "" if rel == "." else rel)
            os.makedirs(out, exist_ok=True)
            for f in files:
                mod = pkg + "." + f[:-3] if f.endswith(".py") else None
                if f.endswith((".pyc", ".pyo")) or (mod in forbidden) or \
                        (f == "__init__.py" and pkg in forbidden):
                    continue
                shutil.copy(os.path.join(base, f), os.path.join(out, f))
    for name in forbidden:   # a stub that says why, in place of each reference module
        parts = name.split(".")
        if parts[0] in packages and len(parts) > 1:
            stub = os.path.join(dest, *parts[:-1], parts[-1] + ".py")
            if os.path.isdir(os.path.dirname(stub)):
                with open(stub, "w") as fh:
                    fh.write(f"raise ImportError({REFERENCE_REFUSED.format(name)!r})\n")
    for base, dirs, files in os.walk(dest):
        os.chmod(base, 0o755)
        for f in files:
            os.chmod(os.path.join(base, f), 0o644)
    return dest


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


def install_audit_hook(policy: Policy, flags: Any) -> None:
    """Enforce ``policy`` in this process from now on; each refusal is ``flags.append``-ed
    (the worker's tripwire, which sends it to the grader at once)."""
    deny = [os.path.realpath(p) for p in policy.deny_read]
    allow = [os.path.realpath(p) for p in policy.allow_read]
    scratch = os.path.realpath(policy.scratch) if policy.scratch else None
    # Pure-Python imports raise no "import" audit event, so a reference module is
    # refused where its source file is opened (plain import, importlib, exec of the text).
    forbidden_files = {os.path.realpath(p) for p in policy.hidden_files}
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


def reference_files(modules: list[str]) -> list[str]:
    """Every file a reference module can be loaded from: its source and its bytecode
    caches (``__pycache__/<name>.*.pyc``), as found on this machine."""
    out = set()
    for name in modules:
        origin = _module_file(name)
        if not origin:
            continue
        out.add(os.path.realpath(origin))
        cache = os.path.join(os.path.dirname(origin), "__pycache__")
        stem = os.path.splitext(os.path.basename(origin))[0]
        if os.path.isdir(cache):
            out.update(os.path.realpath(os.path.join(cache, f)) for f in os.listdir(cache)
                       if f.startswith(stem + "."))
    return sorted(out)


def default_allow_read(extra: tuple[str, ...] = ()) -> list[str]:
    """Folders the audit hook lets the student process read inside a denied folder:
    Python itself (a virtual environment may live in the course folder) and ``extra``."""
    import site

    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, *site.getsitepackages(), *extra}
    return sorted(os.path.realpath(p) for p in paths if p and os.path.isdir(p))
