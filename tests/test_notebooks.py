"""Checks on the notebooks as files (clean diffs, the right kernel) and on the lectures'
executions: each runs without error, natively and on portable kernels, and prints the same
text twice. Lectures are executed once per flavour through `notebook_runs`, whose runs the
claims tests (tests/test_lectureNN.py) read; solution notebooks are executed by nbval.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from notebook_runs import errors, executed, printed_lines

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(
    p for folder in ("lectures", "solutions", "assignments") for p in (REPO / folder).rglob("*.ipynb")
    if ".ipynb_checkpoints" not in p.parts
)
LECTURES = sorted((REPO / "lectures").glob("[0-9][0-9]_*.ipynb"))


def _id(path: Path) -> str:
    return str(path.relative_to(REPO))


def test_notebooks_exist():
    assert LECTURES, "no lecture notebook found in lectures/"
    assert any("solutions" in p.parts for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, f"{_id(path)}: cells {dirty} carry outputs; clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_valid_and_python3_kernel(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


def _list_markers_inside_display_math(source: str) -> list[str]:
    """Lines inside $$ ... $$ that Markdown reads as the start of a list item ("+ ...",
    "- ...", "* ...", "1. ..."): the list interrupts the paragraph and the math is left
    as text in JupyterLab's renderer and on the website (the book test saw it)."""
    bad, inside = [], False
    for line in source.split("\n"):
        if inside and re.match(r"\s*([+*-]|\d+[.)])\s", line):
            bad.append(line.strip()[:60])
        if line.count("$$") % 2 == 1:
            inside = not inside
    return bad


def test_display_math_has_no_line_markdown_reads_as_a_list():
    assert _list_markers_inside_display_math("$$a\n+ b$$") == ["+ b$$"]
    assert _list_markers_inside_display_math("$$a +\n  b$$\n- a list") == []
    found = {f"{_id(p)} cell {i}": bad for p in NOTEBOOKS
             for i, c in enumerate(nbformat.read(p, as_version=4).cells)
             if c.cell_type == "markdown" and (bad := _list_markers_inside_display_math(c.source))}
    assert not found, f"move the operator to the end of the previous line: {found}"


@pytest.mark.parametrize("path", LECTURES, ids=_id)
def test_lecture_has_goals_explorer_and_recap(path):
    nb = nbformat.read(path, as_version=4)
    text = "\n".join(c.source for c in nb.cells)
    assert re.search(r"learning goals", text, re.I), "a lecture starts with its learning goals"
    assert "ipywidgets" in text, "a lecture has at least one ipywidgets explorer"
    assert "seqcourse.device()" in text or "seed_everything" in text
    assert re.search(r"what comes next|recap", text, re.I), "a lecture ends with a recap"


@pytest.mark.slow
@pytest.mark.parametrize("path", LECTURES, ids=_id)
def test_lecture_runs_top_to_bottom_without_error(path):
    nb = executed(path, "native")
    assert not errors(nb), f"{_id(path)} raised: " + "; ".join(errors(nb))


@pytest.mark.slow
@pytest.mark.parametrize("path", LECTURES, ids=_id)
def test_lecture_runs_without_error_on_portable_kernels(path):
    """The portability check's run (other vector paths) must not raise either: its
    printed numbers are what the lecture's claims tests read under "portable"."""
    nb = executed(path, "portable")
    assert not errors(nb), f"{_id(path)} raised under portable kernels: " + "; ".join(errors(nb))


@pytest.mark.slow
@pytest.mark.parametrize("path", LECTURES, ids=_id)
def test_lecture_prints_the_same_numbers_twice(path):
    first, second = printed_lines(executed(path, "native")), printed_lines(executed(path, "again"))
    assert first, "the lecture printed nothing to compare"
    assert first == second, "two runs of the lecture printed different text: is everything seeded?"
