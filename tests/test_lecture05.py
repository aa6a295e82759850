"""Lecture 05: the claims its text states, read from what the executed notebook printed,
under the native and the portable kernel (tests/notebook_runs.py), plus the explorer's
callback called with new widget values."""

from __future__ import annotations

import re

import matplotlib
import numpy as np
import pytest
import torch

from notebook_runs import FLAVOURS, cell_text, errors, executed, probe_text

PATH = "lectures/05_gated_rnns.ipynb"


@pytest.fixture(params=FLAVOURS, scope="module")
def lecture(request):
    return executed(PATH, request.param)


def _floats(text: str, pattern: str) -> list[float]:
    match = re.search(pattern, text)
    assert match, f"no line matching {pattern!r} in:\n{text}"
    return [float(g) for g in match.groups()]


def test_runs_without_errors(lecture):
    assert errors(lecture) == []


def test_numpy_gated_units_match_torch(lecture):
    text = cell_text(lecture, "largest difference to torch")
    for kind in ("lstm", "gru"):
        (err,) = _floats(text, rf"{kind}: largest difference to torch .* = ([\d.e+-]+)")
        assert err < 1e-10
    (gap,) = _floats(cell_text(lecture, "reset_after=False"), r"recurrent product: largest state difference ([\d.]+)")
    assert gap > 1e-2


def test_long_range_calibration(lecture):
    text = cell_text(lecture, "def train_recall")
    acc = {}
    for lag in (5, 10, 20):
        acc[lag] = dict(zip(("rnn", "lstm", "gru"),
                            _floats(text, rf"recall lag {lag}: rnn ([\d.]+)  lstm ([\d.]+)  gru ([\d.]+)")))
    assert acc[5]["rnn"] > 0.95 and acc[10]["rnn"] > 0.95          # "all three solve lags 5 and 10"
    assert acc[20]["rnn"] < 0.40                                    # "near chance at lag 20"
    assert all(acc[lag][k] > 0.95 for lag in acc for k in ("lstm", "gru"))


def test_gradient_norms_vanish_for_the_rnn_only(lecture):
    text = cell_text(lecture, "state_gradient_norms")
    rnn, lstm, gru = _floats(text, r"rnn ([\d.e+-]+)  lstm ([\d.e+-]+)  gru ([\d.e+-]+)")
    assert rnn < 1e-3 and min(lstm, gru) > 100 * rnn


def test_bidirectional_gap(lecture):
    one, both, gap = _floats(cell_text(lecture, "def train_tagger"),
                             r"one direction ([\d.]+), both directions ([\d.]+), gap ([\d.]+)")
    assert one < 0.60 and both > 0.95 and gap > 0.35


def test_convolution_receptive_field(lecture):
    field, lag10, lag20 = _floats(cell_text(lecture, "receptive_field(LAYERS"),
                                  r"receptive field (\d+) steps: recall lag 10 ([\d.]+), lag 20 ([\d.]+)")
    assert field == 13 and lag10 > 0.95 and lag20 < 0.35


def test_explorer_callback_works_with_new_values():
    """The explorer's function, taken from the notebook, on fresh models and new widget values."""
    matplotlib.use("Agg")
    nb = executed(PATH, "native")
    source = next(c.source for c in nb.cells if c.cell_type == "code" and "def make_gate_explorer" in c.source)
    namespace: dict = {}
    exec("import ipywidgets as widgets\nimport matplotlib.pyplot as plt\nimport numpy as np\n"
         "from seqcourse import gated, longrange as lr\n" + source.split("x_view, y_view")[0], namespace)
    from seqcourse import longrange as lr
    torch.manual_seed(0)
    trained = {kind: lr.Classifier(kind, 5, 6, 4).double() for kind in ("lstm", "gru")}
    x, y = lr.recall_task(4, 8, np.random.default_rng(0))
    explorer = namespace["make_gate_explorer"](trained, x, y)
    mean_f, cell = explorer.show(2, "lstm", False)
    assert 0 < mean_f < 1 and cell.shape == (9, 6)
    mean_z, state = explorer.show(1, "gru", True)
    assert 0 < mean_z < 1 and state.shape == (9, 6) and mean_z != mean_f


@pytest.mark.slow
def test_explorer_works_after_run_all():
    """tests/probes/05_gated_rnns.py: the globals rebound, the explorer called with new values
    (both models, other sequences, one unit): every call runs and the values follow the input."""
    out = probe_text(executed(PATH, "again"))
    pattern = (r"probe (lstm|gru) sequence (\d+) average (True|False): keep gate ([\d.]+), "
               r"memory shape \((\d+), (\d+)\), last state ([-+][\d.]+)")
    calls = re.findall(pattern, out)
    assert len(calls) == 4, f"expected four explorer calls in the probe's output:\n{out}"
    assert [(k, int(s)) for k, s, *_ in calls] == [("lstm", 0), ("lstm", 11), ("gru", 5), ("gru", 17)]
    keeps = [float(c[3]) for c in calls]
    assert all(0.5 < k < 1 for k in keeps), f"the keep gate (f or z) of a trained model is mostly open: {keeps}"
    assert all((int(c[4]), int(c[5])) == (21, 16) for c in calls), "memory over 21 steps, 16 units"
    assert len({c[6] for c in calls}) == 4 and len(set(keeps)) >= 3, f"values must change with the input: {out}"


def test_deep_rnn_variants_ordering(lecture):
    text = cell_text(lecture, "def train_deep")
    acc, path = {}, {}
    for v in ("shallow", "transition", "skip", "output", "stacked"):
        a, p = _floats(text, rf"deep variant {v}\s*: tagging accuracy ([\d.]+), tanh's from h_0 to h_12: (\d+)")
        acc[v], path[v] = a, p
    assert max(acc["shallow"], acc["stacked"]) < 0.70                       # "stay below 70%"
    assert min(acc["transition"], acc["skip"], acc["output"]) > 0.90         # "all above 90%"
    assert path["transition"] == 24 and path["skip"] == 12


def test_gated_conv_lm_against_lstm(lecture):
    text = cell_text(lecture, "def train_lm")
    glu, lstm, uniform = _floats(text, r"cross-entropy per character: glu ([\d.]+)  lstm ([\d.]+)  \(uniform ([\d.]+)\)")
    assert abs(glu - lstm) < 0.15 and max(glu, lstm) < 0.6 * uniform         # "about equally"
    steps_glu, steps_lstm = _floats(text, r"sequential steps for a 48-character window: glu (\d+)  lstm (\d+)")
    assert steps_glu == 3 and steps_lstm == 48
    field, near, far = _floats(text, r"opener inside the (\d+)-character field ([\d.]+), beyond it ([\d.]+)")
    assert field == 13 and near > 0.6 and far < 0.40
