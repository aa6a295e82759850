"""Checks on the notebooks as files: clean diffs, the right kernel, repeatable runs.

Their execution itself is tested by nbval (`pytest --nbval-lax lectures solutions`,
which `make test` runs along with this folder).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import nbformat
import pytest

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


@pytest.mark.parametrize("path", LECTURES, ids=_id)
def test_lecture_has_goals_explorer_and_recap(path):
    nb = nbformat.read(path, as_version=4)
    text = "\n".join(c.source for c in nb.cells)
    assert re.search(r"learning goals", text, re.I), "a lecture starts with its learning goals"
    assert "ipywidgets" in text, "a lecture has at least one ipywidgets explorer"
    assert "seqcourse.device()" in text or "seed_everything" in text
    assert re.search(r"what comes next|recap", text, re.I), "a lecture ends with a recap"


def _printed_numbers(path: Path) -> list[str]:
    """Execute a notebook and return the lines it printed (stdout and results).

    Lines, not output chunks: how the kernel splits a cell's prints into stream
    messages varies from run to run."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if o.get("output_type") == "stream" and o.get("name") == "stdout":
                out.append(o["text"])
            elif o.get("output_type") == "execute_result":
                out.append(o["data"].get("text/plain", ""))
    # object addresses differ between runs and say nothing about the numbers
    return re.sub(r" at 0x[0-9a-f]+", "", "".join(out)).splitlines()


@pytest.mark.slow
@pytest.mark.parametrize("path", LECTURES, ids=_id)
def test_lecture_prints_the_same_numbers_twice(path):
    first, second = _printed_numbers(path), _printed_numbers(path)
    assert first, "the lecture printed nothing to compare"
    assert first == second, "two runs of the lecture printed different text: is everything seeded?"
