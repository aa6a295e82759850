"""The student process: runs answer cells and answers calls from the tests.

Started by :class:`gradebox.client.Sandbox` as
``python -I -B -c BOOT LIB FD TRIPWIRE_FD`` inside the OS sandbox (importing only
from the staged library LIB), with a connected socket on file descriptor FD and
a write-only report channel on TRIPWIRE_FD.  The first message sets the policy
(installed as an audit hook before any student code runs); then each request
is one of

    exec    run a cell's source in the student namespace
    call    call a function or object the student defined (args are data)
    getattr / getitem / len / iter / next / repr   on such an object

and each reply carries the value (data, or a reference to an object kept
here), what the code printed (capped), and the sandbox refusals so far.
"""

from __future__ import annotations

import ast
import io
import os
import sys
import traceback
import types
from multiprocessing.connection import Connection
from typing import Any

from gradebox import wire
from gradebox.policy import Policy, install_audit_hook

CELL_FILENAME = "<your cell {n}>"


class _CappedText(io.TextIOBase):
    """A stream that keeps the first ``limit`` characters and counts the rest."""

    def __init__(self, limit: int) -> None:
        self.limit, self.parts, self.size, self.dropped = limit, [], 0, 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        text = str(text)
        room = self.limit - self.size
        if room > 0:
            self.parts.append(text[:room])
            self.size += min(room, len(text))
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def getvalue(self) -> str:
        note = f"\n[grading: {self.dropped} more characters of output were dropped]\n" \
            if self.dropped else ""
        return "".join(self.parts) + note


class _NoIPython:
    """Stands in for ``get_ipython()``: magics do nothing while grading."""

    def run_line_magic(self, name: str, line: str, *a: Any, **k: Any) -> None:
        if name not in ("matplotlib", "config"):
            print(f"[grading: %{name} is skipped]")

    def run_cell_magic(self, name: str, line: str, cell: str, *a: Any, **k: Any) -> None:
        print(f"[grading: %%{name} is skipped]")

    def system(self, cmd: str, *a: Any, **k: Any) -> None:
        print(f"[grading: !{cmd} is skipped]")

    getoutput = system

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"get_ipython().{name} is not available while grading")


class Tripwire:
    """Refusals and floods, each written at once to a socket only the grader reads: what
    was sent is on record even if student code later clears this object or the fd."""

    def __init__(self, fd: int | None) -> None:
        self.fd, self.count = fd, 0

    def __len__(self) -> int:
        return self.count

    def append(self, line: str) -> None:
        self.count += 1
        if self.fd is None or self.count > 60:
            return
        try:
            os.write(self.fd, (str(line).replace("\n", " ")[:300] + "\n").encode())
        except OSError:
            pass


class Worker:
    def __init__(self, conn: Connection, tripwire: Tripwire | None = None) -> None:
        self.conn = conn
        self.objects: dict[int, Any] = {}
        self.flags = tripwire if tripwire is not None else Tripwire(None)
        self.output_limit = 100_000
        self.cells = 0
        stub = _NoIPython()
        self.ns: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__,
                                   "get_ipython": lambda: stub}

    # ------------------------------------------------------------ wire
    def make_ref(self, obj: Any) -> dict:
        if isinstance(obj, _Ref):
            obj = obj.obj
        key = id(obj)
        self.objects[key] = obj
        kind = "callable" if callable(obj) else "object"
        try:
            text = object.__repr__(obj) if isinstance(obj, types.ModuleType) else repr(obj)
        except Exception:  # noqa: BLE001 - a student's __repr__ may fail
            text = object.__repr__(obj)
        return {"$ref": key, "kind": kind, "name": str(getattr(obj, "__name__", "") or ""),
                "repr": str(text)[:200]}

    def resolve(self, node: dict) -> Any:
        if "$ref_own" in node:
            return self.objects[int(node["$ref_own"])]
        if "$ref_cb" in node:
            return _Callback(self, int(node["$ref_cb"]), str(node.get("name", "callback")))
        raise wire.WireError("bad reference")

    def send(self, message: dict) -> None:
        try:
            data = wire.encode(message, self.make_ref)
        except Exception as err:  # noqa: BLE001 - report instead of dying
            data = wire.encode({"op": "done", "ok": False,
                                "stdout": message.get("stdout", ""),
                                "error": {"ename": "TypeError", "evalue":
                                          f"the grader cannot receive this value: {err}",
                                          "traceback": ""}})
        self.conn.send_bytes(data)

    def receive(self) -> dict:
        return wire.decode(self.conn.recv_bytes(), self.resolve)

    # ------------------------------------------------------------ requests
    def serve(self) -> None:
        while True:
            try:
                request = self.receive()
            except EOFError:
                return
            self.handle(request)

    def handle(self, request: dict) -> None:
        out = _CappedText(self.output_limit)
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = out
        reply: dict[str, Any] = {"op": "done", "ok": True}
        try:
            reply.update(self.dispatch(request))
        except BaseException as err:  # noqa: BLE001 - every failure goes back to the grader
            reply = {"op": "done", "ok": False, "error": _describe(err)}
            if isinstance(err, (MemoryError, RecursionError)) and len(self.flags) < 50:
                self.flags.append(f"{type(err).__name__}: your code ran out of memory or stack")
        finally:
            sys.stdout, sys.stderr = saved
        reply["stdout"] = out.getvalue()
        if out.dropped and len(self.flags) < 50:
            self.flags.append(f"printed {out.size + out.dropped} characters in one cell or "
                              f"call; only the first {self.output_limit} were kept")
        self.send(reply)

    def dispatch(self, request: dict) -> dict:
        op = request["op"]
        if op == "exec":
            return self.exec_cell(request["source"], request.get("protected", []))
        target = self.objects[int(request["target"])] if "target" in request else None
        if op == "call":
            return {"value": target(*request.get("args", []), **request.get("kwargs", {}))}
        if op == "getattr":
            return {"value": getattr(target, request["name"])}
        if op == "getitem":
            return {"value": target[request["key"]]}
        if op == "len":
            return {"value": len(target)}
        if op == "iter":
            return {"value": _Ref(iter(target))}
        if op == "next":
            try:
                return {"value": next(target)}
            except StopIteration:
                return {"stop": True}
        if op == "repr":
            return {"value": repr(target)}
        if op == "release":
            for key in request.get("ids", []):
                self.objects.pop(int(key), None)
            return {}
        raise ValueError(f"unknown request {op!r}")

    def exec_cell(self, source: str, protected: list[str]) -> dict:
        self.cells += 1
        filename = CELL_FILENAME.format(n=self.cells)
        code = _transform(source)
        tree = ast.parse(code, filename=filename)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        before = {k: id(v) for k, v in self.ns.items()}
        exec(compile(tree, filename, "exec"), self.ns)
        value = None
        if last is not None:
            value = eval(compile(ast.Expression(last.value), filename, "eval"), self.ns)
        shown = None if value is None else _safe_repr(value)
        names, clashes = {}, []
        for key, val in self.ns.items():
            if key.startswith("_") or isinstance(val, types.ModuleType):
                continue
            if before.get(key) == id(val):
                continue
            if key in protected:
                clashes.append(key)
                continue
            names[key] = val if _is_data(val) else _Ref(val)
        deleted = [k for k in before if k not in self.ns and not k.startswith("_")]
        return {"display": shown, "names": names, "deleted": deleted, "clashes": clashes,
                "images": _figures()}


class _Ref:
    """Marks a value to be sent as a reference even when it is data."""

    def __init__(self, obj: Any) -> None:
        self.obj = obj


class _Callback:
    """A function of the grader (the tests) that student code was given to call."""

    def __init__(self, worker: Worker, key: int, name: str) -> None:
        self.worker, self.key, self.__name__ = worker, key, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.worker.send({"op": "callback", "target": self.key, "args": list(args),
                          "kwargs": kwargs})
        while True:
            message = self.worker.receive()
            if message.get("op") == "done":
                if message.get("ok"):
                    return message.get("value")
                err = message.get("error", {})
                raise RuntimeError(f"{err.get('ename')}: {err.get('evalue')}")
            self.worker.handle(message)   # a nested request from the grader


def _is_data(value: Any) -> bool:
    try:
        wire.encode(value)
        return True
    except Exception:  # noqa: BLE001
        return False


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)[:5000]
    except Exception as err:  # noqa: BLE001
        return f"<repr failed: {err}>"


def _transform(source: str) -> str:
    """IPython syntax (magics, ``!cmd``) to plain Python calling get_ipython()."""
    if "%" not in source and "!" not in source:
        return source
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - fall back to the raw text
        return source


def _figures(limit: int = 4) -> list[bytes]:
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return []
    images = []
    for num in plt.get_fignums()[:limit]:
        buf = io.BytesIO()
        try:
            plt.figure(num).savefig(buf, format="png", dpi=60)
            images.append(buf.getvalue())
        except Exception:  # noqa: BLE001
            pass
    plt.close("all")
    return images


def _describe(err: BaseException) -> dict:
    frames = traceback.extract_tb(err.__traceback__)
    mine = [f for f in frames if f.filename.startswith("<your cell")
            or "/gradebox/" not in f.filename.replace(os.sep, "/")]
    lines = traceback.format_list(mine) + traceback.format_exception_only(type(err), err)
    return {"ename": type(err).__name__, "evalue": str(err)[:2000],
            "traceback": "".join(lines)[-6000:]}


def main(fd: int, tripwire_fd: int | None = None) -> None:
    sys.setrecursionlimit(5000)
    conn = Connection(fd)
    init = wire.decode(conn.recv_bytes())
    worker = Worker(conn, Tripwire(tripwire_fd))
    worker.output_limit = int(init.get("output_bytes", 100_000))
    os.environ["MPLBACKEND"] = "Agg"
    import numpy  # noqa: F401  - loaded before the hook, from the Python installation
    install_audit_hook(Policy.from_dict(init["policy"]), worker.flags)
    conn.send_bytes(wire.encode({"op": "ready", "pid": os.getpid()}))
    worker.serve()


if __name__ == "__main__":
    main(*map(int, sys.argv[1:]))
