"""Lecture 08: the claims its text states, read from what the executed notebook printed,
under the native and the portable kernel (tests/notebook_runs.py), plus the explorer's
callback called with new widget values."""

from __future__ import annotations

import re

import matplotlib
import numpy as np
import pytest
import torch

from notebook_runs import FLAVOURS, cell_text, errors, executed

PATH = "lectures/08_lattices_ctc.ipynb"


@pytest.fixture(params=FLAVOURS, scope="module")
def lecture(request):
    return executed(PATH, request.param)


def _floats(text: str, pattern: str) -> list[float]:
    match = re.search(pattern, text)
    assert match, f"no line matching {pattern!r} in:\n{text}"
    return [float(g) for g in match.groups()]


def test_runs_without_errors(lecture):
    assert errors(lecture) == []


def test_single_digit_cnn(lecture):
    (acc,) = _floats(cell_text(lecture, "single_acc ="), r"single-digit test accuracy ([\d.]+)")
    assert acc > 0.9                                                    # "more than nine in ten"


def test_viterbi_beats_the_constrained_best(lecture):
    best, cons = _floats(cell_text(lecture, "def draw_lattice"),
                         r"best path reads \d+, score ([\d.e+-]+); best path spelling \d+: ([\d.e+-]+)")
    assert best >= cons - 1e-9


def test_forward_and_gradient_proofs(lecture):
    text = cell_text(lecture, "enumerate_paths")
    (d,) = _floats(text, r"by enumeration [\d.-]+, difference ([\d.e+-]+)")
    (dy,) = _floats(text, r"log Z_y forward vs enumeration: difference ([\d.e+-]+)")
    (dg,) = _floats(text, r"posterior gradient vs autograd: largest difference ([\d.e+-]+)")
    assert max(d, dy, dg) < 1e-10


def test_sequence_training_outcome(lecture):
    before, seq, margin = _floats(cell_text(lecture, "def train_strings_with"),
                                  r"before ([\d.]+), sequence loss ([\d.]+), margin loss ([\d.]+)")
    assert 0.4 < before < 0.7                       # "about half ... between 0.4 and 0.7"
    assert abs(seq - before) <= 0.1                 # "within 0.1 of where it started"
    assert margin > 0.7                             # "lifts it above 0.7"


def test_ctc_against_torch_and_lattice(lecture):
    (err,) = _floats(cell_text(lecture, "torch.nn.CTCLoss(reduction"), r"largest difference ([\d.e+-]+)")
    assert err < 1e-10
    acc, _, margin = _floats(cell_text(lecture, "class ColumnReader"),
                             r"CTC string accuracy ([\d.]+) \(lattice: sequence loss ([\d.]+), margin loss ([\d.]+)\)")
    assert acc < 0.4 and acc < margin               # "fewer than 0.4 ... below the lattice reader"


def test_explorer_callback_works_with_new_values():
    """The explorer's function, taken from the notebook, on a fresh model and new widget values."""
    matplotlib.use("Agg")
    nb = executed(PATH, "native")
    sources = [c.source for c in nb.cells if c.cell_type == "code"]
    draw = next(s for s in sources if "def draw_lattice" in s).split("with torch.no_grad()")[0]
    explorer_src = next(s for s in sources if "def make_lattice_explorer" in s).split("lattice_explorer =")[0]
    namespace: dict = {}
    exec("import ipywidgets as widgets\nimport matplotlib.pyplot as plt\nimport numpy as np\nimport torch\n"
         "from seqcourse import lattice as L\nfrom seqcourse.digitstrings import make_dataset\n"
         "from seqcourse.digitcnn import string_lattice\n" + draw + "\n" + explorer_src, namespace)
    from seqcourse.digitcnn import DigitCNN, split_indices
    torch.manual_seed(0)
    model = DigitCNN().double()
    explorer = namespace["make_lattice_explorer"](model, split_indices(0)[1], max_len=3)
    label, top = explorer.show(17)
    assert 1 <= len(label) <= 3 and 1 <= len(top) <= 5
    scores = [sc for sc, _, _ in top]
    assert all(a >= b - 1e-9 for a, b in zip(scores, scores[1:]))
