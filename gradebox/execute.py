"""Run one submitted notebook: instructor cells in the kernel, answer cells sandboxed.

Which cells are the instructor's is decided from the *source* notebook, never
from the submission.  The submission is first rebuilt in the source's order
(:func:`canonical`): every locked cell (set-up, tests, instructions) comes from
the source, deleted ones included; answer cells come from the student (the
release's stub if deleted); cells the student added stay after the cell they
followed.  Then, in the kernel, a cell runs as itself only if it is a set-up
or test cell; every other cell is replaced by ``__grader__.student(<its
text>)``, which runs it in the student process
(:class:`gradebox.client.Grader`).  If the grader cannot be started,
no student code runs and every test fails: it fails closed.

The instructor's cells run in a fresh Jupyter kernel (the cold path), or, in a
grading process forked from the batch's warm template, in that process itself
(:mod:`gradebox.warm`, :mod:`gradebox.runner`).

    python -m gradebox.execute PLAN SUBMISSION OUTPUT
    python -c gradebox.execute.BOOT PLAN SUBMISSION OUTPUT   # what the batch runs

``BOOT`` keeps ``jsonschema`` from loading ``rfc3987_syntax``, which builds a
parser at import time (about 2 s of CPU, in every job, for an IRI format
nbformat's schema never uses).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
from nbformat import NotebookNode

BOOT = ("import sys; sys.modules.setdefault('rfc3987_syntax', None); "
        "from gradebox.execute import main; sys.exit(main(sys.argv[1:]))")

__all__ = ["grade_id", "cell_roles", "role_of", "canonical", "execute", "error_output"]


def grade_id(cell: NotebookNode) -> str | None:
    """The cell's nbgrader grade id, or None."""
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def cell_roles(source_nb: NotebookNode) -> dict[str, dict]:
    """``{grade_id: {"role", "source", "cell"}}`` for every nbgrader cell of the source:
    role "test" (graded, locked code), "setup" (locked code), "locked" (locked
    markdown) or "answer"."""
    roles = {}
    for cell in source_nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        gid = meta.get("grade_id")
        if not gid:
            continue
        if meta.get("solution"):
            role = "answer"
        elif cell.cell_type == "code" and meta.get("grade"):
            role = "test"
        elif cell.cell_type == "code" and meta.get("locked"):
            role = "setup"
        elif meta.get("locked") or meta.get("grade") or meta.get("task"):
            role = "locked"
        else:
            role = "answer"
        roles[gid] = {"role": role, "source": cell.source, "cell": dict(cell)}
    return roles


def _instructor_trees(roles: dict[str, dict]):
    import ast

    for info in roles.values():
        if info["role"] in ("test", "setup"):
            try:
                yield ast.parse(info["source"])
            except SyntaxError:
                continue


def tool_names(roles: dict[str, dict]) -> list[str]:
    """Names the instructor's cells import, define with ``def``/``class``, or use as
    modules: the tools the tests call.  A student may not rebind them, and trying is
    worth a review line."""
    import ast
    import importlib.util

    names = set()
    for tree in _instructor_trees(roles):
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and isinstance(node.value.ctx, ast.Load):
                name = node.value.id
                if name in sys.stdlib_module_names:
                    names.add(name)
                else:
                    try:
                        if importlib.util.find_spec(name) is not None:
                            names.add(name)
                    except (ImportError, ValueError):
                        pass
    return sorted(names)


def reserved_names(roles: dict[str, dict]) -> list[str]:
    """Every name the instructor's cells bind, the tools they use (:func:`tool_names`)
    and Python's builtins: the kernel never lets an answer cell's value in under one
    of these (an ``abs`` that always returns 0, a ``math`` proxy)."""
    import ast
    import builtins

    names = set(dir(builtins)) | set(tool_names(roles))
    for tree in _instructor_trees(roles):
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                names.add(node.id)
            elif isinstance(node, ast.arg):
                continue
    return sorted(names)


def role_of(cell: NotebookNode, roles: dict[str, dict]) -> str:
    """"test" or "setup" for an unmodified instructor code cell; "student" otherwise."""
    known = roles.get(grade_id(cell) or "")
    if cell.cell_type != "code" or not known or known["role"] not in ("test", "setup"):
        return "student"
    return known["role"] if cell.source.strip() == known["source"].strip() else "student"


def canonical(submitted: NotebookNode, roles: dict[str, dict], release: dict[str, str]
              ) -> NotebookNode:
    """The submission rebuilt in the source's order, instructor cells restored."""
    theirs = {}
    added: dict[str | None, list[NotebookNode]] = {}
    last = None
    for cell in submitted.cells:
        gid = grade_id(cell)
        if gid in roles and gid not in theirs:
            theirs[gid] = cell
            last = gid
        else:
            extra = nbformat.from_dict(cell)
            extra.get("metadata", {}).pop("nbgrader", None)
            added.setdefault(last, []).append(extra)
    out = nbformat.v4.new_notebook(metadata=submitted.get("metadata", {}))
    out.cells.extend(added.get(None, []))
    for gid, info in roles.items():
        cell = nbformat.from_dict(info["cell"])
        if info["role"] == "answer":
            if gid in theirs and theirs[gid].cell_type == cell.cell_type:
                cell.source = theirs[gid].source
            else:
                cell.source = release.get(gid, "")
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        out.cells.append(cell)
        out.cells.extend(added.get(gid, []))
    return out


def error_output(ename: str, evalue: str) -> NotebookNode:
    """An error output cell nbgrader scores as a failed test."""
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue,
                                  traceback=[f"{ename}: {evalue}"])


def _prepared(nb: NotebookNode, roles: dict[str, dict], plan_path: str) -> NotebookNode:
    """The notebook as it is run: a first cell starts the grader, answer cells go to
    the student process, set-up cells run there too, and a last cell closes it."""
    run = nbformat.from_dict(nb)
    boot = nbformat.v4.new_code_cell(
        "from gradebox.client import Grader as _Grader\n"
        f"__grader__ = _Grader.from_plan({plan_path!r})\ndel _Grader")
    for cell in run.cells:
        if cell.cell_type != "code":
            continue
        role = role_of(cell, roles)
        if role == "setup":
            cell.source = f"__grader__.setup({cell.source!r})\n{cell.source}"
        elif role == "student":
            cell.source = f"__grader__.student({cell.source!r})"
    run.cells.insert(0, boot)
    run.cells.append(nbformat.v4.new_code_cell("__grader__.close()"))
    return run


def _in_kernel(run: NotebookNode, cell_seconds: float, cwd: str) -> str:
    """Run ``run`` in a fresh Jupyter kernel (nbclient); why it stopped early, or ""."""
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    client = NotebookClient(run, timeout=int(cell_seconds), kernel_name="python3",
                            allow_errors=True, interrupt_on_timeout=True,
                            error_on_timeout={"ename": "CellTimeoutError", "evalue":
                                              f"the cell ran longer than {cell_seconds:g} s",
                                              "traceback": [f"CellTimeoutError: the cell ran "
                                                            f"longer than {cell_seconds:g} s"]},
                            resources={"metadata": {"path": cwd}})
    try:
        client.execute()
    except DeadKernelError:
        return "the grading kernel died"
    return ""


def execute(nb: NotebookNode, roles: dict[str, dict], plan_path: str, cell_seconds: float,
            cwd: str, in_process: bool = False) -> NotebookNode:
    """Execute ``nb`` (canonical), answer cells in the sandbox: in a fresh Jupyter
    kernel, or with ``in_process`` in this very process (a grading process forked
    from the warm template, :mod:`gradebox.warm`; cells run by :mod:`gradebox.runner`)."""
    run = _prepared(nb, roles, plan_path)
    if in_process:
        from gradebox.runner import run_cells

        run_cells(run, cell_seconds)
        reason = ""
    else:
        reason = _in_kernel(run, cell_seconds, cwd)
    booted = run.cells.pop(0)
    run.cells.pop()
    if any(o.get("output_type") == "error" for o in booted.get("outputs", [])):
        reason = "the grading sandbox did not start"
    out = nbformat.from_dict(nb)
    for cell, done in zip(out.cells, run.cells):
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = done.get("outputs", []), done.get("execution_count")
            if roles.get(grade_id(cell), {}).get("role") == "test":
                # nbgrader reads a test cell's value as partial credit, and that value can
                # come from student code (`check(student_fn)` as the last line): a test
                # cell scores by its verdict only.
                cell.outputs = [o for o in cell.outputs if o.get("output_type") != "execute_result"]
            if reason and roles.get(grade_id(cell), {}).get("role") == "test":
                cell.outputs, cell.execution_count = [error_output("NotGraded", reason)], None
    out.metadata.update({k: v for k, v in run.metadata.items() if k == "language_info"})
    return out


def main(argv: list[str], in_process: bool = False) -> int:
    plan_path, submission, output = argv
    plan = json.loads(Path(plan_path).read_text())
    roles, release = plan["cells"], plan["release"]
    try:
        submitted = nbformat.read(submission, as_version=4)
    except Exception as err:  # noqa: BLE001 - any unreadable file
        print(f"unreadable notebook: {err}", file=sys.stderr)
        submitted = nbformat.v4.new_notebook()
    nb = canonical(submitted, roles, release)
    nb = execute(nb, roles, plan_path, plan["cell_seconds"], str(Path(output).parent),
                 in_process)
    nbformat.write(nb, output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
