"""Lecture 06: the outcomes the lecture states, read from what the lecture printed.

The notebook is executed once per test run and flavour (``tests/notebook_runs.py``); its models
train in float32, so the claims are bounds with margin and orderings, checked under both the
native and the portable kernels.
"""

from __future__ import annotations

import pytest

import re

from notebook_runs import FLAVOURS, cell_text, executed, number, probe_text

PATH = "lectures/06_seq2seq_attention.ipynb"


@pytest.fixture(scope="module", params=FLAVOURS)
def lecture(request):
    return executed(PATH, request.param)


def _held_out(lecture):
    text = cell_text(lecture, "MODELS, CURVES, RESULTS")
    return {name: (number(text, rf"held-out {name}\s*: exact match\s+([\d.]+)%"),
                   number(text, rf"held-out {name}\s*: exact match\s+[\d.]+%\s+BLEU\s+([\d.]+)"))
            for name in ("plain", "reversed", "attention")}


def test_attention_reaches_95_percent_exact_match_and_beats_the_bottleneck(lecture):
    r = _held_out(lecture)
    assert r["attention"][0] >= 95.0
    assert r["attention"][1] >= 95.0
    assert r["plain"][0] < 40.0 and r["reversed"][0] < 40.0
    assert r["attention"][1] > r["plain"][1] + 30


def test_reversal_helps_on_the_same_budget(lecture):
    r = _held_out(lecture)
    assert r["reversed"][1] > r["plain"][1]


def test_bottleneck_bites_with_length(lecture):
    text = cell_text(lecture, "exact match and BLEU against source length")
    rows = {}
    for name in ("plain", "reversed", "attention"):
        line = next(l for l in text.splitlines() if l.startswith(f"by length {name}"))
        em = [float(x) for x in line.split("EM")[1].split("|")[0].split()]
        rows[name] = em
    assert rows["plain"][0] > 60 and rows["plain"][-1] < 10        # short fit, long do not
    assert rows["reversed"][-1] < 10
    assert min(rows["attention"]) > 80                              # nearly flat
    gap = number(text, r"shortest ([\d.-]+) points"), number(text, r"longest ([\d.-]+) points")
    assert gap[1] > gap[0] + 40


def test_verbs_align_with_the_last_source_word(lecture):
    text = cell_text(lecture, "where does the English verb look")
    assert number(text, r"last Vesh word: \d+/\d+ = ([\d.]+)%") > 90


def test_explorer_runs_and_steps(lecture):
    text = cell_text(lecture, "make_decoding_explorer")
    assert "decoded so far:" in text and "step 2 attention:" in text


def test_decoders_compared(lecture):
    text = cell_text(lecture, "decode_all")
    bleu = {k: number(text, rf"decoder {k}\s*: exact match\s+[\d.]+%\s+BLEU\s+([\d.]+)")
            for k in ("greedy", "sample T=1", "beam 3")}
    assert bleu["sample T=1"] < bleu["greedy"]


def test_beam_equals_exhaustive_search(lecture):
    text = cell_text(lecture, "exhaustive_search")
    assert "beam == exhaustive search on 20 of 20 tiny models" in text
    assert number(text, r"width 1 missed the best output on (\d+) of 20") >= 1


def test_exposure_bias(lecture):
    text = cell_text(lecture, "teacher_vs_free")
    tf = number(text, r"plain\s*: teacher forcing\s+([\d.]+)%")
    fr = number(text, r"plain\s*: teacher forcing\s+[\d.]+%\s+free running\s+([\d.]+)%")
    assert tf > fr + 15
    att_fr = number(text, r"attention: teacher forcing\s+[\d.]+%\s+free running\s+([\d.]+)%")
    assert att_fr > 90


def test_bleu_parts_and_clipping(lecture):
    text = cell_text(lecture, "bleu_stats(RESULTS")
    assert "unigram precision 20.0% (not 100%)" in text


def test_word_order_is_in_the_encoder_state(lecture):
    text = cell_text(lecture, "final_states")
    move = number(text, r"moves the state by ([\d.]+)")
    norm = number(text, r"mean state norm ([\d.]+)")
    assert move > 0.1 * norm



@pytest.mark.slow
def test_explorer_works_after_run_all_with_new_values():
    """tests/probes/06_seq2seq_attention.py rebinds the data globals and calls the explorer's callback
    with sentences and steps the notebook never showed: its output follows the inputs."""
    out = probe_text(executed(PATH, "again"))
    blocks = dict(re.findall(r"probe sentence=(\d+ step=\d+)\n((?:.*\n){4})probe returned 4 lines\n", out))
    assert set(blocks) == {"5 step=0", "5 step=3", "11 step=1"}, out
    lines = {k: [l.strip() for l in v.splitlines()] for k, v in blocks.items()}
    assert lines["5 step=0"][0] == lines["5 step=3"][0] != lines["11 step=1"][0]     # the source sentence
    for key, (src, so_far, attention, nxt) in lines.items():
        t = int(re.search(r"step (\d+) attention", attention).group(1))
        assert t <= int(key.split("=")[-1])
        words = so_far.split(":", 1)[1].split()
        assert len(words) == t, (key, so_far)                  # t words decoded before step t
        weights = [float(w.rsplit(":", 1)[1]) for w in attention.split(": ", 1)[1].split()]
        assert len(weights) == len(src.split()) and abs(sum(weights) - 1) <= 0.005 * len(weights) + 1e-9
        probs = [float(p.rsplit(" ", 1)[1]) for p in nxt[len("next: "):].split(", ")]
        assert len(probs) == 5 and probs == sorted(probs, reverse=True) and sum(probs) <= 1.03
    assert lines["5 step=0"][2] != lines["5 step=3"][2]        # another step, other attention
    assert lines["5 step=3"][1].startswith(lines["5 step=0"][1])
