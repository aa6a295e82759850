"""Lecture 08: the claims its text states, read from what the executed notebook printed,
under the native and the portable kernel (tests/notebook_runs.py), plus the explorer's
callback called with new widget values."""

from __future__ import annotations

import re

import pytest

from notebook_runs import FLAVOURS, cell_text, errors, executed, markdown, probe_text, stated

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
    acc, n_train, n_test = _floats(cell_text(lecture, "single_acc ="),
                                   r"single-digit test accuracy ([\d.]+) \(trained on (\d+) digits, tested on (\d+)")
    assert acc > 0.9                                                    # "more than nine in ten"
    assert n_train == 1258 and n_test == 539                            # "1258 labelled single digits"


def test_viterbi_beats_the_constrained_best(lecture):
    best, cons = _floats(cell_text(lecture, "def draw_lattice"),
                         r"best path reads \d+, score ([\d.e+-]+); best path spelling \d+: ([\d.e+-]+)")
    assert best >= cons - 1e-9


def test_forward_and_gradient_proofs(lecture):
    text = cell_text(lecture, "enumerate_paths")
    (d,) = _floats(text, r"by enumeration [\d.-]+, difference ([\d.e+-]+)")
    (dy,) = _floats(text, r"log Z_y forward vs enumeration: difference ([\d.e+-]+)")
    (dg,) = _floats(text, r"posterior gradient vs autograd: largest difference ([\d.e+-]+)")
    (dp,) = _floats(text, r"arc posteriors vs enumeration: largest difference ([\d.e+-]+)")
    assert max(d, dy, dg, dp) < 1e-10


def test_normalised_arc_scores_make_log_z_constant(lecture):
    text = cell_text(lecture, "log_segmentations =")
    (gap,) = _floats(text, r"log Z on log-probabilities minus their log: ([\d.e+-]+)")
    g_probs, g_logits = _floats(text, r"w\.r\.t\. the logits: ([\d.e+-]+) through log-probabilities, ([\d.e+-]+) on raw")
    assert gap < 1e-10 and g_probs < 1e-12 and g_logits > 1e-3


def test_sequence_training_outcome(lecture):
    text = cell_text(lecture, "def train_strings_with")
    before, before_logits = _floats(text, r"before training: ([\d.]+) with log-probabilities, ([\d.]+) with raw logits")
    probs, seq, margin = _floats(text, r"log-probabilities ([\d.]+), sequence loss on logits ([\d.]+), "
                                       r"margin loss on logits ([\d.]+)")
    assert 0.4 < before < 0.7                          # "about half ... between 0.4 and 0.7"
    assert before_logits < 0.3                         # "raw logits do even worse (below 0.3)"
    assert abs(probs - before) <= 0.1                  # "stays within 0.1 of where it started"
    assert seq > 0.65 and seq > before + 0.15          # "above 0.65, more than 0.15 above the start"
    assert margin > 0.65 and margin > before + 0.15    # "the margin loss ... gets there too"
    assert abs(seq - margin) < 0.1                     # "within 0.1 of each other"


def test_ctc_against_torch_and_lattice(lecture):
    (err,) = _floats(cell_text(lecture, "torch.nn.CTCLoss(reduction"), r"largest difference ([\d.e+-]+)")
    assert err < 1e-10
    text = cell_text(lecture, "class ColumnReader")
    (train_err,) = _floats(text, r"our CTC loss and its gradient vs torch's: largest difference ([\d.e+-]+)")
    assert train_err < 1e-10                           # the loss used in training is ours
    read, label_len = _floats(text, r"reads ([\d.]+) digits per test string \(the labels have ([\d.]+)\)")
    assert read < 0.5 and 2.3 < label_len < 2.7        # "fewer than half a digit ... about two and a half"
    curve = [float(v) for v in re.search(r"after epochs 3, 6, 9, 12: ([\d., ]+)", text).group(1).split(", ")]
    assert len(curve) == 4 and curve[0] < 0.1          # "after three epochs ... below 0.1"
    acc, seq, margin = _floats(text, r"CTC string accuracy ([\d.]+) \(lattice: sequence loss ([\d.]+), "
                                     r"margin loss ([\d.]+)\)")
    assert acc == curve[-1] and acc > 0.6              # "more than 0.6"
    assert abs(acc - seq) < 0.15 and abs(acc - margin) < 0.15   # "within 0.15 of both lattice readers"


def test_text_states_the_bounds_it_tests():
    stated(markdown(PATH), "between 0.4 and 0.7", "below 0.3", "within 0.1 of where it started", "above 0.65",
           "more than 0.15 above the start", "within 0.1 of each other", "below 0.1", "more than 0.6",
           "within 0.15 of both lattice readers", "1258 labelled single digits", "fewer than half a digit")


def _probe_lines():
    text = probe_text(executed(PATH, "again"))              # tests/probes/08_lattices_ctc.py
    return [line for line in text.splitlines() if line.startswith("PROBE")], text


def test_explorer_responds_to_every_control_after_run_all():
    lines, text = _probe_lines()
    assert "Traceback" not in text and len(lines) == 9
    results = {}
    for line in lines[:6]:
        m = re.match(r"PROBE (\{.*\}): label (\d+) top (.*)$", line)
        assert m, line
        top = [(lab, float(sc)) for lab, sc in (t.split(":") for t in m.group(3).split())]
        assert 1 <= len(top) <= 5
        assert all(a >= b - 1e-9 for (_, a), (_, b) in zip(top, top[1:]))      # best first
        results[m.group(1)] = (m.group(2), top)
    labels = [lab for lab, _ in results.values()]
    assert labels == ["200", "200", "200", "31", "90517", "200"]               # the typed digits are drawn
    tops = [tuple(top) for _, top in results.values()]
    assert len(set(tops)) == 6                      # gap, seed, digits and CNN each change what is shown
    # the drawn string itself changes with the gap and the seed: the lattice's size is printed
    sizes = re.findall(r'"(\d+)", gap (-?\d), seed (\d+), ([^:]+): (\d+) pieces, (\d+) arcs', text)
    assert len({(g, sd, p, a) for d, g, sd, _, p, a in sizes if d == "200"}) >= 2
    assert any(c.startswith("pre-trained") for *_, c, _, _ in sizes)


def test_explorer_refuses_bad_digit_strings():
    lines, text = _probe_lines()
    assert lines[6:] == ["PROBE '2a': refused", "PROBE '123456': refused", "PROBE '': refused"]
    assert text.count("type one to five digits 0-9") == 3
