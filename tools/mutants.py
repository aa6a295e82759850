"""How good is each grader? Mutation testing of every exercise of every assignment.

For every answer cell of every nbgrader source notebook ``solutions/<hw>/<hw>.ipynb``
this tool makes many small wrong versions of the official solution (mutants: a
flipped operator, an index or range off by one, a dropped term, a missing
transpose, a changed constant, an update made in place on the caller's array...)
and runs the exercise's visible AND hidden tests against each one. A mutant is
*caught* (killed) when at least one test cell fails, errs or runs out of time;
it *survives* when every test passes. The score of an exercise is

    caught / (mutants - recorded equivalent mutants)

Tests run directly, not through the grading sandbox: the notebook's set-up cells
and the solutions of earlier exercises run once per exercise; then for every
mutant a forked copy of that process runs the mutated answer cell and the test
cells, under a time limit (an endless loop counts as caught).

Some mutants cannot be caught by any test because they compute the same thing
(``min(1, x)`` vs ``min(x, 1)``, a tolerance ``1e-6`` vs ``2e-6``...). They are
listed with a reason, one file per assignment, in
``tools/mutants_equivalent/<assignment>.json``::

    {"viterbi": {"<mutant id>": "why it is equivalent"}}    # tools/mutants_equivalent/hw02_hmm.json

Usage::

    python tools/mutants.py                      # every assignment, every exercise
    python tools/mutants.py hw02_hmm             # one assignment
    python tools/mutants.py hw02_hmm:viterbi     # one exercise
    python tools/mutants.py --survivors          # print every survivor's diff
    python tools/mutants.py --fixtures hw03_rnn  # which tests each wrong-answer fixture fails

Results: a table on stdout, and ``.bench/mutants/report.txt`` / ``report.json``
(``.bench/`` is git-ignored). The exit status is 1 when an exercise scores below
``--goal`` (default 0.9).
"""

from __future__ import annotations

import argparse
import ast
import copy
import hashlib
import json
import os
import pickle
import select
import signal
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

REPO = Path(__file__).resolve().parents[1]
EQUIVALENT_DIR = Path(__file__).resolve().with_name("mutants_equivalent")
OUT_DIR = REPO / ".bench" / "mutants"
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


# ----------------------------------------------------------------------------- notebooks
@dataclass
class Cell:
    kind: str          # "setup", "answer", "test" or "other"
    grade_id: str
    source: str        # markers removed (hidden tests kept)
    solution_lines: tuple[int, int] = (0, 0)   # 1-based line range inside BEGIN/END SOLUTION


def _strip_markers(source: str) -> tuple[str, tuple[int, int]]:
    lines, kept, first, last = source.splitlines(), [], 0, 0
    for line in lines:
        tag = line.strip()
        if tag == "### BEGIN SOLUTION":
            first = len(kept) + 1
            kept.append("")          # keep line numbers stable
            continue
        if tag == "### END SOLUTION":
            last = len(kept)
            kept.append("")
            continue
        if tag in MARKERS:
            kept.append("")
            continue
        kept.append(line)
    if first and not last:
        last = len(kept)
    return "\n".join(kept) + "\n", (first, last)


def read_cells(path: Path) -> list[Cell]:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    cells = []
    for c in nb.cells:
        if c.cell_type != "code":
            continue
        meta = c.metadata.get("nbgrader", {})
        gid = meta.get("grade_id", "")
        src, span = _strip_markers(c.source)
        if meta.get("solution"):
            kind = "answer"
        elif meta.get("grade"):
            kind = "test"
        elif meta:
            kind = "setup"
        else:
            kind = "other"
        cells.append(Cell(kind, gid, src, span))
    return cells


def assignments() -> dict[str, Path]:
    """Every assignment with a source notebook under solutions/ (hw05... join automatically)."""
    found = {}
    for folder in sorted((REPO / "solutions").iterdir()):
        notebooks = sorted(folder.glob("*.ipynb")) if folder.is_dir() else []
        if len(notebooks) == 1:
            found[folder.name] = notebooks[0]
    return found


def exercise_tests(cells: list[Cell], answer: str) -> list[str]:
    """The test cells of an answer cell: those named ``<answer>__...``; failing that, the
    test cells between this answer cell and the next one."""
    named = [c.grade_id for c in cells if c.kind == "test" and c.grade_id.startswith(answer + "__")]
    if named:
        return named
    out, inside = [], False
    for c in cells:
        if c.kind == "answer":
            inside = c.grade_id == answer
        elif inside and c.kind == "test":
            out.append(c.grade_id)
    return out


# ----------------------------------------------------------------------------- mutations
@dataclass
class Mutant:
    id: str
    operator: str
    line: int
    before: str
    after: str
    source: str = field(repr=False, default="")


_BINOP_SWAPS = {ast.Add: [ast.Sub], ast.Sub: [ast.Add], ast.Mult: [ast.Div, ast.Add],
                ast.Div: [ast.Mult, ast.FloorDiv], ast.FloorDiv: [ast.Div], ast.Pow: [ast.Mult],
                ast.MatMult: [ast.Mult], ast.Mod: [ast.FloorDiv]}
_CMP_SWAPS = {ast.Lt: [ast.LtE, ast.Gt], ast.LtE: [ast.Lt, ast.GtE], ast.Gt: [ast.GtE, ast.Lt],
              ast.GtE: [ast.Gt, ast.LtE], ast.Eq: [ast.NotEq], ast.NotEq: [ast.Eq],
              ast.In: [ast.NotIn], ast.NotIn: [ast.In], ast.Is: [ast.IsNot], ast.IsNot: [ast.Is]}
_NAME_SWAPS = {"max": "min", "min": "max", "argmax": "argmin", "argmin": "argmax", "sum": "mean",
               "mean": "sum", "exp": "log", "log": "exp", "zeros": "ones", "ones": "zeros",
               "zeros_like": "ones_like", "ones_like": "zeros_like", "tanh": "sigmoid",
               "logsumexp": "max", "cumsum": "cumprod", "cumprod": "cumsum", "vstack": "hstack",
               "hstack": "vstack", "outer": "dot", "append": "extend", "sqrt": "abs"}
_DROPPABLE_CALLS = {"tanh", "exp", "log", "sqrt", "abs", "sigmoid", "log1p", "expm1", "float",
                    "copy", "array", "asarray", "astype", "clone", "detach", "sorted", "reversed",
                    "transpose", "squeeze", "ravel", "flatten", "relu", "softmax", "log_softmax",
                    "deepcopy", "list", "dict", "tuple", "int", "round"}
_COPYING_CALLS = {"copy", "array", "asarray", "clone", "deepcopy", "astype", "dict", "list"}


def _call_name(call: ast.Call) -> str:
    f = call.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def _alternatives(node: ast.AST) -> Iterator[tuple[str, Callable[[ast.AST], ast.AST]]]:
    """(operator name, function building the replacement of a copy of node)."""
    if isinstance(node, ast.BinOp):
        for new in _BINOP_SWAPS.get(type(node.op), []):
            yield "arith", lambda n, new=new: ast.BinOp(n.left, new(), n.right)
        if isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.MatMult)):
            yield "drop-term", lambda n: n.left
            if isinstance(node.op, (ast.Add, ast.Mult, ast.MatMult)):
                yield "drop-term", lambda n: n.right
    elif isinstance(node, ast.AugAssign):
        for new in _BINOP_SWAPS.get(type(node.op), []):
            yield "arith", lambda n, new=new: ast.AugAssign(n.target, new(), n.value)
        yield "drop-update", lambda n: ast.Assign([n.target], n.value)
    elif isinstance(node, ast.Compare) and len(node.ops) == 1:
        for new in _CMP_SWAPS.get(type(node.ops[0]), []):
            yield "compare", lambda n, new=new: ast.Compare(n.left, [new()], n.comparators)
    elif isinstance(node, ast.BoolOp):
        other = ast.Or if isinstance(node.op, ast.And) else ast.And
        yield "bool", lambda n: ast.BoolOp(other(), n.values)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Not)):
        yield "unary", lambda n: n.operand
    elif isinstance(node, ast.Constant) and not isinstance(node.value, (str, bytes)) \
            and node.value is not None and node.value is not Ellipsis:
        v = node.value
        if isinstance(v, bool):
            yield "constant", lambda n: ast.Constant(not v)
        elif isinstance(v, int):
            yield "constant", lambda n: ast.Constant(v + 1)
            yield "constant", lambda n: ast.Constant(v - 1)
        elif isinstance(v, float):
            yield "constant", lambda n: ast.Constant(v * 2 if v else 1.0)
            yield "constant", lambda n: ast.Constant(v / 2 if v else -1.0)
    elif isinstance(node, ast.Attribute):
        if node.attr in ("T", "mT") and isinstance(node.ctx, ast.Load):
            yield "transpose", lambda n: n.value
        elif node.attr in _NAME_SWAPS:
            yield "swap-call", lambda n: ast.Attribute(n.value, _NAME_SWAPS[n.attr], n.ctx)
    elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in _NAME_SWAPS \
            and node.id not in ("sum", "list", "dict"):
        yield "swap-call", lambda n: ast.Name(_NAME_SWAPS[n.id], n.ctx)
    elif isinstance(node, ast.Call):
        name = _call_name(node)
        if name in _DROPPABLE_CALLS:
            if node.args:
                yield "drop-call", lambda n: n.args[0]
            elif isinstance(node.func, ast.Attribute):
                yield "drop-call", lambda n: n.func.value
        if name == "range" and node.args:
            stop = 0 if len(node.args) == 1 else 1
            for delta, op in ((1, ast.Add), (-1, ast.Sub)):
                def edit(n, stop=stop, op=op):
                    args = list(n.args)
                    args[stop] = ast.BinOp(args[stop], op(), ast.Constant(1))
                    return ast.Call(n.func, args, n.keywords)
                yield "range", edit
        for i, kw in enumerate(node.keywords):
            if kw.arg in ("axis", "dim") and isinstance(kw.value, ast.Constant):
                def drop_kw(n, i=i):
                    return ast.Call(n.func, n.args, [k for j, k in enumerate(n.keywords) if j != i])
                yield "axis", drop_kw
            if kw.arg == "keepdims":
                def drop_keep(n, i=i):
                    return ast.Call(n.func, n.args, [k for j, k in enumerate(n.keywords) if j != i])
                yield "axis", drop_keep
    elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
        idx = node.slice
        if isinstance(idx, ast.Name) or (isinstance(idx, ast.BinOp) and isinstance(idx.op, (ast.Add, ast.Sub))):
            for op in (ast.Add, ast.Sub):
                yield "index", lambda n, op=op: ast.Subscript(n.value, ast.BinOp(n.slice, op(), ast.Constant(1)), n.ctx)
        if isinstance(idx, ast.Slice):
            for part in ("lower", "upper"):
                if getattr(idx, part) is not None:
                    for op in (ast.Add, ast.Sub):
                        def edit_slice(n, part=part, op=op):
                            s = copy.copy(n.slice)
                            setattr(s, part, ast.BinOp(getattr(s, part), op(), ast.Constant(1)))
                            return ast.Subscript(n.value, s, n.ctx)
                        yield "index", edit_slice
    elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        target, value = node.targets[0].id, node.value
        # x = x + y  ->  x += y  (an update made in place, on the caller's array if x is one)
        if isinstance(value, ast.BinOp) and isinstance(value.left, ast.Name) and value.left.id == target \
                and type(value.op) in (ast.Add, ast.Sub, ast.Mult, ast.Div):
            yield "in-place", lambda n: ast.AugAssign(ast.Name(target, ast.Store()), n.value.op, n.value.right)
        # x = np.array(x) / x.copy()  ->  x = x  (no copy: later updates change the caller's data)
        if isinstance(value, ast.Call) and _call_name(value) in _COPYING_CALLS:
            yield "no-copy", lambda n: ast.Assign(n.targets, _uncopied(n.value))


def _uncopied(call: ast.Call) -> ast.AST:
    """``np.array(x, ...)`` / ``copy.deepcopy(x)`` -> ``x``; ``x.copy()`` -> ``x``."""
    f = call.func
    module_call = isinstance(f, ast.Name) or (isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name)
                                              and f.value.id in ("np", "numpy", "torch", "copy"))
    if module_call:
        if not call.args:
            raise ValueError("nothing to keep")
        return call.args[0]
    return f.value


def _segment(source: str, node: ast.AST) -> str:
    seg = ast.get_source_segment(source, node)
    return " ".join((seg or ast.unparse(node)).split())


def _replace(tree: ast.AST, old: ast.AST, new: ast.AST) -> None:
    for parent in ast.walk(tree):
        for name, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, name, new)
                return
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if item is old:
                        value[i] = new
                        return


def mutants(cell: Cell) -> list[Mutant]:
    """Every mutant of an answer cell, restricted to the lines inside BEGIN/END SOLUTION."""
    source = cell.source
    tree = ast.parse(source)
    first, last = cell.solution_lines
    nodes = list(ast.walk(tree))
    docstrings = {id(f.body[0].value) for f in nodes if isinstance(f, (ast.FunctionDef, ast.ClassDef))
                  and f.body and isinstance(f.body[0], ast.Expr) and isinstance(f.body[0].value, ast.Constant)}
    out, seen, texts = [], {}, {ast.unparse(tree)}
    for index, node in enumerate(nodes):
        line = getattr(node, "lineno", 0)
        if not (first <= line <= last) or id(node) in docstrings:
            continue
        for operator, build in _alternatives(node):
            tree2 = copy.deepcopy(tree)
            target = list(ast.walk(tree2))[index]
            try:
                new = build(copy.deepcopy(target))
                _replace(tree2, target, new)
                ast.fix_missing_locations(tree2)
                text = ast.unparse(tree2)
                compile(text, "<mutant>", "exec")
            except Exception:  # noqa: BLE001 - a replacement that does not make valid code
                continue
            before, after = _segment(source, node), " ".join(ast.unparse(new).split())
            if before == after or text in texts:
                continue    # no change, or the same program as an earlier mutant
            texts.add(text)
            line_text = " ".join(source.splitlines()[line - 1].split())
            key = f"{operator}|{line_text}|{before}|{after}"
            n = seen.get(key, 0)
            seen[key] = n + 1
            digest = hashlib.sha1(f"{key}|{n}".encode()).hexdigest()[:10]
            out.append(Mutant(f"{operator}-{digest}", operator, line, before, after, text))
    return out


# ----------------------------------------------------------------------------- running
@dataclass
class Outcome:
    status: str        # "caught", "survived", "timeout", "error-in-cell"
    failed: list[str]  # test cells that failed
    message: str = ""


def _exec(source: str, ns: dict, name: str) -> None:
    exec(compile(source, name, "exec"), ns)


# -- the grading sandbox's data boundary, emulated in this process ---------------------------
class _FakeBox:
    """Stands in for the sandbox's student process: runs code in the answer's namespace."""

    def __init__(self, ns: dict) -> None:
        self.ns = ns

    def request(self, message: dict, what: str) -> dict:
        before = {k: id(v) for k, v in self.ns.items()}
        _exec(message["source"], self.ns, "<probe>")
        return {"ok": True, "names": {k: _Proxy(self, v) for k, v in self.ns.items()
                                      if callable(v) and before.get(k) != id(v)}}


class _Proxy:
    """Like the sandbox's Remote: every call gets copies of its arguments and returns copies,
    so an answer that changes its inputs in place is caught by the inputs-unchanged tests only,
    exactly as when the notebook is graded."""

    __slots__ = ("_box", "_fn")

    def __init__(self, box: _FakeBox, fn: Callable) -> None:
        object.__setattr__(self, "_box", box)
        object.__setattr__(self, "_fn", fn)

    def _ask(self, *args: Any, **kwargs: Any) -> None:  # marks this as a sandbox proxy
        raise NotImplementedError

    @property
    def __name__(self) -> str:  # type: ignore[override]
        return getattr(self._fn, "__name__", "student_object")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        args = tuple(_send(a) for a in args)
        kwargs = {k: _send(v) for k, v in kwargs.items()}
        return _receive(self._box, self._fn(*args, **kwargs))


def _send(value: Any) -> Any:
    if isinstance(value, _Proxy):
        return value._fn
    if isinstance(value, (list, tuple)):
        return type(value)(_send(v) for v in value)
    if isinstance(value, dict):
        return {k: _send(v) for k, v in value.items()}
    return value if callable(value) else copy.deepcopy(value)


def _receive(box: _FakeBox, value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return type(value)(_receive(box, v) for v in value)
    if isinstance(value, dict):
        return {k: _receive(box, v) for k, v in value.items()}
    if callable(value) and not isinstance(value, type):
        return _Proxy(box, value)
    try:
        return copy.deepcopy(value)
    except Exception:  # noqa: BLE001
        return value


def _exec_answer(source: str, ns: dict, name: str) -> None:
    """Run an answer cell; the functions it defines are then reached through proxies."""
    before = {k: id(v) for k, v in ns.items()}
    _exec(source, ns, name)
    box = _FakeBox(ns)
    for key, value in list(ns.items()):
        # Functions go behind proxies; classes and modules stay: the answer's own code shares
        # this namespace and must still be able to call Counter(...), isinstance(x, Cls)...
        if before.get(key) != id(value) and callable(value) and not key.startswith("_") \
                and not isinstance(value, (type, type(sys))):
            ns[key] = _Proxy(box, value)


def _run_tests(ns: dict, tests: list[Cell], stop_at_first: bool) -> list[tuple[str, str]]:
    import warnings

    failed = []
    for t in tests:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _exec(t.source, ns, f"<test {t.grade_id}>")
        except BaseException as err:  # noqa: BLE001 - every failure is a failed test
            if isinstance(err, (KeyboardInterrupt, _Alarm)):
                raise
            failed.append((t.grade_id, f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"))
            if stop_at_first:
                break
    return failed


class _Alarm(BaseException):
    pass


def _child(write_fd: int, answer_source: str, between: list[Cell], tests: list[Cell], ns: dict,
           seconds: float, stop_at_first: bool) -> None:
    def on_alarm(signum, frame):  # noqa: ANN001
        raise _Alarm()

    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        try:
            import io
            import contextlib

            sink = io.StringIO()
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                try:
                    _exec_answer(answer_source, ns, "<answer>")
                    for c in between:
                        _exec(c.source, ns, f"<setup {c.grade_id}>")
                except _Alarm:
                    raise
                except BaseException as err:  # noqa: BLE001
                    result = Outcome("caught", ["<answer cell>"], f"{type(err).__name__}: {err}")
                else:
                    failed = _run_tests(ns, tests, stop_at_first)
                    result = Outcome("caught" if failed else "survived", [f for f, _ in failed],
                                     "; ".join(m for _, m in failed)[:500])
        except _Alarm:
            result = Outcome("timeout", [], f"ran past {seconds:g} s")
        signal.setitimer(signal.ITIMER_REAL, 0)
        data = pickle.dumps(result)
    except BaseException as err:  # noqa: BLE001
        data = pickle.dumps(Outcome("caught", [], f"runner error {err!r}"))
    with os.fdopen(write_fd, "wb") as f:
        f.write(data)
    os._exit(0)


def run_forked(answer_source: str, between: list[Cell], tests: list[Cell], ns: dict,
               seconds: float, stop_at_first: bool = True) -> Outcome:
    """Run one answer cell and the tests in a forked copy of this process."""
    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        try:
            _child(write_fd, answer_source, between, tests, ns, seconds, stop_at_first)
        finally:
            os._exit(1)
    os.close(write_fd)
    chunks, deadline = [], time.monotonic() + seconds + 10
    with os.fdopen(read_fd, "rb") as f:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return Outcome("timeout", [], f"killed after {seconds + 10:g} s")
            ready, _, _ = select.select([f], [], [], left)
            if ready:
                chunk = os.read(f.fileno(), 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    if not chunks:
        return Outcome("caught", [], f"the process died (status {status})")
    return pickle.loads(b"".join(chunks))


class Exercise:
    """One answer cell with its tests, and a process prepared up to that cell."""

    def __init__(self, assignment: str, cells: list[Cell], answer: str) -> None:
        self.assignment, self.answer = assignment, answer
        self.cells = cells
        test_ids = exercise_tests(cells, answer)
        self.tests = [c for c in cells if c.grade_id in test_ids]
        pos = next(i for i, c in enumerate(cells) if c.kind == "answer" and c.grade_id == answer)
        self.answer_cell = cells[pos]
        self.before = [c for c in cells[:pos] if c.kind in ("setup", "answer", "other")]
        last_test = max((i for i, c in enumerate(cells) if c.grade_id in test_ids), default=pos)
        self.between = [c for c in cells[pos + 1:last_test] if c.kind in ("setup", "other")]

    def prepare(self) -> dict:
        import matplotlib

        matplotlib.use("Agg")
        ns: dict[str, Any] = {"__name__": "__main__"}
        cwd = os.getcwd()
        os.chdir(REPO / "solutions" / self.assignment)
        try:
            for c in self.before:
                run = _exec_answer if c.kind == "answer" else _exec
                run(c.source, ns, f"<{c.kind} {c.grade_id}>")
        finally:
            os.chdir(cwd)
        return ns


def equivalents() -> dict:
    """{assignment: {exercise: {mutant id: why it is equivalent}}}, from EQUIVALENT_DIR."""
    return {p.stem: json.loads(p.read_text()) for p in sorted(EQUIVALENT_DIR.glob("*.json"))}


@dataclass
class Score:
    assignment: str
    exercise: str
    mutants: int
    caught: int
    timeouts: int
    equivalent: int
    survivors: list[dict]
    seconds: float
    baseline_failures: list[str]

    @property
    def score(self) -> float:
        live = self.mutants - self.equivalent
        return 1.0 if live <= 0 else self.caught / live


def score_exercise(assignment: str, cells: list[Cell], answer: str, *, seconds: float,
                   limit: int | None = None, log: Callable[[str], None] = print) -> Score:
    start = time.monotonic()
    ex = Exercise(assignment, cells, answer)
    ns = ex.prepare()
    base = run_forked(ex.answer_cell.source, ex.between, ex.tests, ns, seconds * 4, stop_at_first=False)
    if base.status != "survived":
        log(f"  {assignment}:{answer}: the official solution fails its tests: {base.failed} {base.message}")
        return Score(assignment, answer, 0, 0, 0, 0, [], time.monotonic() - start, base.failed or [base.status])
    muts = mutants(ex.answer_cell)
    if limit is not None:
        muts = muts[:limit]
    known = equivalents().get(assignment, {}).get(answer, {})
    caught = timeouts = equivalent = 0
    survivors = []
    for m in muts:
        out = run_forked(m.source, ex.between, ex.tests, ns, seconds)
        if out.status == "survived":
            if m.id in known:
                equivalent += 1
            else:
                survivors.append({"id": m.id, "line": m.line, "before": m.before, "after": m.after})
        else:
            caught += 1
            timeouts += out.status == "timeout"
    # a recorded equivalent mutant that is caught after all counts as caught, not equivalent
    return Score(assignment, answer, len(muts), caught, timeouts, equivalent, survivors,
                 time.monotonic() - start, [])


def check_fixtures(assignment: str, cells: list[Cell], seconds: float) -> list[str]:
    """Run each wrong-answer fixture of an assignment directly; compare with its expect-fail."""
    sys.path.insert(0, str(REPO / "tests"))
    from gradinglib import fixtures  # noqa: E402

    problems = []
    for kind in ("wrong", "reference"):
        for fx in fixtures(assignment, kind):
            ex = Exercise(assignment, cells, fx.cell)
            later = [c for c in cells[cells.index(ex.answer_cell) + 1:] if c.kind == "test"]
            between = [c for c in cells[cells.index(ex.answer_cell) + 1:] if c.kind in ("setup", "other")]
            # run every later cell in order: set-up cells too, so later exercises work
            ns = ex.prepare()
            order = [c for c in cells[cells.index(ex.answer_cell) + 1:] if c.kind in ("setup", "other", "test", "answer")]
            out = _run_fixture(fx.source, order, ns, seconds)
            expected = set(fx.expect_fail) if kind == "wrong" else set(exercise_tests(cells, fx.cell))
            got = set(out)
            mark = "ok " if got == expected else "BAD"
            line = f"{mark} {kind}/{fx.name}: fails {sorted(got)}"
            if got != expected:
                line += f"\n      expected {sorted(expected)}"
                problems.append(line)
            print(line)
            del later, between
    return problems


def _run_fixture(source: str, order: list[Cell], ns: dict, seconds: float) -> list[str]:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        failed = []
        signal.alarm(int(seconds * 4))
        import contextlib
        import io
        import warnings

        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                _exec_answer(source, ns, "<fixture>")
            except BaseException as err:  # noqa: BLE001
                failed.append(f"<answer cell: {type(err).__name__}>")
            for c in order:
                try:
                    _exec(c.source, ns, c.grade_id)
                except BaseException:  # noqa: BLE001
                    if c.kind == "test":
                        failed.append(c.grade_id)
        with os.fdopen(write_fd, "wb") as f:
            f.write(pickle.dumps(failed))
        os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as f:
        data = f.read()
    os.waitpid(pid, 0)
    return pickle.loads(data) if data else ["<killed>"]


# ----------------------------------------------------------------------------- report
def table(scores: list[Score], goal: float) -> str:
    rows = [f"{'exercise':44} {'mutants':>7} {'equiv':>5} {'caught':>6} {'timeout':>7} {'score':>6} {'s':>6}"]
    for s in scores:
        flag = "" if s.score >= goal and not s.baseline_failures else "  <-- below goal" \
            if not s.baseline_failures else "  <-- SOLUTION FAILS ITS TESTS"
        rows.append(f"{s.assignment + ':' + s.exercise:44} {s.mutants:7d} {s.equivalent:5d} {s.caught:6d} "
                    f"{s.timeouts:7d} {100 * s.score:5.1f}% {s.seconds:6.1f}{flag}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("targets", nargs="*", help="assignment or assignment:exercise (default: all)")
    p.add_argument("--seconds", type=float, default=30.0, help="time limit of one mutant's tests")
    p.add_argument("--limit", type=int, default=None, help="at most this many mutants per exercise")
    p.add_argument("--goal", type=float, default=0.9)
    p.add_argument("--survivors", action="store_true", help="print every survivor")
    p.add_argument("--fixtures", action="store_true", help="check the wrong-answer fixtures instead")
    p.add_argument("--out", type=Path, default=OUT_DIR)
    args = p.parse_args(argv)

    os.environ.setdefault("SEQCOURSE_DEVICE", "cpu")
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    found = assignments()
    wanted: list[tuple[str, str | None]] = []
    for t in args.targets or list(found):
        hw, _, ex = t.partition(":")
        if hw not in found:
            p.error(f"no assignment {hw!r}; known: {', '.join(found)}")
        wanted.append((hw, ex or None))

    if args.fixtures:
        problems = []
        for hw, _ in wanted:
            problems += check_fixtures(hw, read_cells(found[hw]), args.seconds)
        return 1 if problems else 0

    scores = []
    for hw, only in wanted:
        cells = read_cells(found[hw])
        for c in cells:
            if c.kind == "answer" and (only is None or c.grade_id == only) and exercise_tests(cells, c.grade_id):
                s = score_exercise(hw, cells, c.grade_id, seconds=args.seconds, limit=args.limit)
                scores.append(s)
                print(table([s], args.goal).splitlines()[1], flush=True)
                if args.survivors:
                    for m in s.survivors:
                        print(f"      survivor {m['id']} line {m['line']}: {m['before']}  ->  {m['after']}")
    text = table(scores, args.goal)
    survivors = "\n".join(f"{s.assignment}:{s.exercise} {m['id']} line {m['line']}: {m['before']}  ->  {m['after']}"
                          for s in scores for m in s.survivors)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.txt").write_text(text + "\n\nsurvivors:\n" + (survivors or "(none)") + "\n")
    (args.out / "report.json").write_text(json.dumps(
        [{**asdict(s), "score": s.score} for s in scores], indent=1))
    print("\n" + text)
    if survivors and not args.survivors:
        print(f"\n{len(survivors.splitlines())} survivors: see {args.out / 'report.txt'} or run with --survivors")
    return 0 if all(s.score >= args.goal and not s.baseline_failures for s in scores) else 1


if __name__ == "__main__":
    sys.exit(main())
