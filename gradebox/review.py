"""Static review of answer cells: constructs that have no place in an answer and
may be an attempt to change what the tests do.  Nothing here changes a grade;
each finding becomes a line in the review report for the instructor."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from nbformat import NotebookNode

from gradebox.execute import grade_id

__all__ = ["Finding", "scan_source", "scan_notebook"]

RISKY_MODULES = {
    "builtins", "sys", "importlib", "inspect", "gc", "ctypes", "subprocess", "socket", "IPython",
    "nbgrader", "unittest", "pytest", "signal", "multiprocessing", "threading", "urllib", "http",
    "requests", "shutil", "pickle", "marshal", "code", "types", "os", "pathlib", "io", "atexit",
    "seqcourse.testing", "gradebox", "traceback", "faulthandler",
}
RISKY_CALLS = {"exec", "eval", "compile", "__import__", "open", "globals", "setattr", "delattr",
               "get_ipython", "breakpoint", "vars", "input"}
RISKY_ATTRIBUTES = {
    "__builtins__", "__globals__", "__code__", "__subclasses__", "__class__", "__dict__",
    "__import__", "input_transformers_post", "input_transformers_cleanup", "ast_transformers",
    "register", "setprofile", "settrace", "_exit", "system", "modules", "meta_path",
    "assert_close", "assert_shape", "without_reference", "allclose", "assert_allclose",
    "excepthook", "showtraceback", "run_cell",
}
TEST_NAMES = {"assert_close", "assert_shape", "without_reference", "AssertionError", "np", "math",
              "print", "isinstance", "float", "abs", "len", "range"}


@dataclass(frozen=True)
class Finding:
    cell: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.cell}, line {self.line}: {self.what}"


def _root(name: str) -> set[str]:
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)}


def scan_source(source: str, cell: str) -> list[Finding]:
    """Findings in one answer cell's source (IPython syntax is translated first)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        code = TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001
        code = source
    try:
        tree = ast.parse(code)
    except SyntaxError as err:
        return [Finding(cell, err.lineno or 0, f"does not parse ({err.msg})")]
    found = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                hit = _root(name) & RISKY_MODULES
                if hit:
                    found.append(Finding(cell, line, f"imports {name}"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in RISKY_CALLS:
            found.append(Finding(cell, line, f"calls {node.func.id}()"))
        elif isinstance(node, ast.Attribute) and node.attr in RISKY_ATTRIBUTES:
            found.append(Finding(cell, line, f"uses .{node.attr}"))
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            continue
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)) \
                and node.id in TEST_NAMES:
            found.append(Finding(cell, line, f"rebinds {node.id}, which the tests use"))
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in TEST_NAMES:
            found.append(Finding(cell, line, f"defines {node.name}, which the tests use"))
    unique = {(f.line, f.what): f for f in found}
    return [unique[k] for k in sorted(unique)]


def scan_notebook(nb: NotebookNode, student_cells: list[int]) -> list[Finding]:
    """Findings in the given code cells of a submitted notebook."""
    out = []
    for index in student_cells:
        cell = nb.cells[index]
        gid = grade_id(cell) or f"cell {index + 1}"
        out.extend(scan_source(cell.source, gid))
    return out
