"""seqcourse.progress: a finished bar says so in a saved notebook, and two runs save the same text."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from seqcourse.progress import finished_text

CELLS = [
    "import tqdm.auto as auto\nfrom seqcourse.progress import tqdm\nprint(tqdm.__name__, issubclass(tqdm, auto.tqdm))",
    "for _ in tqdm(range(40), desc='kept'):\n    pass",
    "for _ in tqdm(range(40), desc='gone', leave=False):\n    pass",
    "bar = tqdm(total=10, desc='early')\nbar.update(3)\nbar.close()",
]


@pytest.fixture(scope="module")
def saved():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    return nb


def _texts(cell) -> list[str]:
    return [o["data"]["text/plain"] for o in cell.outputs if o.output_type == "display_data"]


def test_the_notebook_bar_is_used_in_a_kernel(saved):
    assert "_NotebookBar True" in saved.cells[0].outputs[0]["text"]


def test_a_finished_bar_is_saved_as_done_not_as_zero_percent(saved):
    assert _texts(saved.cells[1]) == ["kept: 40/40 done"]
    widget = [o for o in saved.cells[1].outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert widget, "the live widget stays in the output for JupyterLab"


def test_a_bar_that_does_not_stay_leaves_nothing(saved):
    assert _texts(saved.cells[2]) == [""]


def test_a_bar_closed_before_its_total_says_it_stopped_early(saved):
    assert _texts(saved.cells[3]) == ["early: 3/10 done (stopped early)"]


def test_finished_text():
    assert finished_text("x", 5, 5.0) == "x: 5/5 done"
    assert finished_text(None, 7, None) == "7 done"
